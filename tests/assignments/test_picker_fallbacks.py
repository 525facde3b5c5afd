"""The picker with its servers actually stopped: Redis down -> memcached pool; memcached down
too -> Postgres. Each test starts its own throwaway servers and stops those, never the shared
ones."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection

from assignments import picker, picker_stats, pool
from assignments.picker import pick_next_page
from config.redis_client import get_redis
from reviews.actions import submit_review
from tests import factories
from tests.assignments._picker_support import build_sets, own_memcached, own_redis

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet_stats(monkeypatch):
    monkeypatch.setattr(picker_stats, "FLUSH_SECONDS", 10**9)
    picker_stats.reset_pending()


@pytest.fixture
def servers():
    with own_redis() as redis_server, own_memcached() as memcached_server:
        yield redis_server, memcached_server


def make_assignment(pages: int, threshold: int = 1):
    doc = factories.make_document(pages=pages)
    return factories.make_assignment(documents=[doc], threshold=threshold), list(
        doc.pages.values_list("pk", flat=True)
    )


def test_it_serves_from_the_pool_when_redis_is_stopped(servers, reviewer):
    redis_server, _ = servers
    assignment, ids = make_assignment(30, threshold=2)
    build_sets()
    assert pick_next_page(assignment=assignment, reviewer=reviewer).source == "redis"
    assert pool.refill_pool(assignment_id=assignment.pk) == 30
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
    redis_server, _ = servers
    assignment, ids = make_assignment(5)
    pool.refill_pool(assignment_id=assignment.pk)
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
    pool.refill_pool(assignment_id=assignment.pk)
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
    pool.refill_pool(assignment_id=assignment.pk)
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
    pool.refill_pool(assignment_id=assignment.pk)
    redis_server.stop()
    served = [pick_next_page(assignment=assignment, reviewer=None).page_id for _ in range(4)]
    assert sorted(served) == sorted(ids)  # four reviewers, four different pages
