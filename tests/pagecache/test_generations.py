"""Generation counters: created from the clock when missing (so never going back), bumped only
after commit, and registered as a denormalisation whose rebuild abandons every cached page and
whose check finds a generation lost or gone back."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from denorm import registry
from lib import keys
from pagecache import generations as g

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_lost_generation_comes_back_larger_than_it_was():
    before = g.read([g.CATALOGUE])[g.CATALOGUE]
    for _ in range(3):
        g.bump([g.CATALOGUE])
    bumped = g.read([g.CATALOGUE])[g.CATALOGUE]
    assert bumped == before + 3
    cache.delete(keys.page_generation(g.CATALOGUE))  # evicted, or memcached restarted
    assert g.read([g.CATALOGUE])[g.CATALOGUE] > bumped


def test_rebuild_abandons_every_cached_page(client, tags):
    entry = registry.get("page-cache-generations")
    client.get("/tags/")
    assert client.get("/tags/")["X-Page-Cache"] == "hit"
    entry.rebuild()
    assert client.get("/tags/")["X-Page-Cache"] == "miss"


def test_check_finds_a_backwards_generation_and_repair_fixes_it_while_a_lost_one_is_no_drift():
    entry = registry.get("page-cache-generations")
    g.read(g.GLOBAL)
    assert entry.check().ok
    cache.delete(keys.page_generation(g.ASSIGNMENTS))  # lost: recreated above on the next read
    assert entry.check().ok
    cache.set(keys.page_generation(g.DISCOVERIES), 5, timeout=None)  # went back
    drift = entry.check()
    assert (drift.missing, drift.wrong) == (0, 1)
    entry.repair()
    assert entry.check().ok
    assert g.read([g.DISCOVERIES])[g.DISCOVERIES] > 5
