"""The picker with its servers actually stopped: Redis down -> memcached pool; memcached down
too -> Postgres. Each test starts its own throwaway servers and stops those, never the shared
ones."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection

from assignments import picker, picker_stats, pool
from assignments.picker import pick_next_page, postgres_source
from catalogue.models import Page
from lib.redis_client import get_redis
from reviews.actions import submit_review
from tests.assignments._picker_support import (
    assert_uniform,
    build_sets,
    make_assignment,
    own_memcached,
    own_redis,
    seeded,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet_stats(monkeypatch):
    monkeypatch.setattr(picker_stats.COUNTER, "flush_seconds", 10**9)
    picker_stats.reset_pending()


@pytest.fixture
def servers():
    with own_redis() as redis_server, own_memcached() as memcached_server:
        yield redis_server, memcached_server


def test_it_serves_from_the_pool_when_redis_is_stopped(servers, reviewer):
    redis_server, _ = servers
    assignment, ids = make_assignment(30, threshold=2)
    build_sets()
    assert pick_next_page(assignment=assignment, reviewer=reviewer).source == "redis"
    assert picker.refill_pool(assignment_id=assignment.pk) == 30
    redis_server.stop()
    served = []
    for _ in range(10):
        result = pick_next_page(assignment=assignment, reviewer=reviewer)
        assert result.source == "pool"
        served.append(result.page_id)
        submit_review(reviewer=reviewer, page_id=result.page_id)
    assert len(set(served)) == 10  # and never a page this reviewer already reviewed
    assert set(served) <= set(ids)
    counted = picker_stats.pending()
    assert counted["pool"] == 10 and counted["redis-unavailable"] == 10


def test_it_checks_pooled_ids_and_drops_deleted_pages(servers, settings):
    settings.PICKER_POOL_SIZE = 10  # 5 pooled ids is then not "low": no refill hides the check
    # Reservations off: 15 anonymous picks of the one page left would otherwise fill its places
    # (capacity-aware reservations: busy), which is not what this test is about.
    settings.PICKER_RESERVATION_SECONDS = 0
    redis_server, _ = servers
    assignment, ids = make_assignment(5)
    picker.refill_pool(assignment_id=assignment.pk)
    redis_server.stop()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reviews_page WHERE id = ANY(%s)", [ids[:4]])
    served = {pick_next_page(assignment=assignment, reviewer=None).page_id for _ in range(15)}
    assert served == {ids[4]}
    assert pool.get_pool(assignment.pk) == [ids[4]]
    assert picker_stats.pending()["stale-removed"] == 4


def test_it_refills_an_empty_pool_on_demand_while_redis_is_down(servers):
    redis_server, _ = servers
    assignment, ids = make_assignment(12)
    redis_server.stop()
    assert pool.get_pool(assignment.pk) is None
    result = pick_next_page(assignment=assignment, reviewer=None)
    assert result.source == "pool" and result.page_id in ids
    assert sorted(pool.get_pool(assignment.pk)) == sorted(ids)


def test_it_serves_from_postgres_when_redis_and_memcached_are_stopped(servers, reviewer):
    redis_server, memcached_server = servers
    assignment, ids = make_assignment(40, threshold=3)
    picker.refill_pool(assignment_id=assignment.pk)
    redis_server.stop()
    memcached_server.stop()
    served = []
    for _ in range(40):
        result = pick_next_page(assignment=assignment, reviewer=reviewer)
        assert result.source == "postgres"
        served.append(result.page_id)
        submit_review(reviewer=reviewer, page_id=result.page_id)
    assert sorted(served) == sorted(ids)  # no repeats, nothing missed
    result = pick_next_page(assignment=assignment, reviewer=reviewer)
    assert result.page_id is None and result.source == "nothing-left"
    counted = picker_stats.pending()
    assert counted["postgres"] == 40 and counted["pool-unavailable"] >= 1


def test_the_postgres_fallback_never_herds_everyone_onto_one_page(servers):
    """The Guardian's bug: with few pages left, picks stay spread across them."""
    redis_server, memcached_server = servers
    assignment, ids = make_assignment(20, threshold=1)
    redis_server.stop()
    memcached_server.stop()
    with seeded(20):  # one fixed sample (the picker's randomness is Python's random)
        counts = Counter(pick_next_page(assignment=assignment, reviewer=None).page_id for _ in range(200))
    assert set(counts) == set(ids)
    assert max(counts.values()) < 40  # 10 expected each; one page taking 20% would be herding


def test_the_postgres_fallback_never_serves_a_deleted_page_or_one_at_threshold(servers, reviewer):
    redis_server, memcached_server = servers
    assignment, ids = make_assignment(6, threshold=1)
    redis_server.stop()
    memcached_server.stop()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reviews_page WHERE id = ANY(%s)", [ids[:2]])
    submit_review(reviewer=reviewer, page_id=ids[2])
    served = {pick_next_page(assignment=assignment, reviewer=None).page_id for _ in range(30)}
    assert served == set(ids[3:])


def test_it_falls_back_when_redis_restarts_empty_and_recovers_after_the_rebuild(servers):
    assignment, ids = make_assignment(8)
    build_sets()
    picker.refill_pool(assignment_id=assignment.pk)
    get_redis().flushdb()  # restarted empty: the built markers are gone
    result = pick_next_page(assignment=assignment, reviewer=None)
    assert result.source == "pool" and result.page_id in ids
    build_sets()
    assert pick_next_page(assignment=assignment, reviewer=None).source == "redis"


def test_a_stopped_memcached_is_told_apart_from_an_empty_pool(servers):
    _, memcached_server = servers
    assignment, _ = make_assignment(3)
    assert pool.get_pool(assignment.pk) is None  # empty: no pool yet
    memcached_server.stop()
    with pytest.raises(pool.PoolUnavailable):
        pool.get_pool(assignment.pk)
    picker.reset_state()


