"""Scale-out: two memcached servers. The picker's pools and Django's cache (the cached_db
sessions; there is no whole-page cache) spread over both, and the site survives one stopping:
no 5xx, every pick served (from the pools left, else from Postgres), sessions kept in Postgres."""

from __future__ import annotations

import copy

import pytest
from django.core.cache import caches
from django.test import override_settings
from pymemcache.client.base import Client

from assignments import picker, picker_stats, pool
from assignments.picker import pick_next_page
from assignments.selectors import CURRENT_ASSIGNMENT_COOKIE
from lib import keys
from tests import factories
from tests.faults._servers import memcached_servers

pytestmark = [pytest.mark.django_db]


def items(server) -> int:
    client = Client(str(server.sock), connect_timeout=1, timeout=1)
    try:
        return int(client.stats()[b"curr_items"])
    finally:
        client.close()


@pytest.fixture
def two_servers(settings, monkeypatch):
    monkeypatch.setattr(picker_stats.COUNTER, "flush_seconds", 10**9)
    with memcached_servers(2) as servers:
        locations = [s.location for s in servers]
        cache_settings = copy.deepcopy(settings.CACHES)
        cache_settings["default"]["LOCATION"] = locations
        settings.MEMCACHED_SERVERS = locations
        pool.reset_client()
        picker.reset_state()
        with override_settings(CACHES=cache_settings):
            caches["default"].clear()
            try:
                yield servers
            finally:
                pool.reset_client()
                picker.reset_state()
    pool.reset_client()


def test_pools_and_sessions_spread_over_two_servers_and_survive_one_stopping(two_servers, client, tags):
    """Redis is left unbuilt so the picker serves from the pools, as when Redis is down."""
    assignments = [factories.make_assignment(documents=[factories.make_document(pages=4)]) for _ in range(12)]
    for assignment in assignments:
        assert picker.refill_pool(assignment_id=assignment.pk) == 4
    users = [factories.make_user() for _ in range(12)]
    clients = []
    for user in users:
        c = client.__class__()
        c.force_login(user)  # a session, cached in memcached by cached_db
        clients.append(c)
        assert c.get("/assignments/").status_code == 200

    first, second = two_servers
    assert items(first) > 0 and items(second) > 0, (items(first), items(second))

    def pick_all() -> dict[int, str]:
        sources = {}
        for assignment in assignments:
            result = pick_next_page(assignment=assignment, reviewer=None)
            assert result.page_id is not None
            sources[assignment.pk] = result.source
        return sources

    assert set(pick_all().values()) == {"pool"}

    second.stop()
    sources = pick_all()
    # Every key of one assignment's pool (the ids, its reservations, its lock) lives on the
    # server its pool key routes to: the pools on the first server serve whole, those on the
    # stopped one fall back to Postgres, never an error.
    node = pool._client().hasher.get_node
    on_first = {a.pk for a in assignments if node(keys.assignment_pool(a.pk)) == first.location}
    assert on_first and len(on_first) < len(assignments), on_first
    assert {pk for pk, source in sources.items() if source == "pool"} == on_first
    assert {pk for pk, source in sources.items() if source == "postgres"} == {
        a.pk for a in assignments
    } - on_first
    for user_client, assignment in zip(clients, assignments, strict=True):
        user_client.cookies[CURRENT_ASSIGNMENT_COOKIE] = assignment.slug
        for url in ("/", "/assignments/", "/review/next/"):
            response = user_client.get(url)
            assert response.status_code in (200, 302), (url, response.status_code)
        assert response.wsgi_request.user.is_authenticated  # the session survived (Postgres)
    assert picker_stats.pending()["pool-unavailable"] >= 1

    second.start()  # back, empty: refilled on demand
    picker.reset_state()
    pool.reset_client()
    for assignment in assignments:
        picker.refill_pool(assignment_id=assignment.pk)
    assert set(pick_all().values()) == {"pool"}
