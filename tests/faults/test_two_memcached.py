"""Scale-out: two memcached servers. The picker's pools and Django's cache (the cached_db
sessions, the page cache and its generations) spread over both, and the site survives one
stopping: no 5xx, every pick served (the dead server's pools move to the other after
``pool.FAILURES_BEFORE_DEAD`` failures; Postgres meanwhile), sessions kept in Postgres, pages
rendered and, once the dead server left the ring, cached on the live one."""

from __future__ import annotations

import copy

import pytest
from django.core.cache import caches
from django.test import override_settings
from pymemcache.client.base import Client

from assignments import picker, picker_stats, pool
from assignments.models import Assignment
from assignments.picker import pick_next_page
from assignments.selectors import CURRENT_ASSIGNMENT_COOKIE
from lib import keys
from pagecache import generations
from pagecache.middleware import HEADER
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
    assignments = [factories.make_assignment(documents=[factories.make_document(pages=8)]) for _ in range(12)]
    for assignment in assignments:
        assert picker.refill_pool(assignment_id=assignment.pk) == 8
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
    node = pool._client().hasher.get_node
    on_first = {a.pk for a in assignments if node(keys.assignment_pool(a.pk)) == first.location}
    on_second = [a for a in assignments if a.pk not in on_first]
    assert on_first and on_second, on_first
    # The pools on the stopped server fall back to Postgres (never an error) until it failed
    # FAILURES_BEFORE_DEAD times; then they move to the live server (refilled there on demand)
    # and every pool serves again. The pools on the live server never move.
    sources = pick_all()
    fell_back = [pk for pk, source in sources.items() if source == "postgres"]
    assert len(fell_back) == pool.FAILURES_BEFORE_DEAD and set(fell_back) <= {a.pk for a in on_second}
    assert {pk for pk, source in sources.items() if source == "pool"} >= on_first
    assert pool._client().live() == [first.location]
    assert set(pick_all().values()) == {"pool"}
    direct = Client(str(first.sock), connect_timeout=1, timeout=1)
    for assignment in assignments:  # every pool now lives on the first server, whole
        assert direct.get(keys.assignment_pool(assignment.pk)), assignment.pk
    direct.close()
    for user_client, assignment in zip(clients, assignments, strict=True):
        user_client.cookies[CURRENT_ASSIGNMENT_COOKIE] = assignment.slug
        for url in ("/", "/assignments/", "/review/next/"):
            response = user_client.get(url)
            assert response.status_code in (200, 302), (url, response.status_code)
        assert response.wsgi_request.user.is_authenticated  # the session survived (Postgres)
    assert picker_stats.pending()["pool-unavailable"] >= 1

    second.start()  # back, empty: once its cooldown is over, its pools return (refilled on demand)
    assert set(pick_all().values()) == {"pool"}  # still out: no pick waits on it
    pool._client().dead_until[second.location] = 0.0  # the cooldown ends (as DEAD_SECONDS pass)
    assert set(pick_all().values()) == {"pool"}
    assert pool._client().live() == [first.location, second.location]
    direct = Client(str(second.sock), connect_timeout=1, timeout=1)
    for assignment in on_second:
        assert direct.get(keys.assignment_pool(assignment.pk)), assignment.pk
    direct.close()


def test_the_page_cache_spreads_over_two_servers_and_survives_one_stopping(
    two_servers, client, tags, settings
):
    settings.PAGE_CACHE_ENABLED = True
    settings.PAGE_CACHE_SOFT_SECONDS = 0
    generations.forget_local()
    document = factories.make_document(pages=12)
    factories.make_assignment(documents=[document], featured=Assignment.Featured.MAIN, slug="spread")
    urls = ["/", "/assignments/", "/tags/", "/tags/receipt/", "/discoveries/", "/parties/", "/members/"]
    urls.append(f"/documents/{document.pk}/")
    urls += [f"/pages/{page.pk}/" for page in document.pages.all()]
    for url in urls:
        assert client.get(url).status_code == 200, url
        assert client.get(url)[HEADER] == "hit", url
    first, second = two_servers
    # Anonymous visits store nothing but cached pages and their generations: both servers hold some.
    assert items(first) > 0 and items(second) > 0, (items(first), items(second))
    ring = caches["default"]._cache

    second.stop()
    # Bounded cost: three uses of a key on the stopped server (a failure, a failed retry, then
    # pymemcache's last attempt as it takes the server out of the ring for dead_timeout); after
    # that the key lives on the other server. Each use fails at once here (a closed socket) and
    # within the 0.2 s timeouts on a hung server.
    cache = caches["default"]
    on_second = next(
        f"probe-{i}"
        for i in range(1000)
        if ring.hasher.get_node(cache.make_key(f"probe-{i}")) == str(second.sock)
    )
    for _ in range(3):
        assert cache.get(on_second) is None
    assert list(ring._dead_clients) == [str(second.sock)]
    cache.set(on_second, "moved")
    assert cache.get(on_second) == "moved"
    statuses = [client.get(url).status_code for _ in range(3) for url in urls]
    assert set(statuses) == {200}
    # Still out of the ring: no request waits on it any more...
    assert list(ring._dead_clients) == [str(second.sock)]
    # ...and every page is cached again, on the live server.
    for url in urls:
        client.get(url)
        assert client.get(url)[HEADER] == "hit", url
    assert generations.read([generations.EPOCH]) is not None
