"""The per-assignment Redis sets (needed, done, to-do) and the reviewer-seen sets the next-page
picker stands on: built from Postgres, kept current after every commit, self-healing."""

import pytest
from django.db import transaction

from assignments.denormalisations import rebuild_assignment_sets
from catalogue import signals
from denorm import operations, registry
from denorm.tasks import rebuild_denormalisation
from lib import keys
from lib.redis_client import get_redis
from reviews.actions import skip_page, submit_review
from tests import factories
from tests.denorm_support import drift, imported, members

pytestmark = pytest.mark.django_db(transaction=True)


SETS = ["assignment-needed", "assignment-done", "assignment-todo", "reviewer-seen"]


def page_ids(doc):
    return set(doc.pages.values_list("id", flat=True))


@pytest.fixture
def world(db):
    party = factories.make_party()
    member = factories.make_member(party=party)
    other = factories.make_member()
    doc_a = imported(member, 3)
    doc_b = imported(other, 2)
    assignment = factories.make_assignment(parties=[party], documents=[doc_b], threshold=2)
    return {
        "party": party,
        "member": member,
        "other": other,
        "a": doc_a,
        "b": doc_b,
        "assignment": assignment,
    }


def test_it_builds_needed_done_and_todo_when_an_assignment_is_created(world):
    a = world["assignment"].pk
    everything = page_ids(world["a"]) | page_ids(world["b"])
    assert members(keys.assignment_needed(a)) == everything
    assert members(keys.assignment_todo(a)) == everything
    assert members(keys.assignment_done(a)) == set()
    assert drift() == {}


def test_a_page_reaching_the_threshold_moves_from_todo_to_done(world, reviewer, reviewer2, tags):
    a = world["assignment"].pk
    page = world["a"].pages.first().pk
    submit_review(reviewer=reviewer, page_id=page, tag_slugs=["receipt"], assignment_id=a)
    assert page in members(keys.assignment_todo(a))
    assert members(keys.reviewer_seen(reviewer.pk)) == {page}
    submit_review(reviewer=reviewer2, page_id=page, tag_slugs=[], assignment_id=a)
    assert page not in members(keys.assignment_todo(a))
    assert members(keys.assignment_done(a)) == {page}
    assert drift() == {}


def test_redis_changes_only_after_commit(world, reviewer, tags):
    page = world["a"].pages.first().pk
    with transaction.atomic():
        submit_review(reviewer=reviewer, page_id=page, tag_slugs=[])
        assert members(keys.reviewer_seen(reviewer.pk)) == set()
    assert members(keys.reviewer_seen(reviewer.pk)) == {page}


def test_a_skip_is_seen_but_counts_for_nothing(world, reviewer):
    a = world["assignment"].pk
    page = world["b"].pages.first().pk
    skip_page(reviewer=reviewer, page_id=page)
    assert members(keys.reviewer_seen(reviewer.pk)) == {page}
    assert page in members(keys.assignment_todo(a))
    assert drift() == {}


def test_an_import_adds_the_new_pages_to_the_assignments_covering_them(world):
    a = world["assignment"].pk
    doc = imported(world["member"], 4)
    assert page_ids(doc) <= members(keys.assignment_todo(a))
    assert page_ids(doc) <= members(keys.assignment_needed(a))
    assert drift() == {}


def test_inactive_assignments_have_no_sets_and_regain_them_when_reactivated(world):
    assignment = world["assignment"]
    assignment.active = False
    assignment.save()
    client = get_redis()
    assert not client.exists(
        keys.assignment_needed(assignment.pk),
        keys.assignment_done(assignment.pk),
        keys.assignment_todo(assignment.pk),
    )
    assert drift() == {}
    assignment.active = True
    assignment.save()
    assert members(keys.assignment_todo(assignment.pk)) == page_ids(world["a"]) | page_ids(world["b"])
    assert drift() == {}


def test_a_threshold_change_moves_pages_between_done_and_todo(world, reviewer, tags):
    assignment = world["assignment"]
    page = world["a"].pages.first().pk
    submit_review(reviewer=reviewer, page_id=page, tag_slugs=[])
    assert page in members(keys.assignment_todo(assignment.pk))
    assignment.threshold = 1
    assignment.save()
    assert members(keys.assignment_done(assignment.pk)) == {page}
    assert page not in members(keys.assignment_todo(assignment.pk))
    assert drift() == {}