def test_the_staff_cache_page_reports_the_outage_and_keeps_the_counts(servers, client, editor):
    redis_server, memcached_server = servers
    assignment, _ = make_assignment(5)
    redis_server.stop()
    memcached_server.stop()
    for _ in range(4):
        assert pick_next_page(assignment=assignment, reviewer=None).source == "postgres"
    client.force_login(editor)
    response = client.get("/staff/cache/")
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.context["picker_counts"]}
    assert rows["postgres"]["ever"] == 4 and rows["redis-unavailable"]["ever"] == 4
    body = response.content.decode()
    assert "memcached down" in body and "Down" in body


def test_the_pool_spreads_reviewers_over_the_last_pages(servers, settings):
    settings.PICKER_RESERVATION_SECONDS = 60
    redis_server, _ = servers
    assignment, ids = make_assignment(4)
    picker.refill_pool(assignment_id=assignment.pk)
    redis_server.stop()
    served = [pick_next_page(assignment=assignment, reviewer=None).page_id for _ in range(4)]
    assert sorted(served) == sorted(ids)  # four reviewers, four different pages


# --- uniformity of the Postgres fallback and of the pool fill on a large assignment -----------


def test_the_postgres_fallback_picks_uniformly_over_a_large_assignment(servers, settings):
    """4,500 picks over 300 pages with both servers stopped: no page (say, the assignment's
    first ones, which the wrap-around of the scan used to offer in every draw) is favoured
    (one sample at a fixed seed, chi-square at p = 0.001)."""
    settings.PICKER_RESERVATION_SECONDS = 0  # the probe itself, without the soft spreading
    redis_server, memcached_server = servers
    assignment, ids = make_assignment(300)
    redis_server.stop()
    memcached_server.stop()

    def draw():
        result = pick_next_page(assignment=assignment, reviewer=None)
        assert result.source == "postgres"
        return result.page_id

    assert_uniform(draw, ids, 4500, seed=300)


def test_the_postgres_fallback_does_not_favour_pages_with_fewer_peers_in_their_review_count(
    servers, settings
):
    """Threshold 2, a tenth of the pages reviewed once. In random order those are no likelier
    than the rest (the scan reads one index range per review_count, then merges them in id
    order): 4,500 picks over 300 pages. In "fewest reviews first" order they are never served
    while the 270 untouched pages are to do, and those are equally likely: 4,050 picks. One
    sample each at a fixed seed, chi-square at p = 0.001."""
    settings.PICKER_RESERVATION_SECONDS = 0
    redis_server, memcached_server = servers
    assignment, ids = make_assignment(300, threshold=2)
    Page.objects.filter(pk__in=ids[::10]).update(review_count=1)
    redis_server.stop()
    memcached_server.stop()
    assignment.order = "random"
    assert_uniform(lambda: pick_next_page(assignment=assignment, reviewer=None).page_id, ids, 4500, seed=2)
    assignment.order = "fewest"
    untouched = [i for i in ids if i not in set(ids[::10])]
    assert_uniform(
        lambda: pick_next_page(assignment=assignment, reviewer=None).page_id, untouched, 4050, seed=3
    )


def test_the_pool_fill_samples_a_large_assignment_evenly_while_redis_is_stopped(servers):
    """150 fills of 30 ids from 300 pages with Redis stopped: each page is in about 15 of them,
    and the first pages of the assignment are not in most of them."""
    redis_server, _ = servers
    assignment, ids = make_assignment(300)
    redis_server.stop()
    counts: Counter = Counter()
    with seeded(150):
        for _ in range(150):
            sample = picker.sample_todo_ids(assignment_id=assignment.pk, limit=30)
            assert len(sample) == 30 == len(set(sample)) and set(sample) <= set(ids)
            counts.update(sample)
    lowest = sorted(ids)[:30]
    share = sum(counts[i] for i in lowest) / sum(counts.values())
    assert share < 0.2, f"the 30 lowest ids hold {share:.0%} of the pool (10% expected)"
    assert max(counts.values()) < 45, counts.most_common(3)  # 15 expected


def test_the_postgres_fallback_spreads_consecutive_picks(servers):
    """With reservations on, picks handed out moments ago are avoided in this process: 25 picks
    from 300 pages are all different, and 5 pages are served in turn, each twice in 10 picks."""
    redis_server, memcached_server = servers
    assignment, _ = make_assignment(300)
    small, small_ids = make_assignment(5)
    redis_server.stop()
    memcached_server.stop()
    served = [pick_next_page(assignment=assignment, reviewer=None).page_id for _ in range(25)]
    assert len(set(served)) == 25
    rotation = Counter(pick_next_page(assignment=small, reviewer=None).page_id for _ in range(10))
    assert rotation == Counter({page_id: 2 for page_id in small_ids})


def test_the_last_resort_query_spreads_reviewers_of_a_sparse_assignment(servers, settings, monkeypatch):
    """When the bounded probe finds nothing (an assignment that is a small part of a large
    release), the unordered last-resort query must not hand everyone the same few pages."""
    settings.PICKER_RESERVATION_SECONDS = 0
    redis_server, memcached_server = servers
    assignment, ids = make_assignment(300)
    redis_server.stop()
    memcached_server.stop()
    monkeypatch.setattr(postgres_source, "postgres_probe", lambda *args, **kwargs: [])
    with seeded(600):
        picks = Counter(pick_next_page(assignment=assignment, reviewer=None).page_id for _ in range(600))
    assert set(picks) <= set(ids)
    # Choosing among 32 rows could never reach more than 32 pages; among all 300, 600 draws
    # reach about 260 of them.
    assert len(picks) > 150
