"""The one Redis client of the project, built lazily (never at import) and shared per process."""

from __future__ import annotations

import threading

import redis
from django.conf import settings

_client: redis.Redis | None = None
_lock = threading.Lock()


def get_redis() -> redis.Redis:
    """The shared client. Short timeouts: a dead Redis must fail fast so the fallbacks serve."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    decode_responses=True,
                    socket_connect_timeout=0.25,
                    socket_timeout=0.5,
                    health_check_interval=30,
                    max_connections=64,
                )
    return _client


def reset_redis() -> None:
    """Forget the client (tests that point REDIS_URL elsewhere, forked workers)."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None
