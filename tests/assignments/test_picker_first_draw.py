"""The picker's first draw: one Lua script draws, reads the reservations and claims a page, and
its seen-set filter is skipped while the reviewer has seen little of a large to-do set, so the
Postgres check must refuse seen pages and release the claim of any id it refuses."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assignments import picker
from assignments.picker import pick_next_page
from lib import keys
from lib.redis_client import get_redis
from reviews.actions import skip_page, submit_review
from tests import factories
from tests.assignments._picker_support import (
    RoundTrips,
    assert_uniform,
    build_sets,
    clear_holds,
    fill,
    held_pages,
    holds_of,
)


@pytest.mark.django_db
def test_it_never_serves_a_seen_page_when_the_first_draw_is_not_filtered_by_the_seen_set(settings, reviewer):
    settings.PICKER_RESERVATION_SECONDS = 0
    doc = factories.make_document(pages=200)
    assignment = factories.make_assignment(documents=[doc], threshold=5)
    ids = list(doc.pages.values_list("pk", flat=True))
    seen = ids[:12]  # 6% of the set: below 1 / SEEN_FILTER_RATIO, so no SMISMEMBER in round one
    assert len(seen) * picker.SEEN_FILTER_RATIO < len(ids)
    for page_id in seen[:8]:
        submit_review(reviewer=reviewer, page_id=page_id)
    for page_id in seen[8:]:
        skip_page(reviewer=reviewer, page_id=page_id)
    build_sets()
    served = {pick_next_page(assignment=assignment, reviewer=reviewer).page_id for _ in range(400)}
    assert served and not served & set(seen)
    assert served <= set(ids)
    # The seen pages drawn and refused by Postgres are still in the reviewer's seen set.
    assert get_redis().smismember(keys.reviewer_seen(reviewer.pk), seen) == [1] * len(seen)


# --- the first draw claims its page in the same script as the draw -----------------------------


@pytest.mark.django_db
def test_the_claim_made_with_the_first_draw_is_uniform_among_free_pages(settings):
    """The script claims one of the ids it drew; they come back in no useful order (the order
    of their ranks), so claiming the first free one would favour some pages: the choice uses a
    random fraction from Python. 5,000 picks over 100 pages with every reservation cleared
    between picks (so each pick goes through the claim): one sample at a fixed seed,
    chi-square at p = 0.001 (see ``assert_uniform``)."""
    settings.PICKER_RESERVATION_SECONDS = 60
    doc = factories.make_document(pages=100)
    assignment = factories.make_assignment(documents=[doc], threshold=1)
    ids = list(doc.pages.values_list("pk", flat=True))
    assert len(ids) > picker.SMALL_SET  # drawn by rank, not taken whole
    build_sets()

    def draw() -> int:
        page_id = pick_next_page(assignment=assignment, reviewer=None).page_id
        assert held_pages(assignment) == {page_id}  # served = claimed
        clear_holds(assignment)
        return page_id

    counts = assert_uniform(draw, ids, 5000, seed=5)
    assert set(counts) == set(ids)


@pytest.mark.django_db
def test_a_pick_costs_one_redis_round_trip_and_one_query(settings, reviewer, monkeypatch):
    settings.PICKER_RESERVATION_SECONDS = 60
    doc = factories.make_document(pages=200)
    assignment = factories.make_assignment(documents=[doc], threshold=2)
    submit_review(reviewer=reviewer, page_id=doc.pages.first().pk)
    build_sets()
    pick_next_page(assignment=assignment, reviewer=reviewer)  # connections opened, script cached
    trips = RoundTrips(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        result = pick_next_page(assignment=assignment, reviewer=reviewer)
    assert result.source == "redis"
    assert (trips.count, len(queries)) == (1, 1)
    assert f"{result.page_id}:u{reviewer.pk}" in holds_of(assignment)


@pytest.mark.django_db
def test_a_claimed_id_that_no_longer_exists_is_released_and_removed(settings, reviewer):
    """A stale id (no such page) sits in the best band of the to-do mirror (the most free
    places): the script claims it, Postgres refuses it, and the pick serves the one real page
    with a free place; the stale id leaves the sets and its claim is dropped."""
    settings.PICKER_RESERVATION_SECONDS = 60
    doc = factories.make_document(pages=10)
    assignment = factories.make_assignment(documents=[doc], threshold=2)
    ids = list(doc.pages.values_list("pk", flat=True))
    build_sets()
    ghost = max(ids) + 1_000_000
    r = get_redis()
    r.sadd(keys.assignment_todo(assignment.pk), ghost)
    r.zadd(keys.assignment_todo_rank(assignment.pk), {ghost: -3})  # 3 free places: drawn first
    fill(assignment, ids[1:])
    result = pick_next_page(assignment=assignment, reviewer=reviewer)
    assert (result.source, result.page_id) == ("redis", ids[0])
    assert ghost not in held_pages(assignment)
    assert not r.sismember(keys.assignment_todo(assignment.pk), ghost)
    assert r.zscore(keys.assignment_todo_rank(assignment.pk), ghost) is None


@pytest.mark.django_db
def test_a_claimed_page_the_reviewer_has_seen_is_released_for_the_others(settings, reviewer):
    """The seen set lost a page the reviewer reviewed, and it is the only page with a free
    place: the script claims it, Postgres refuses it for this reviewer, its claim is dropped
    (others may have it: its free place is still there) and the seen set learns it. Every other
    page is fully held by others: busy (never a shared page)."""
    settings.PICKER_RESERVATION_SECONDS = 60
    doc = factories.make_document(pages=10)
    assignment = factories.make_assignment(documents=[doc], threshold=2)
    ids = list(doc.pages.values_list("pk", flat=True))
    submit_review(reviewer=reviewer, page_id=ids[3])
    build_sets()
    r = get_redis()
    r.srem(keys.reviewer_seen(reviewer.pk), ids[3])
    others = fill(assignment, [i for i in ids if i != ids[3]])
    result = pick_next_page(assignment=assignment, reviewer=reviewer)
    assert (result.page_id, result.source) == (None, "busy")
    assert holds_of(assignment) == others
    assert r.zscore(keys.assignment_todo_rank(assignment.pk), ids[3]) == -1  # its free place
    assert r.sismember(keys.reviewer_seen(reviewer.pk), ids[3])
    assert r.sismember(keys.assignment_todo(assignment.pk), ids[3])  # still to do for others


@pytest.mark.django_db
def test_a_lost_rank_mirror_still_serves_and_queues_its_rebuild(settings, django_capture_on_commit_callbacks):
    """The sorted-set mirror of one assignment's to-do set is gone (its built marker is still
    there): it holds the pages' free places, so Redis cannot draw; the pick still serves a
    real page, from the memcached pool (refilled from Postgres, not from the lost mirror), and
    one rebuild of the mirror is queued; the rebuild, run as the worker would, restores it with
    zero drift and Redis serves again."""
    from denorm import operations, registry
    from denorm.tasks import rebuild_denormalisation

    settings.PICKER_RESERVATION_SECONDS = 60
    doc = factories.make_document(pages=100)
    assignment = factories.make_assignment(documents=[doc], threshold=2)
    ids = set(doc.pages.values_list("pk", flat=True))
    build_sets()
    r = get_redis()
    rank = keys.assignment_todo_rank(assignment.pk)
    r.delete(rank)
    with django_capture_on_commit_callbacks(execute=True):  # the lock is taken after commit
        result = pick_next_page(assignment=assignment, reviewer=None)
    assert result.source == "pool" and result.page_id in ids
    assert r.exists(keys.rebuild_lock("assignment-todo-rank"))  # queued, under its lock
    rebuild_denormalisation.apply(args=["assignment-todo-rank"])
    assert {int(x) for x in r.zrange(rank, 0, -1)} == ids
    [(_, drift)] = operations.check_entries(registry.select(["assignment-todo-rank"]))
    assert (drift.missing, drift.extra) == (0, 0), drift
    assert pick_next_page(assignment=assignment, reviewer=None).source == "redis"


@pytest.mark.django_db
def test_a_claim_is_shared_with_overlapping_assignments_and_a_dead_redis_loses_only_that(settings):
    """A pick copies its claim into the other active assignments' reservations (one pipelined
    round trip, before the page is served). When Redis dies after it, the next pick of the
    overlapping assignment falls back quietly (no error)."""
    from tests.assignments._picker_support import own_memcached, own_redis

    settings.PICKER_RESERVATION_SECONDS = 60
    with own_redis() as redis_server, own_memcached():
        shared = factories.make_document(pages=30)
        wide = factories.make_assignment(documents=[shared], threshold=3)
        narrow = factories.make_assignment(documents=[shared], threshold=3)
        build_sets()
        page_id = pick_next_page(assignment=wide, reviewer=None).page_id
        assert held_pages(narrow) == {page_id} == held_pages(wide)
        assert holds_of(narrow).keys() == holds_of(wide).keys()  # the same holder in both
        redis_server.stop()
        result = pick_next_page(assignment=narrow, reviewer=None)
        assert result.page_id in set(shared.pages.values_list("pk", flat=True))
        assert result.source in ("pool", "postgres")
