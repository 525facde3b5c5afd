"""Scale-out: the project against a real three-node Redis Cluster (Debian's redis-server on
loopback ports, REDIS_CLUSTER=1). The picker, the registry's rebuild and check and a review cycle
all run there: every key carries a hash tag, so no command, script, transaction or pipeline
meets a CROSSSLOT error, and the keys spread over the three nodes."""

from __future__ import annotations

import pytest
import redis

from assignments import picker, picker_stats, pool
from assignments.picker import pick_next_page
from assignments.selectors import CURRENT_ASSIGNMENT_COOKIE
from denorm import operations, registry
from lib.redis_client import get_redis, reset_redis
from reviews.models import Review
from tests import factories
from tests.faults._servers import redis_cluster

# transaction=True: the on-commit updates of the Redis sets run, as in production.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(settings, monkeypatch):
    monkeypatch.setattr(picker_stats.COUNTER, "flush_seconds", 10**9)
    with redis_cluster(3) as ports:
        settings.REDIS_URL = f"redis://127.0.0.1:{ports[0]}/0"
        settings.REDIS_CLUSTER = True
        reset_redis()
        picker.reset_state()
        pool.reset_client()
        try:
            yield ports
        finally:
            reset_redis()
            picker.reset_state()
    reset_redis()  # the settings fixture restores REDIS_URL; the next client is built from it


def keys_per_node(ports: list[int]) -> dict[int, int]:
    counts = {}
    for port in ports:
        node = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
        counts[port] = node.dbsize()
        node.close()
    return counts


def test_the_client_is_a_cluster_client(cluster):
    from redis.cluster import RedisCluster

    assert isinstance(get_redis(), RedisCluster)
    assert len(get_redis().get_primaries()) == 3


def test_rebuild_check_pick_and_review_on_a_three_node_cluster(cluster, client, reviewer, tags):
    documents = [factories.make_document(pages=12) for _ in range(4)]
    assignments = [factories.make_assignment(documents=[d], threshold=2) for d in documents]
    assignments.append(factories.make_assignment(documents=documents, threshold=1))
    reviewers = [factories.make_user() for _ in range(6)]

    runs = operations.rebuild_entries(registry.all_entries())  # every registered copy
    assert runs
    drifted = {e.name: d for e, d in operations.check_entries(registry.all_entries()) if not d.ok}
    assert drifted == {}

    # The keys spread over the cluster: every node holds some (the hash tags pick the slot).
    spread = keys_per_node(cluster)
    assert all(count > 0 for count in spread.values()), spread

    # The picker draws from Redis (the Lua scripts, its pipelines) on every assignment.
    for assignment in assignments:
        for who in reviewers[:3]:
            result = pick_next_page(assignment=assignment, reviewer=who)
            assert result.source == "redis" and result.page_id is not None

    # A review cycle through the site: pick, review, on-commit updates of the sets.
    client.force_login(reviewer)
    client.cookies[CURRENT_ASSIGNMENT_COOKIE] = assignments[0].slug
    reviewed = []
    for _ in range(8):
        response = client.get("/review/next/")
        assert response.status_code == 302, response.status_code
        page_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
        assert client.get(f"/review/{page_id}/").status_code == 200
        response = client.post(f"/review/{page_id}/", {"action": "submit", "tags": ["receipt"]})
        assert response.status_code in (302, 303), response.content[:500]
        reviewed.append(page_id)
    assert len(set(reviewed)) == 8  # never the same page twice, via the reviewer's seen set
    assert Review.objects.filter(reviewer=reviewer).count() == 8

    # The pool refill samples the to-do set on the cluster (EVAL in a pipeline).
    assert picker.refill_pool(assignment_id=assignments[1].pk) > 0

    # On-commit updates kept every copy they maintain current: no drift, on any node (the pools
    # are refreshed by a beat task instead, and checked on read).
    current = [e for e in registry.all_entries() if e.kept_current_on_commit]
    drifted = {e.name: d for e, d in operations.check_entries(current) if not d.ok}
    assert drifted == {}

    # Redis loses everything: the built markers vanish, the picker queues rebuilds and falls back.
    for port in cluster:
        redis.Redis(host="127.0.0.1", port=port).flushall()
    assert pick_next_page(assignment=assignments[0], reviewer=reviewer).source in {"pool", "postgres"}
    operations.rebuild_entries(registry.all_entries())
    picker.reset_state()
    assert pick_next_page(assignment=assignments[0], reviewer=reviewer).source == "redis"
    drifted = {e.name: d for e, d in operations.check_entries(registry.all_entries()) if not d.ok}
    assert drifted == {}


def test_the_periodic_check_and_repair_runs_on_the_cluster(cluster, reviewer):
    document = factories.make_document(pages=6)
    assignment = factories.make_assignment(documents=[document])
    operations.rebuild_entries(registry.all_entries())
    from lib import keys

    get_redis().srem(keys.assignment_todo(assignment.pk), str(document.pages.first().pk))
    outcomes = operations.check_and_repair(budget_seconds=30)
    assert any(o.repaired for o in outcomes if o.name == "assignment-todo")
    assert not [o for o in outcomes if o.error]
    drifted = {e.name: d for e, d in operations.check_entries(registry.all_entries()) if not d.ok}
    assert drifted == {}
