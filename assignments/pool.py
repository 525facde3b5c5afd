"""The memcached pool: up to ``PICKER_POOL_SIZE`` to-do page ids per assignment.

It serves the picker when Redis is down (the Guardian's 2009 cron job, done properly: refilled by
a Celery beat task and on demand, every id checked against Postgres before it is served, stale
ids dropped). Registered as the "assignment-pool" denormalisation.

This module is storage only (the client, get/store/delete/remove/reserve, the refill lock): what
goes into a pool, and when, is the picker's business (``assignments.picker.pool_source``:
``refill_pool``, ``refill_all_pools``, ``check_pools``). It imports nothing of the picker.

The client is our own lazily built pymemcache client, not Django's cache: Django's backend turns
every error into a miss (right for page caching), but the picker must tell "memcached is down"
(-> Postgres fallback, counted) from "the pool is empty" (-> refill). Timeouts are short.

Several servers (``MEMCACHED_SERVERS``): each assignment's pool lives on the server its pool key
routes to by rendezvous hashing over the servers that are alive. A server that failed
``FAILURES_BEFORE_DEAD`` times in a row is dead for ``DEAD_SECONDS``: its pools move to their
next choice among the others (every other pool stays where it is), are refilled there on demand,
and the dead server costs no further timeouts until the cooldown ends and it is tried again (one
more failure kills it again at once; a success brings its pools back, refilled on demand if it
restarted empty). Each process keeps its own view: two may briefly disagree about a pool, which
is harmless since every pooled id is checked against Postgres before it is served.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable

from django.conf import settings
from pymemcache.client.base import PooledClient
from pymemcache.client.rendezvous import RendezvousHash
from pymemcache.exceptions import MemcacheError

from lib import keys

log = logging.getLogger("crowd.picker")

POOL_TTL = 60 * 60  # a pool nobody refills (beat stopped) expires instead of aging forever
REFILL_LOCK_SECONDS = 30
# Consecutive failures (errors or timeouts) after which a server is taken out of the routing.
FAILURES_BEFORE_DEAD = 2
# How long a dead server stays out before it is tried again.
DEAD_SECONDS = 30.0
CONNECT_TIMEOUT = 0.1
TIMEOUT = 0.2


class PoolUnavailable(Exception):
    """memcached is down or unreachable (not: the pool is empty)."""

    def __init__(self, message: str, *, known: bool = False):
        super().__init__(message)
        self.known = known  # the server had already failed moments ago


class _Servers:
    """One pooled client per server; keys routed by rendezvous hashing over the live servers;
    errors raise (see the module docstring)."""

    def __init__(self, servers: list[str]):
        self.clients: dict[str, PooledClient] = {}
        for server in servers:
            address: str | tuple[str, int]
            if server.startswith("unix:"):
                address = server[len("unix:") :]
            elif server.startswith("/"):
                address = server
            else:
                host, _, port = server.rpartition(":")
                address = (host or "127.0.0.1", int(port or 11211))
            self.clients[server] = PooledClient(
                address,
                connect_timeout=CONNECT_TIMEOUT,
                timeout=TIMEOUT,
                no_delay=True,
                max_pool_size=32,
                default_noreply=False,
            )
        # Over every server: where a key lives while all are alive.
        self.hasher = RendezvousHash(list(self.clients))
        self.failures: dict[str, int] = {}
        self.dead_until: dict[str, float] = {}
        # One hasher per set of live servers met (a handful at most).
        self._hashers: dict[frozenset[str], RendezvousHash] = {frozenset(self.clients): self.hasher}

    def live(self) -> list[str]:
        now = time.monotonic()
        return [s for s in self.clients if self.dead_until.get(s, 0.0) <= now]

    def node_for(self, route: str) -> str | None:
        """The live server ``route`` goes to. Rendezvous hashing over the live servers: a key's
        server is the live one scoring highest for it, so a server's death moves only its own
        keys, each to its next choice, and its return moves them back."""
        live = frozenset(self.live())
        hasher = self._hashers.get(live)
        if hasher is None:
            hasher = self._hashers.setdefault(live, RendezvousHash(sorted(live)))
        return hasher.get_node(route)

    def run(self, key: str, method: str, *args, route: str | None = None, **kwargs):
        # ``route``: the key that chooses the server. Every key of one assignment's pool is
        # routed by the pool's own key (like a Redis hash tag), so that a pick, which touches the
        # pool and its reservation keys, needs one server only, and a pool moves whole.
        if not self.clients:
            raise PoolUnavailable("no memcached servers configured")
        server = self.node_for(route or key)
        if server is None:
            raise PoolUnavailable("every memcached server failed recently", known=True)
        try:
            result = getattr(self.clients[server], method)(key, *args, **kwargs)
        except (OSError, MemcacheError) as exc:
            self._failed(server)
            raise PoolUnavailable(f"memcached {server} unavailable: {exc!r}") from exc
        if self.failures.get(server):
            self.failures[server] = 0
        return result

    def _failed(self, server: str) -> None:
        failures = self.failures.get(server, 0) + 1
        self.failures[server] = failures
        if failures >= FAILURES_BEFORE_DEAD:
            self.dead_until[server] = time.monotonic() + DEAD_SECONDS
            others = len(self.live())
            log.warning(
                "memcached %s failed %d times: out for %.0f s, its pools move to %d other server(s)",
                server,
                failures,
                DEAD_SECONDS,
                others,
            )

    def close(self) -> None:
        for client in self.clients.values():
            with contextlib.suppress(Exception):  # closing a dead client must not fail a reset
                client.close()


_servers: _Servers | None = None
_lock = threading.Lock()


def _client() -> _Servers:
    global _servers
    if _servers is None:
        with _lock:
            if _servers is None:
                _servers = _Servers(list(settings.MEMCACHED_SERVERS))
    return _servers


def reset_client() -> None:
    """Forget the client (tests pointing MEMCACHED_SERVERS elsewhere, forked workers)."""
    global _servers
    with _lock:
        if _servers is not None:
            _servers.close()
        _servers = None


def _decode(raw: bytes | None) -> list[int] | None:
    if raw is None:
        return None
    text = raw.decode()
    return [int(x) for x in text.split(",")] if text else []


def _encode(ids: Iterable[int]) -> bytes:
    return ",".join(str(int(i)) for i in ids).encode()


# --- storage primitives ----------------------------------------------------------------------


def get_pool(assignment_id: int) -> list[int] | None:
    """The pooled ids of an assignment; None when there is no pool (never filled, or expired)."""
    return _decode(_client().run(keys.assignment_pool(assignment_id), "get"))


def store_pool(assignment_id: int, ids: list[int]) -> None:
    key = keys.assignment_pool(assignment_id)
    _client().run(key, "set", _encode(ids), expire=POOL_TTL)
    # When it was filled: the check tells a pool lagging by design from one nobody refills.
    _client().run(
        keys.assignment_pool_filled(assignment_id),
        "set",
        repr(time.time()).encode(),
        expire=POOL_TTL,
        route=key,
    )


def pool_filled_at(assignment_id: int) -> float | None:
    """When the pool was last filled (Unix seconds), None when unknown."""
    raw = _client().run(
        keys.assignment_pool_filled(assignment_id), "get", route=keys.assignment_pool(assignment_id)
    )
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def delete_pool(assignment_id: int) -> None:
    _client().run(keys.assignment_pool(assignment_id), "delete")


def remove_from_pool(assignment_id: int, ids: Iterable[int]) -> None:
    """Drop ids Postgres disagreed with. Compare-and-swap; a lost race just leaves them for the
    next reader (they are checked again before being served)."""
    drop = {int(i) for i in ids}
    if not drop:
        return
    key = keys.assignment_pool(assignment_id)
    raw, cas = _client().run(key, "gets")
    current = _decode(raw)
    if current is None:
        return
    _client().run(key, "cas", _encode(i for i in current if i not in drop), cas, expire=POOL_TTL)


MAX_SLOTS = 16  # places tried per page: a page needing more takes at most this many at once here


def reserve(
    assignment_id: int, candidates: list[tuple[int, int]], seconds: int, *, holder: str | None = None
) -> int | None:
    """Hand out the first of ``candidates`` ((page id, reviews it still needs), best first)
    with a free place: a page needing ``k`` reviews has ``k`` places (at most MAX_SLOTS), each
    one memcached key taken with ``add`` (set-if-absent: two reviewers cannot take one place)
    for ``seconds``. None when every place of every candidate is taken. With ``holder``, the
    page is remembered as the holder's (see :func:`held_page`). Places are not given back on
    submit: they expire (here fewer reviewers are let in, never more)."""
    if seconds <= 0:
        return candidates[0][0] if candidates else None
    base = keys.assignment_pool(assignment_id)
    for page_id, places in candidates[:16]:
        for slot in range(min(places, MAX_SLOTS)):
            if _client().run(f"{base}:r:{page_id}:{slot}", "add", b"1", expire=seconds, route=base):
                if holder:
                    _client().run(
                        f"{base}:h:{holder}", "set", str(page_id).encode(), expire=seconds, route=base
                    )
                return page_id
    return None


def held_page(assignment_id: int, holder: str) -> int | None:
    """The page ``holder`` was handed out here in the last reservation period, if any."""
    base = keys.assignment_pool(assignment_id)
    raw = _client().run(f"{base}:h:{holder}", "get", route=base)
    return int(raw) if raw else None


def try_refill_lock(assignment_id: int) -> bool:
    """At most one on-demand refill per assignment per REFILL_LOCK_SECONDS, across processes."""
    base = keys.assignment_pool(assignment_id)
    return bool(_client().run(f"{base}:refilling", "add", b"1", expire=REFILL_LOCK_SECONDS, route=base))


def release_refill_lock(assignment_id: int) -> None:
    base = keys.assignment_pool(assignment_id)
    _client().run(f"{base}:refilling", "delete", route=base)
