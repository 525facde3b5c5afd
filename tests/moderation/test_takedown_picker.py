"""No reviewer is served a withdrawn page again, from any source (Redis, the memcached pool,
Postgres, priority pages), not even one holding a reservation of it; a review of it is refused
with a clear error; reinstating it puts it back in the picker."""

from __future__ import annotations

import pytest

from assignments import picker, picker_stats, pool
from assignments.actions import prioritise_pages
from assignments.picker import pick_next_page
from catalogue.models import Document, Page
from lib import keys
from lib.redis_client import get_redis
from moderation.actions.takedown import reinstate_document, reinstate_page, withdraw_document, withdraw_page
from reviews.actions import ReviewError, skip_page, submit_review
from reviews.models import Review
from tests import factories
from tests.assignments._picker_support import build_sets, make_assignment, own_memcached, own_redis, todo_ids

# Transactional: the Redis copies follow after commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _quiet_stats(monkeypatch):
    monkeypatch.setattr(picker_stats.COUNTER, "flush_seconds", 10**9)
    picker_stats.reset_pending()
    picker.reset_state()


def _review_everything(assignment, users) -> list[tuple[int, str]]:
    """Each user picks and reviews until nothing is left for them: (page, source) per pick."""
    served = []
    for user in users:
        for _ in range(50):
            result = pick_next_page(assignment=assignment, reviewer=user)
            if result.page_id is None:
                break
            served.append((result.page_id, result.source))
            submit_review(reviewer=user, page_id=result.page_id, assignment_id=assignment.pk)
    return served


def test_redis_never_serves_a_withdrawn_page(editor):
    assignment, ids = make_assignment(6, threshold=2)
    build_sets()
    gone = ids[2]
    withdraw_page(gone, by=editor, reason="Medical letter")
    assert gone not in todo_ids(assignment)
    assert not get_redis().sismember(keys.assignment_needed(assignment.pk), gone)
    served = _review_everything(assignment, [factories.make_user() for _ in range(3)])
    assert {source for _, source in served} == {"redis"}
    assert gone not in {page for page, _ in served}
    assert sorted({page for page, _ in served}) == sorted(set(ids) - {gone})
    assignment.refresh_from_db()
    assert (assignment.page_count, assignment.completed_count) == (5, 5)  # its progress bar


def test_a_stale_redis_copy_is_refused_by_the_check_and_dropped(editor, reviewer, settings):
    """Even if the after-commit refresh had not run, the Postgres check (assignments.scope)
    refuses the page, and the picker removes it from the sets as stale."""
    settings.PICKER_RESERVATION_SECONDS = 0  # many reviewers, one page left: no "busy" here
    assignment, ids = make_assignment(2)
    build_sets()
    withdraw_page(ids[0], by=editor, reason="Home address")
    client = get_redis()
    client.sadd(keys.assignment_todo(assignment.pk), ids[0])
    client.zadd(keys.assignment_todo_rank(assignment.pk), {ids[0]: -1})
    served = {
        pick_next_page(assignment=assignment, reviewer=factories.make_user()).page_id for _ in range(12)
    }
    assert served == {ids[1]}
    assert ids[0] not in todo_ids(assignment)


def test_a_reviewer_holding_a_reservation_does_not_get_it_back(editor, reviewer):
    assignment, ids = make_assignment(2)
    build_sets()
    held = pick_next_page(assignment=assignment, reviewer=reviewer).page_id
    assert pick_next_page(assignment=assignment, reviewer=reviewer).page_id == held  # it is held
    withdraw_page(held, by=editor, reason="Signature of a private person")
    again = pick_next_page(assignment=assignment, reviewer=reviewer)
    assert again.page_id == (set(ids) - {held}).pop()


def test_a_withdrawn_priority_page_is_not_served_first_or_at_all(editor, reviewer, settings):
    settings.PICKER_RESERVATION_SECONDS = 0  # the first pick's hold would make the last one "busy"
    assignment, ids = make_assignment(5)
    prioritise_pages(assignment_id=assignment.pk, page_ids=[ids[3]])
    build_sets()
    assert pick_next_page(assignment=assignment, reviewer=factories.make_user()).page_id == ids[3]
    withdraw_page(ids[3], by=editor, reason="Bank details")
    assert not get_redis().sismember(keys.assignment_priority(assignment.pk), ids[3])
    served = _review_everything(assignment, [reviewer])
    assert ids[3] not in {page for page, _ in served} and len(served) == 4
    reinstate_page(ids[3], by=editor)
    assert pick_next_page(assignment=assignment, reviewer=factories.make_user()).page_id == ids[3]


def test_reinstating_puts_the_page_back_in_the_picker(editor, reviewer):
    assignment, ids = make_assignment(3)
    build_sets()
    document = Document.objects.get(pages__pk=ids[0])
    withdraw_document(document, by=editor, reason="Not ours")
    assert todo_ids(assignment) == set()
    assert pick_next_page(assignment=assignment, reviewer=reviewer).page_id is None
    reinstate_document(document, by=editor)
    assert todo_ids(assignment) == set(ids)
    assert {page for page, _ in _review_everything(assignment, [reviewer])} == set(ids)


def test_the_pool_and_postgres_never_serve_a_withdrawn_page(editor, settings):
    settings.PICKER_POOL_SIZE = 20
    with own_redis() as redis_server, own_memcached() as memcached_server:
        assignment, ids = make_assignment(8, threshold=2)
        build_sets()
        assert picker.refill_pool(assignment_id=assignment.pk) == 8
        redis_server.stop()
        gone = ids[4]
        withdraw_page(gone, by=editor, reason="A child's name")  # Redis is down: the check decides
        users = [factories.make_user() for _ in range(2)]
        served = _review_everything(assignment, users[:1])
        assert {source for _, source in served} == {"pool"}
        assert gone not in {page for page, _ in served} and len(served) == 7
        assert gone not in (pool.get_pool(assignment.pk) or [])
        memcached_server.stop()
        served = _review_everything(assignment, users[1:])
        assert {source for _, source in served} == {"postgres"}
        assert gone not in {page for page, _ in served} and len(served) == 7


def test_reviewing_or_skipping_a_withdrawn_page_is_refused_and_records_nothing(editor, reviewer, client):
    assignment, ids = make_assignment(2)
    withdraw_page(ids[0], by=editor, reason="Home address")
    with pytest.raises(ReviewError) as raised:
        submit_review(reviewer=reviewer, page_id=ids[0], tag_slugs=[])
    assert raised.value.code == "withdrawn" and "withdrawn" in raised.value.message
    with pytest.raises(ReviewError) as raised:
        skip_page(reviewer=reviewer, page_id=ids[0])
    assert raised.value.code == "withdrawn"
    client.force_login(reviewer)
    response = client.post(f"/review/{ids[0]}/", {"action": "submit"})
    assert response.status_code == 410 and b"withdrawn" in response.content
    assert client.get(f"/review/{ids[0]}/").status_code == 410
    assert not Review.objects.filter(page_id=ids[0]).exists()
    assert Page.objects.get(pk=ids[0]).review_count == 0
