"""What the picker remembers between picks (``assignments.picker.state``): the Redis circuit
breaker and the "nothing left" cache. Real servers, stopped or pointed elsewhere; the state is
read, and set only to stand for time passing."""

from __future__ import annotations

import contextlib

import pytest
from django.conf import settings as django_settings
from django.test.utils import CaptureQueriesContext

from assignments import picker, picker_stats
from assignments.picker import STATE, pick_next_page, redis_source
from assignments.picker.clock import clock
from catalogue.models import Page
from lib.redis_client import reset_redis
from reviews.actions import submit_review
from tests import factories
from tests.assignments._picker_support import (
    RoundTrips,
    build_sets,
    make_assignment,
    own_memcached,
    own_redis,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet_stats(monkeypatch):
    monkeypatch.setattr(picker_stats.COUNTER, "flush_seconds", 10**9)
    picker_stats.reset_pending()


# --- the Redis circuit breaker ----------------------------------------------------------------


def test_after_a_redis_failure_the_picker_skips_redis_for_a_while_then_tries_again(settings, monkeypatch):
    """Redis is stopped: the pick that finds out serves from the pool and opens the breaker for
    REDIS_DEAD_SECONDS. The picker is then pointed at a live Redis with its sets built: while
    the breaker is open, picks are served from the pool without a single Redis round trip; once
    it has expired (the picker's clock moved on, not slept), the next pick goes to Redis again."""
    settings.PICKER_RESERVATION_SECONDS = 60
    live_url = django_settings.REDIS_URL
    with own_redis() as dying, own_memcached(), contextlib.ExitStack() as stack:
        assignment, ids = make_assignment(30, threshold=2)
        build_sets()
        assert pick_next_page(assignment=assignment, reviewer=None).source == "redis"
        picker.refill_pool(assignment_id=assignment.pk)
        dying.stop()
        frozen = stack.enter_context(clock.frozen(1000.0))
        result = pick_next_page(assignment=assignment, reviewer=None)
        assert result.source == "pool" and result.page_id in ids
        opened_until = STATE.redis_dead_until
        assert opened_until == 1000.0 + picker.REDIS_DEAD_SECONDS

        # A Redis that answers, with the sets built (set on django.conf.settings, as own_redis
        # does: it restores the URL on exit; the settings fixture would restore the dead one).
        django_settings.REDIS_URL = live_url
        reset_redis()
        build_sets()
        trips = RoundTrips(monkeypatch)
        sources = [pick_next_page(assignment=assignment, reviewer=None).source for _ in range(5)]
        assert sources == ["pool"] * 5
        assert trips.count == 0, "Redis was asked while the breaker was open"
        assert STATE.redis_dead_until == opened_until  # skipping is not failing: not extended
        assert picker_stats.pending()[picker_stats.REDIS_UNAVAILABLE] == 6

        frozen.advance(picker.REDIS_DEAD_SECONDS - 0.01)
        assert pick_next_page(assignment=assignment, reviewer=None).source == "pool"  # not yet
        assert trips.count == 0
        frozen.advance(0.02)
        result = pick_next_page(assignment=assignment, reviewer=None)
        assert result.source == "redis" and result.page_id in ids
        assert trips.count >= 1


def test_a_pool_refill_during_an_outage_does_not_wait_for_redis_either(monkeypatch):
    """With the breaker open, the pool's on-demand refill samples Postgres without asking
    Redis (which would cost a timeout per refill on a dead server)."""
    live_url = django_settings.REDIS_URL
    with own_redis() as dying, own_memcached():
        assignment, ids = make_assignment(12)
        dying.stop()
        assert pick_next_page(assignment=assignment, reviewer=None).source == "pool"  # opens it
        django_settings.REDIS_URL = live_url
        reset_redis()
        trips = RoundTrips(monkeypatch)
        assert sorted(picker.sample_todo_ids(assignment_id=assignment.pk, limit=50)) == sorted(ids)
        assert trips.count == 0


# --- the "nothing left" cache -----------------------------------------------------------------


def _finished_for(reviewer, pages: int = 3):
    """An assignment (threshold 2) whose every page this reviewer reviewed, its sets built."""
    assignment, ids = make_assignment(pages, threshold=2)
    for page_id in ids:
        submit_review(reviewer=reviewer, page_id=page_id)
    build_sets()
    return assignment, ids


def _pick_counting_queries(assignment, reviewer):
    from django.db import connection

    with CaptureQueriesContext(connection) as queries:
        result = pick_next_page(assignment=assignment, reviewer=reviewer)
    return result, len(queries)


def test_a_confirmed_nothing_left_is_remembered_and_spares_the_postgres_confirmation(settings, reviewer):
    """Redis finds nothing left for the reviewer and Postgres confirms (several queries). For
    NOTHING_LEFT_CACHE_SECONDS the same answer comes without the confirmation: only the check
    of the one id the draw claimed remains (the Redis pass still runs, see the next tests).
    When the entry expires, Postgres is asked again."""
    settings.PICKER_RESERVATION_SECONDS = 60
    assignment, _ = _finished_for(reviewer)
    with clock.frozen(500.0) as frozen:
        first, first_queries = _pick_counting_queries(assignment, reviewer)
        assert (first.page_id, first.source) == (None, "nothing-left")
        assert first_queries >= 3  # the claimed id's check, then the Postgres fallback's queries
        until = STATE.nothing_left[(assignment.pk, reviewer.pk)]
        assert until == 500.0 + picker.NOTHING_LEFT_CACHE_SECONDS
        for _ in range(3):
            again, queries = _pick_counting_queries(assignment, reviewer)
            assert (again.page_id, again.source) == (None, "nothing-left")
            assert queries == 1
        frozen.advance(picker.NOTHING_LEFT_CACHE_SECONDS - 0.01)
        again, queries = _pick_counting_queries(assignment, reviewer)
        assert (again.source, queries) == ("nothing-left", 1)  # still believed, just before expiry

        frozen.advance(0.02)  # expired
        expired, queries = _pick_counting_queries(assignment, reviewer)
        assert (expired.page_id, expired.source) == (None, "nothing-left")
        assert queries == first_queries - 1  # confirmed again (the id range is remembered: one fewer)


def test_the_cache_is_per_reviewer(settings, reviewer, reviewer2):
    settings.PICKER_RESERVATION_SECONDS = 60
    assignment, ids = _finished_for(reviewer)
    assert pick_next_page(assignment=assignment, reviewer=reviewer).page_id is None
    assert pick_next_page(assignment=assignment, reviewer=reviewer2).page_id in ids


@pytest.mark.django_db(transaction=True)  # real commits: the sets follow the change on commit
def test_a_new_page_is_served_at_once_despite_a_cached_nothing_left(settings, reviewer):
    """The cache is consulted only after the Redis pass found nothing: a page that reaches the
    to-do set (here a document added to the assignment, through its action) is served at once."""
    from assignments.actions import set_assignment_scope

    settings.PICKER_RESERVATION_SECONDS = 60
    assignment, ids = _finished_for(reviewer)
    assert pick_next_page(assignment=assignment, reviewer=reviewer).page_id is None
    assert (assignment.pk, reviewer.pk) in STATE.nothing_left
    new = factories.make_document(pages=1)
    set_assignment_scope(
        assignment_id=assignment.pk, documents=[*assignment.documents.values_list("pk", flat=True), new.pk]
    )
    result = pick_next_page(assignment=assignment, reviewer=reviewer)
    assert (result.page_id, result.source) == (new.pages.get().pk, "redis")


def test_a_page_redis_does_not_know_about_waits_for_the_cache_to_expire(settings, reviewer):
    """Drift: a page goes back below the threshold behind Redis' back (raw SQL). Redis still
    says done, so until the cached "nothing left" expires the reviewer is told so; then the
    Postgres confirmation finds the page and serves it (and logs that Redis missed it). The
    registry's periodic check repairs the sets themselves."""
    settings.PICKER_RESERVATION_SECONDS = 60
    assignment, ids = make_assignment(4, threshold=2)
    for page_id in ids[:3]:
        submit_review(reviewer=reviewer, page_id=page_id)
    Page.objects.filter(pk=ids[3]).update(review_count=2)  # done before the sets are built
    build_sets()
    assert pick_next_page(assignment=assignment, reviewer=reviewer).page_id is None
    Page.objects.filter(pk=ids[3]).update(review_count=1)  # the sets do not hear of it
    assert pick_next_page(assignment=assignment, reviewer=reviewer).page_id is None  # cached
    STATE.nothing_left[(assignment.pk, reviewer.pk)] = clock.now() - 0.001  # expired (set: time passing)
    result = pick_next_page(assignment=assignment, reviewer=reviewer)
    assert (result.page_id, result.source) == (ids[3], "postgres")
    assert (assignment.pk, reviewer.pk) in STATE.nothing_left  # still the earlier entry, expired
    assert STATE.nothing_left[(assignment.pk, reviewer.pk)] < clock.now()


def test_reset_state_forgets_the_breaker_and_the_caches(settings, reviewer):
    settings.PICKER_RESERVATION_SECONDS = 60
    assignment, _ = _finished_for(reviewer)
    pick_next_page(assignment=assignment, reviewer=reviewer)
    STATE.redis_dead_until = clock.now() + 60
    assert STATE.nothing_left and STATE.ranges
    picker.reset_state()
    assert (STATE.redis_dead_until, STATE.nothing_left, STATE.ranges, len(STATE.pg_recent)) == (
        0.0,
        {},
        {},
        0,
    )
    assert redis_source.redis_client() is not None  # the breaker is closed again
