"""Anonymous API reads are throttled in Redis (shared by every web process), not in memcached.

DRF's ``SimpleRateThrottle`` keeps its history in a Django cache; this one uses the ``throttle``
cache (Django's Redis backend on ``REDIS_URL``). The rate is read at request time from
``RATE_LIMIT_API_ANON_PER_MINUTE``. With Redis down the throttle lets requests through: reads
stay up, only unthrottled.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import AnonRateThrottle

log = logging.getLogger("crowd.results")


class _FailOpenCache:
    """The Redis cache, where an unreachable server reads as empty and writes are dropped."""

    def __init__(self, name: str):
        self.name = name

    def get(self, key, default=None):
        try:
            return caches[self.name].get(key, default)
        except Exception as e:  # redis.ConnectionError and friends: never fail a read on it
            log.warning("API throttle cache unavailable: %r", e)
            return default

    def set(self, key, value, timeout=None):
        try:
            caches[self.name].set(key, value, timeout)
        except Exception as e:
            log.warning("API throttle cache unavailable: %r", e)


class RedisAnonRateThrottle(AnonRateThrottle):
    scope = "anon"
    cache = _FailOpenCache("throttle")

    def get_rate(self) -> str:
        return f"{settings.RATE_LIMIT_API_ANON_PER_MINUTE}/min"