@pytest.mark.parametrize(
    "edit",
    [
        lambda w: w["assignment"].documents.remove(w["b"]),
        lambda w: w["assignment"].parties.clear(),
        lambda w: w["assignment"].members.add(w["other"]),
        lambda w: w["b"].assignments.clear(),
        lambda w: w["other"].assignments.add(w["assignment"]),
        lambda w: w["party"].assignments.remove(w["assignment"]),
        lambda w: w["assignment"].documents.set([w["a"]]),
    ],
    ids=[
        "remove-document",
        "clear-parties",
        "add-member",
        "reverse-clear",
        "reverse-add",
        "reverse-remove",
        "set",
    ],
)
def test_scope_edits_rebuild_the_assignment(world, reviewer, tags, edit):
    submit_review(reviewer=reviewer, page_id=world["b"].pages.first().pk, tag_slugs=[])
    edit(world)
    assert drift() == {}


def test_deleting_a_page_removes_it_from_every_set(world, reviewer, reviewer2, tags):
    a = world["assignment"].pk
    page = world["a"].pages.first()
    for user in (reviewer, reviewer2):
        submit_review(reviewer=user, page_id=page.pk, tag_slugs=["receipt"])
    page.delete()
    for key in (keys.assignment_needed(a), keys.assignment_done(a), keys.assignment_todo(a)):
        assert page.pk not in members(key)
    assert page.pk not in members(keys.reviewer_seen(reviewer.pk))
    assert drift() == {}


def test_a_queryset_bulk_delete_removes_every_page(world, reviewer, tags):
    a = world["assignment"].pk
    submit_review(reviewer=reviewer, page_id=world["a"].pages.first().pk, tag_slugs=[])
    gone = page_ids(world["a"])
    world["a"].pages.all().delete()
    assert not gone & members(keys.assignment_needed(a))
    assert not gone & members(keys.assignment_todo(a))
    assert drift() == {}


@pytest.mark.parametrize("victim", ["a", "member", "party", "b", "other"])
def test_cascading_deletes_leave_no_deleted_page_in_any_set(world, reviewer, reviewer2, tags, victim):
    a = world["assignment"].pk
    for page in list(world["a"].pages.all()[:2]) + list(world["b"].pages.all()[:1]):
        for user in (reviewer, reviewer2):
            submit_review(reviewer=user, page_id=page.pk, tag_slugs=["receipt"])
    skip_page(reviewer=reviewer, page_id=world["a"].pages.last().pk)
    world[victim].delete()
    for key in (keys.assignment_needed(a), keys.assignment_done(a), keys.assignment_todo(a)):
        assert members(key) <= set(world["assignment"].pages().values_list("id", flat=True))
    assert drift() == {}


def test_deleting_a_reviewer_returns_their_pages_to_todo(world, reviewer, reviewer2, tags):
    a = world["assignment"].pk
    page = world["a"].pages.first().pk
    submit_review(reviewer=reviewer, page_id=page, tag_slugs=["receipt"])
    submit_review(reviewer=reviewer2, page_id=page, tag_slugs=["claim-form"])
    assert page in members(keys.assignment_done(a))
    reviewer.delete()
    assert page in members(keys.assignment_todo(a))
    assert page not in members(keys.assignment_done(a))
    assert not get_redis().exists(keys.reviewer_seen(reviewer.pk))
    assert drift() == {}


def test_deleting_an_assignment_deletes_its_sets(world):
    a = world["assignment"].pk
    world["assignment"].delete()
    assert not get_redis().keys(f"*{{a:{a}}}*")
    assert drift() == {}


