"""Shared fixtures. Every test talks to the real embedded PostgreSQL, Redis and memcached that
the settings start on demand; Redis (its own database) and the memcached test namespace are
emptied before each test."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from config.redis_client import get_redis
from tests import factories


@pytest.fixture(autouse=True)
def _clean_services():
    get_redis().flushdb()
    cache.clear()
    yield


@pytest.fixture
def editor(db):
    return factories.make_user("editor-ed", is_staff=True, is_superuser=True)


@pytest.fixture
def reviewer(db):
    return factories.make_user("alice")


@pytest.fixture
def reviewer2(db):
    return factories.make_user("bob")


@pytest.fixture
def tags(db):
    """The editors' standing tag set."""
    return {
        t.slug: t
        for t in [
            factories.make_tag("receipt", key="r", order=1),
            factories.make_tag("claim-form", key="c", order=2),
            factories.make_tag("hand-written", key="h", order=3),
            factories.make_tag("investigate-this", key="i", order=9, highlights=True),
            factories.make_tag("retired", key="x", order=10, active=False),
        ]
    }
