"""Sliding-window rate limits counted in Redis, shared by every web process, with a per-process
fallback while Redis is down; and the visitor's address as seen through trusted proxies.

The window is a *sliding window counter*: a count for the current fixed window and one for the
previous; the estimate of hits in the last ``window`` seconds is ``previous * (1 - elapsed
fraction) + current``. Unlike a fixed window, a burst at the end of one window and another at
the start of the next cannot pass twice the limit. One Lua call per limit checks and counts
atomically (both keys share a hash tag: one Redis Cluster slot); a refused hit is not counted,
so a limited client is let in again as the window slides.

Redis down: each process counts in its own memory (bounded in size) with the same rule, so a
flood is still bounded per process (the limit times the number of web processes), and honest
visitors are never refused because Redis vanished. One throttled log line says so.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings
from django.http import HttpRequest

from lib import keys, metrics
from lib.log_throttle import warn_throttled
from lib.redis_client import get_redis
from lib.redis_scripts import LuaScript

log = logging.getLogger("crowd.ratelimit")

# KEYS: current window's counter, previous window's. ARGV: limit, weight of the previous window
# (0..1), key TTL in seconds. Returns {allowed (0/1), current count, previous count}.
_SLIDING_WINDOW_LUA = """
local current = tonumber(redis.call('get', KEYS[1]) or '0')
local previous = tonumber(redis.call('get', KEYS[2]) or '0')
local limit = tonumber(ARGV[1])
local weight = tonumber(ARGV[2])
if previous * weight + current + 1 > limit then
  return {0, current, previous}
end
current = redis.call('incr', KEYS[1])
redis.call('expire', KEYS[1], tonumber(ARGV[3]))
return {1, current, previous}
"""
SLIDING_WINDOW = LuaScript(_SLIDING_WINDOW_LUA, "sliding_window")

# The same for several limits in one call (one round trip), in order: KEYS two per limit, ARGV
# three per limit. Returns {0, 0, 0} when all allowed, else {n, current, previous} for the n-th
# (1-based) limit, the first refused: the limits before it counted the hit, those after it are
# not looked at, exactly as calling the single-limit script for each in turn.
_SLIDING_WINDOWS_LUA = """
for i = 1, #KEYS / 2 do
  local current_key = KEYS[2 * i - 1]
  local current = tonumber(redis.call('get', current_key) or '0')
  local previous = tonumber(redis.call('get', KEYS[2 * i]) or '0')
  if previous * tonumber(ARGV[3 * i - 1]) + current + 1 > tonumber(ARGV[3 * i - 2]) then
    return {i, current, previous}
  end
  redis.call('incr', current_key)
  redis.call('expire', current_key, tonumber(ARGV[3 * i]))
