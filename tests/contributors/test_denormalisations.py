"""The leaderboards and the 48-hour buckets are registered denormalisations: rebuilt and checked
from Postgres like every other copy, kept current after review deletes, a reviewer's account
deleted and documents moving, and rebuilt (by the built-marker mechanism) after Redis lost
them, the tables reading Postgres meanwhile."""

import pytest
from django.contrib.auth import get_user_model
from django.test import TestCase

from catalogue.actions import delete_document, update_document
from contributors import leaderboards, recent, selectors
from contributors.leaderboards import ALL, ASSIGNMENT, MEMBER, PARTY, Board
from denorm import registry
from lib import keys
from lib.redis_client import get_redis
from reviews.models import Review
from tests import factories
from tests.contributors._support import NAMES, board, build, committed, drift, review

pytestmark = pytest.mark.django_db


@pytest.fixture
def release(db, tags, reviewer, reviewer2):
    party = factories.make_party()
    member = factories.make_member(party=party)
    doc = factories.make_document(member=member, pages=4)
    assignment = factories.make_assignment(members=[member])
    build()
    pages = list(doc.pages.order_by("number"))
    for page in pages[:3]:
        review(reviewer, page, "receipt", assignment=assignment)
    for page in pages[:2]:
        review(reviewer2, page, assignment=assignment)
    return party, member, doc, assignment, pages


def test_every_new_entry_is_registered_with_rebuild_check_and_refresh():
    for name in NAMES:
        entry = registry.get(name)
        assert entry.store == registry.Store.REDIS and entry.kept_current_on_commit
        assert entry.rebuild and entry.check and entry.repair and entry.refresh


def test_kept_current_on_commit_they_agree_with_postgres(release):
    assert drift() == {}


def test_a_rebuild_after_a_flush_restores_every_board(release, reviewer, reviewer2):
    party, member, _, assignment, _ = release
    get_redis().flushdb()
    assert set(drift()) == set(NAMES)
    build()
    assert drift() == {}
    assert board(ALL) == {reviewer.pk: 3, reviewer2.pk: 2}
    assert board(PARTY, party.pk) == {reviewer.pk: 3, reviewer2.pk: 2}


def test_the_check_names_drift_and_the_repair_fixes_it(release, reviewer):
    _, member, _, _, _ = release
    get_redis().zincrby(Board(MEMBER, member.pk).key, 5, reviewer.pk)
    get_redis().zadd(Board(ALL).key, {"999999": 3})
    found = drift()
    assert "wrong 1" in found["leaderboard-members"] and "extra 1" in found["leaderboard-all"]
    for name in NAMES:
        registry.get(name).repair()
    assert drift() == {}


def test_after_a_flush_tables_read_postgres_and_a_rebuild_is_queued(release, reviewer, reviewer2):
    _, _, _, assignment, _ = release
    get_redis().flushdb()
    with TestCase.captureOnCommitCallbacks(execute=True):  # the rebuild is queued on commit
        table = selectors.board_table(Board(ASSIGNMENT, assignment.pk), viewer=reviewer)
    assert table.source == "postgres" and table.note
    assert [(r.username, r.count) for r in table.rows] == [("alice", 3), ("bob", 2)]
    assert get_redis().exists(keys.rebuild_lock("leaderboard-assignments"))
    recent_table = selectors.recent_table()
    assert recent_table.source == "postgres"
    assert [(r.username, r.count) for r in recent_table.rows] == [("alice", 3), ("bob", 2)]
    build()
    assert selectors.board_table(Board(ASSIGNMENT, assignment.pk)).source == "redis"


def test_a_deleted_review_leaves_every_board(release, reviewer, reviewer2):
    party, member, _, assignment, pages = release
    committed(Review.objects.filter(reviewer=reviewer, page=pages[0]).delete)
    assert board(ALL)[reviewer.pk] == 2
    assert board(ASSIGNMENT, assignment.pk)[reviewer.pk] == 2
    assert board(MEMBER, member.pk)[reviewer.pk] == 2
    assert {r.username: r.count for r in selectors.recent_table().rows} == {"alice": 2, "bob": 2}
    assert drift() == {}


def test_a_deleted_account_leaves_every_board(release, reviewer, reviewer2):
    party, member, _, assignment, _ = release
    committed(get_user_model().objects.filter(pk=reviewer2.pk).delete)
    for kind, owner in ((ALL, None), (ASSIGNMENT, assignment.pk), (MEMBER, member.pk), (PARTY, party.pk)):
        assert board(kind, owner) == {reviewer.pk: 3}
    assert [r.username for r in selectors.recent_table().rows] == ["alice"]
    assert drift() == {}


def test_a_deleted_document_takes_its_reviews_off_the_boards(release, reviewer):
    party, member, doc, assignment, _ = release
    committed(delete_document, document_id=doc.pk)
    assert board(ALL) == {} and board(MEMBER, member.pk) == {} and board(ASSIGNMENT, assignment.pk) == {}
    assert drift() == {}


def test_a_document_moved_to_another_member_moves_its_counts(release, reviewer, reviewer2):
    party, member, doc, _, _ = release
    other = factories.make_member()
    committed(update_document, document_id=doc.pk, title=doc.title, member_id=other.pk)
    assert board(MEMBER, member.pk) == {} and board(PARTY, party.pk) == {}
    assert board(MEMBER, other.pk) == {reviewer.pk: 3, reviewer2.pk: 2}
    assert drift() == {}


def test_a_review_while_redis_lost_the_boards_is_counted_by_the_rebuild(release, reviewer, tags):
    _, _, _, assignment, pages = release
    get_redis().flushdb()
    review(reviewer, pages[3], assignment=assignment)  # ZINCRBY on an unbuilt (partial) board
    assert board(ALL) == {reviewer.pk: 1}
    assert selectors.board_table(leaderboards.OVERALL).source == "postgres"  # not trusted
    build()
    assert board(ALL)[reviewer.pk] == 4
    assert drift() == {}


def test_the_buckets_and_window_keys_share_one_hash_slot():
    def tag(key):
        return key[key.index("{") : key.index("}") + 1]

    assert tag(keys.recent_reviewers_hour(1)) == tag(keys.recent_reviewers_window(2)) == "{recent}"
    assert tag(Board(MEMBER, 7).key) == "{lb:m:7}"
    assert recent.FAMILY_NAME in NAMES
