"""The memcached pool of to-do ids: refill, check, the beat task."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.models import Sum

from assignments import picker, picker_stats, pool, tasks
from assignments.models import PickerStat
from catalogue.models import Page
from tests import factories
from tests.assignments._picker_support import build_sets, own_memcached

pytestmark = pytest.mark.django_db


@pytest.fixture
def memcached():
    with own_memcached() as server:
        yield server


def make_assignment(pages: int, threshold: int = 1, **extra):
    doc = factories.make_document(pages=pages)
    return factories.make_assignment(documents=[doc], threshold=threshold, **extra), list(
        doc.pages.values_list("pk", flat=True)
    )


def test_it_fills_the_pool_with_to_do_pages_only(memcached):
    assignment, ids = make_assignment(10, threshold=2)
    Page.objects.filter(pk__in=ids[:3]).update(review_count=2)
    build_sets()
    assert picker.refill_pool(assignment_id=assignment.pk) == 7
    assert sorted(pool.get_pool(assignment.pk)) == ids[3:]


def test_it_fills_the_pool_from_postgres_when_redis_has_no_sets(memcached):
    assignment, ids = make_assignment(25)
    Page.objects.filter(pk=ids[0]).update(review_count=1)
    assert picker.refill_pool(assignment_id=assignment.pk) == 24
    assert sorted(pool.get_pool(assignment.pk)) == ids[1:]


def test_it_caps_the_pool_at_the_configured_size(memcached, settings):
    """60 to-do pages, PICKER_POOL_SIZE 10: the refill stores (and reports) 10 distinct ids."""
    settings.PICKER_POOL_SIZE = 10
    assignment, ids = make_assignment(60)
    build_sets()
    assert picker.refill_pool(assignment_id=assignment.pk) == 10
    pooled = pool.get_pool(assignment.pk)
    assert len(pooled) == len(set(pooled)) == 10 and set(pooled) <= set(ids)


def test_the_check_finds_pooled_ids_that_are_not_to_do(memcached):
    assignment, ids = make_assignment(5)
    picker.refill_pool(assignment_id=assignment.pk)
    assert picker.check_pools().ok
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reviews_page WHERE id = %s", [ids[0]])
    Page.objects.filter(pk=ids[1]).update(review_count=1)
    drift = picker.check_pools()
    assert drift.extra == 2 and not drift.ok
    picker.refill_all_pools()
    assert picker.check_pools().ok


def test_the_beat_task_refills_every_active_assignment(memcached):
    active, _ = make_assignment(4)
    inactive, _ = make_assignment(4, active=False)
    tasks.refill_pools()
    assert len(pool.get_pool(active.pk)) == 4
    assert pool.get_pool(inactive.pk) is None
    entry = django_settings.CELERY_BEAT_SCHEDULE["picker-refill-pools"]
    assert entry["task"] == tasks.refill_pools.name


def test_the_beat_task_survives_memcached_being_down(memcached):
    """memcached stopped: the task raises nothing, and the outage is counted and stored (the
    task flushes its counts) for /staff/cache/."""
    make_assignment(4)
    memcached.stop()
    picker_stats.reset_pending()
    tasks.refill_pools()  # counted, not raised
    stored = PickerStat.objects.filter(source=picker_stats.POOL_UNAVAILABLE).aggregate(n=Sum("count"))["n"]
    assert stored == 1


def test_the_pool_is_a_registered_denormalisation_with_rebuild_and_check(memcached):
    from denorm import registry

    assignment, ids = make_assignment(5)
    entry = registry.get("assignment-pool")
    entry.rebuild()
    assert sorted(pool.get_pool(assignment.pk)) == ids
    assert entry.check().ok
    pool.store_pool(assignment.pk, [*ids, 987654321])
    fresh = entry.check()
    assert fresh.ok and fresh.lagging == 1  # just filled: lagging by design, within its bound
    from lib import keys

    pool_key = keys.assignment_pool(assignment.pk)
    pool._client().run(keys.assignment_pool_filled(assignment.pk), "set", b"0", route=pool_key)
    assert entry.check().extra == 1  # nobody refilled it: drift


def test_the_registry_reports_an_unreadable_pool_and_a_rebuild_does_not_fail(memcached, caplog):
    from denorm import registry

    make_assignment(3)
    memcached.stop()
    entry = registry.get("assignment-pool")
    with caplog.at_level(logging.WARNING):
        entry.rebuild()  # logged, not raised: the beat task refills when memcached is back
    assert any("assignment-pool not rebuilt" in r.getMessage() for r in caplog.records), caplog.text
    drift = entry.check()
    assert not drift.ok and "memcached unavailable" in str(drift)