end
return {0, 0, 0}
"""
SLIDING_WINDOWS = LuaScript(_SLIDING_WINDOWS_LUA, "sliding_windows")


@dataclass(frozen=True)
class Limit:
    scope: str  # names the limit in keys and messages, e.g. "address", "new-account"
    ident: str  # who is counted: an address, a digest of a session key, a username
    limit: int  # hits allowed in any ``window`` seconds
    window: int  # seconds


@dataclass(frozen=True)
class Exceeded:
    scope: str
    limit: int
    window: int
    retry_after: int  # seconds until one more hit would be allowed (at least 1)


def _window_position(window: int, now: float) -> tuple[int, float]:
    index = int(now // window)
    return index, (now - index * window) / window


def _retry_after(limit: int, window: int, current: int, previous: int, fraction: float) -> int:
    """Seconds until ``previous * (1 - f) + current + 1 <= limit`` holds again."""
    now_in_window = fraction * window
    if current + 1 <= limit and previous > 0:
        needed = 1 - (limit - current - 1) / previous  # the weight fraction f must reach
        wait = max(0.0, needed * window - now_in_window)
    else:
        # Not within this window: in the next one this window's count becomes the previous.
        rest = window - now_in_window
        needed = 1 - (limit - 1) / current if current > 0 else 0.0
        wait = rest + max(0.0, needed) * window
    return max(1, math.ceil(wait))


def hit(limits: list[Limit], *, now: float | None = None) -> Exceeded | None:
    """Count one hit against each limit, in order; the first refused one is returned (a refused
    hit is not counted against it; limits checked before it did count the hit)."""
    exceeded = _hit(limits, now=now)
    if exceeded is not None:
        metrics.count_rate_limit_refusal(exceeded.scope)  # crowd_rate_limit_refusals_total{limit}
    return exceeded


def _hit(limits: list[Limit], *, now: float | None = None) -> Exceeded | None:
    now = time.time() if now is None else now
    try:
        client = get_redis()
        if len(limits) > 1 and not getattr(settings, "REDIS_CLUSTER", False):
            return _hit_together(client, limits, now)
        # On a Redis Cluster each limit's keys have their own slot: one script call per limit.
        for limit in limits:
            index, fraction = _window_position(limit.window, now)
            allowed, current, previous = SLIDING_WINDOW(client, _keys(limit, index), _args(limit, fraction))
            if not int(allowed):
                return _exceeded(limit, int(current), int(previous), fraction)
        return None
    except redis.RedisError as exc:
        warn_throttled(log, "rate-limit", "rate limits counted per process, Redis unavailable: %r", exc)
        return _local.hit(limits, now)


def _keys(limit: Limit, index: int) -> list[str]:
    return [
        keys.rate_limit(limit.scope, limit.ident, limit.window, index),
        keys.rate_limit(limit.scope, limit.ident, limit.window, index - 1),
    ]


def _args(limit: Limit, fraction: float) -> list[int | str]:
    return [limit.limit, repr(1 - fraction), 2 * limit.window + 5]


def _hit_together(client: redis.Redis, limits: list[Limit], now: float) -> Exceeded | None:
    """All of ``limits`` in one script call (a plain Redis: any keys in one script)."""
    positions = [_window_position(limit.window, now) for limit in limits]
    script_keys, script_args = [], []
    for limit, (index, fraction) in zip(limits, positions, strict=True):
        script_keys += _keys(limit, index)
        script_args += _args(limit, fraction)
    refused, current, previous = SLIDING_WINDOWS(client, script_keys, script_args)
    if not int(refused):
        return None
    n = int(refused) - 1
    return _exceeded(limits[n], int(current), int(previous), positions[n][1])


def _exceeded(limit: Limit, current: int, previous: int, fraction: float) -> Exceeded:
    return Exceeded(
        scope=limit.scope,
        limit=limit.limit,
        window=limit.window,
        retry_after=_retry_after(limit.limit, limit.window, current, previous, fraction),
    )


class _LocalCounters:
    """The same sliding windows in this process's memory (the Redis-down fallback)."""

    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, int, int], int] = {}

    def hit(self, limits: list[Limit], now: float) -> Exceeded | None:
        with self._lock:
            if len(self._counts) > self.MAX_ENTRIES:
                self._forget_old(now)
            for limit in limits:
                index, fraction = _window_position(limit.window, now)
                key = (limit.scope, limit.ident, limit.window)
                current = self._counts.get((*key, index), 0)
                previous = self._counts.get((*key, index - 1), 0)
                if previous * (1 - fraction) + current + 1 > limit.limit:
                    return _exceeded(limit, current, previous, fraction)
                self._counts[(*key, index)] = current + 1
        return None

    def _forget_old(self, now: float) -> None:
        keep = {k: v for k, v in self._counts.items() if k[3] >= int(now // k[2]) - 1}
        if len(keep) > self.MAX_ENTRIES:  # a flood of distinct identities: start again
            keep = {}
        self._counts = keep

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


_local = _LocalCounters()


def reset_local_counters() -> None:
    """Forget this process's fallback counts (tests)."""
    _local.clear()


# --- The visitor's address --------------------------------------------------------------------


@lru_cache(maxsize=8)
def _trusted_networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def _is_trusted(address: IPAddress | None) -> bool:
    networks = _trusted_networks(tuple(settings.TRUSTED_PROXIES))
    return address is not None and any(address in network for network in networks)


def _normalise(address: IPAddress) -> str:

    # One IPv6 subscriber usually holds a whole /64: counting single addresses would let anyone
    # pick a fresh one per request.
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


def from_trusted_proxy(request: HttpRequest) -> bool:
    """True when the request came from an address in TRUSTED_PROXIES (whose headers are believed)."""
    return _is_trusted(_parse(request.META.get("REMOTE_ADDR") or ""))


def client_address(request: HttpRequest) -> str:
    """The visitor's address: REMOTE_ADDR, unless that is a configured trusted proxy
    (TRUSTED_PROXIES); then the nearest address in X-Forwarded-For that is not a trusted proxy,
    or X-Real-IP. Headers from anyone else are ignored: a client could set them to anything."""
    remote = _parse(request.META.get("REMOTE_ADDR") or "")
    if remote is None:
        return request.META.get("REMOTE_ADDR") or "unknown"
    if _is_trusted(remote):
        hops = [_parse(h) for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        for hop in reversed(hops):
            if hop is None:
                break  # garbage in the chain: trust nothing beyond it
            if not _is_trusted(hop):
                return _normalise(hop)
        real = _parse(request.META.get("HTTP_X_REAL_IP", ""))
        if real is not None:
            return _normalise(real)
    return _normalise(remote)


def address_range(address: str) -> str:
    """The network an address belongs to, as stored with a new account (``Reviewer.created_from``):
    its /24 (IPv4) or /48 (IPv6, a site's usual allocation), never the address itself. Accepts
    what :func:`client_address` returns (an address or a /64); "" when it is not an address."""
    text = (address or "").strip()
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return ""
    prefix = 24 if network.version == 4 else 48
    if network.prefixlen < prefix:
        return ""
    return str(network.supernet(new_prefix=prefix))