def test_check_reports_corruption_and_rebuild_repairs_it(world, reviewer, tags):
    a = world["assignment"].pk
    page = world["a"].pages.first().pk
    submit_review(reviewer=reviewer, page_id=page, tag_slugs=[])
    client = get_redis()
    client.srem(keys.assignment_todo(a), page)
    client.sadd(keys.assignment_done(a), 999999)
    client.sadd(keys.assignment_needed(987), 1)  # sets of an assignment that does not exist
    client.srem(keys.reviewer_seen(reviewer.pk), page)
    found = dict(drift())
    assert "missing 1" in found["assignment-todo"]
    assert "extra 1" in found["assignment-done"] and "999999" in found["assignment-done"]
    assert "extra 1" in found["assignment-needed"]
    assert "missing 1" in found["reviewer-seen"]
    operations.rebuild_entries(registry.select(SETS))
    assert drift() == {}
    assert not client.exists(keys.assignment_needed(987))


def test_rebuilding_one_assignment_swaps_in_whole_sets(world):
    a = world["assignment"].pk
    client = get_redis()
    client.delete(keys.assignment_todo(a))
    client.sadd(keys.assignment_needed(a), 424242)
    rebuild_assignment_sets(a)
    assert members(keys.assignment_todo(a)) == page_ids(world["a"]) | page_ids(world["b"])
    assert 424242 not in members(keys.assignment_needed(a))
    assert not [k for k in client.keys("*") if ":tmp:" in k]


def test_a_flushed_redis_rebuilds_itself_without_a_manual_command(world, reviewer, tags):
    submit_review(reviewer=reviewer, page_id=world["a"].pages.first().pk, tag_slugs=[])
    operations.rebuild_entries(registry.all_entries())
    assert operations.redis_family_ready("assignment-todo")
    client = get_redis()
    client.flushdb()
    assert not operations.redis_family_ready("assignment-todo")
    assert not operations.redis_family_ready("assignment-todo")  # queued once, under a lock
    assert client.exists(keys.rebuild_lock("assignment-todo"))
    assert operations.queue_rebuild("assignment-todo") is False
    # What the worker receives: run it for real.
    rebuild_denormalisation.apply(args=["assignment-todo"])
    assert operations.redis_family_ready("assignment-todo")
    assert operations.redis_family_ready("assignment-needed")
    assert not client.exists(keys.rebuild_lock("assignment-todo"))
    assert drift(["assignment-needed", "assignment-done", "assignment-todo"]) == {}


def test_an_update_landing_while_a_rebuild_builds_beside_is_not_lost(
    world, reviewer, reviewer2, tags, monkeypatch
):
    """The swap installs what Postgres said when the build started; the repair pass after it
    restores the review that committed in between."""
    from assignments.denormalisations import sets as denormalisations

    a = world["assignment"].pk
    page = world["a"].pages.first().pk
    submit_review(reviewer=reviewer, page_id=page, tag_slugs=[])
    real = denormalisations.assignment_truth
    raced = []

    def truth_then_a_review_commits(assignment_id):
        truth = real(assignment_id)
        if not raced:
            raced.append(True)
            submit_review(reviewer=reviewer2, page_id=page, tag_slugs=[])
        return truth

    monkeypatch.setattr(denormalisations, "assignment_truth", truth_then_a_review_commits)
    rebuild_assignment_sets(a)
    assert raced
    assert page in members(keys.assignment_done(a))
    assert page not in members(keys.assignment_todo(a))


def test_the_review_hot_path_costs_no_query(world, reviewer):
    """The action says which active assignments contain the page (it found them in its own
    transaction), so the after-commit work asks Postgres nothing, threshold reached or not."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reviews.models import Review

    a, page = world["assignment"].pk, world["a"].pages.first().pk
    common = {
        "review_id": 1,
        "page_id": page,
        "reviewer_id": reviewer.pk,
        "review_count": 1,
        "tag_ids": [],
        "active_assignment_ids": [a],
    }
    with CaptureQueriesContext(connection) as queries:
        signals.review_recorded.send(sender=Review, completed_assignment_ids=[], **common)
    assert len(queries) == 0
    assert members(keys.reviewer_seen(reviewer.pk)) == {page}
    with CaptureQueriesContext(connection) as queries:
        signals.review_recorded.send(sender=Review, completed_assignment_ids=[a], **common)
    assert len(queries) == 0
    assert members(keys.assignment_done(a)) == {page}
