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
from tests.assignments._picker_support import RoundTrips, assert_uniform, build_sets


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
    r = get_redis()
    reserved = keys.assignment_reserved(assignment.pk)

    def draw() -> int:
        page_id = pick_next_page(assignment=assignment, reviewer=None).page_id
        assert r.zscore(reserved, page_id) is not None  # served = claimed
        r.delete(reserved)
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
    assert get_redis().zscore(keys.assignment_reserved(assignment.pk), result.page_id) is not None


def _reserve_all_but(assignment, free_id: int, ids: list[int]) -> dict[int, float]:
    """Other reviewers hold every page but ``free_id``; returns their reservation scores."""
    r = get_redis()
    now_us = r.time()
    base = now_us[0] * 1_000_000 + now_us[1] + 60_000_000
    scores = {page_id: float(base + n) for n, page_id in enumerate(ids) if page_id != free_id}
    r.zadd(keys.assignment_reserved(assignment.pk), scores)
    return scores


@pytest.mark.django_db
def test_a_claimed_id_that_no_longer_exists_is_released_and_removed(settings, reviewer):
    """The only free id drawn is stale (no such page): the script claims it, Postgres refuses
    it, and the pick serves a real page; the stale id leaves the sets and its claim is dropped."""
    settings.PICKER_RESERVATION_SECONDS = 60
    doc = factories.make_document(pages=10)
    assignment = factories.make_assignment(documents=[doc], threshold=2)
    ids = list(doc.pages.values_list("pk", flat=True))
    build_sets()
    ghost = max(ids) + 1_000_000
    r = get_redis()
    r.sadd(keys.assignment_todo(assignment.pk), ghost)
    held = _reserve_all_but(assignment, ghost, ids)
    result = pick_next_page(assignment=assignment, reviewer=reviewer)
    assert result.source == "redis"
    # Every real page is held: the one whose reservation expires first is served.
    assert result.page_id == min(held, key=held.get)
    assert r.zscore(keys.assignment_reserved(assignment.pk), ghost) is None
    assert not r.sismember(keys.assignment_todo(assignment.pk), ghost)


@pytest.mark.django_db
def test_a_claimed_page_the_reviewer_has_seen_is_released_for_the_others(settings, reviewer):
    """The seen set lost a page the reviewer reviewed: the script claims it, Postgres refuses it
    for this reviewer, its claim is dropped (others may have it) and the seen set learns it."""
    settings.PICKER_RESERVATION_SECONDS = 60
    doc = factories.make_document(pages=10)
    assignment = factories.make_assignment(documents=[doc], threshold=2)
    ids = list(doc.pages.values_list("pk", flat=True))
    submit_review(reviewer=reviewer, page_id=ids[3])
    build_sets()
    r = get_redis()
    r.srem(keys.reviewer_seen(reviewer.pk), ids[3])
    _reserve_all_but(assignment, ids[3], ids)
    result = pick_next_page(assignment=assignment, reviewer=reviewer)
    assert result.page_id not in (None, ids[3])
    assert r.zscore(keys.assignment_reserved(assignment.pk), ids[3]) is None
    assert r.sismember(keys.reviewer_seen(reviewer.pk), ids[3])
    assert r.sismember(keys.assignment_todo(assignment.pk), ids[3])  # still to do for others


@pytest.mark.django_db
def test_a_lost_rank_mirror_still_serves_and_queues_its_rebuild(settings, django_capture_on_commit_callbacks):
    """The sorted-set mirror of one assignment's to-do set is gone (its built marker is still
    there): the pick still serves a real page (SRANDMEMBER on the set, slightly biased) and one
    rebuild of the mirror is queued; the rebuild, run as the worker would, restores it with zero
    drift."""
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
    assert result.source == "redis" and result.page_id in ids
    assert r.exists(keys.rebuild_lock("assignment-todo-rank"))  # queued, under its lock
    rebuild_denormalisation.apply(args=["assignment-todo-rank"])
    assert {int(x) for x in r.zrange(rank, 0, -1)} == ids
    [(_, drift)] = operations.check_entries(registry.select(["assignment-todo-rank"]))
    assert (drift.missing, drift.extra) == (0, 0), drift


@pytest.mark.django_db
def test_a_claim_is_shared_with_overlapping_assignments_and_a_dead_redis_loses_only_that(settings):
    """A pick copies its claim into the other active assignments' reservations with writes it
    does not wait for; the next pick of the process reads their replies first. When Redis dies
    in between, those replies are lost quietly and the next pick falls back (no error)."""
    from tests.assignments._picker_support import own_memcached, own_redis

    settings.PICKER_RESERVATION_SECONDS = 60
    with own_redis() as redis_server, own_memcached():
        shared = factories.make_document(pages=30)
        wide = factories.make_assignment(documents=[shared], threshold=3)
        narrow = factories.make_assignment(documents=[shared], threshold=3)
        build_sets()
        page_id = pick_next_page(assignment=wide, reviewer=None).page_id
        picker.STATE.deferred.drain()
        r = get_redis()
        assert r.zscore(keys.assignment_reserved(narrow.pk), page_id) is not None
        ttl = r.pttl(keys.assignment_reserved(narrow.pk))
        assert 0 < ttl <= 120_000
        pick_next_page(assignment=wide, reviewer=None)  # sent, replies not read yet
        redis_server.stop()
        result = pick_next_page(assignment=narrow, reviewer=None)
        assert result.page_id in set(shared.pages.values_list("pk", flat=True))
        assert result.source in ("pool", "postgres")
