"""The review cycle's round trips to Redis and memcached, per request (the load bench's
profile: on a 2-core machine every round trip is CPU in the web process and in the server).

- the review screen: one memcached read (the session), and Redis only to reserve the following
  page whose image the browser prefetches (one round trip; none with ``REVIEW_PREFETCH_NEXT``
  off);
- a submit: one rate-limit script for all its limits, one pipeline for the after-commit
  receivers' Redis writes (``lib.redis_batch``), the reservations ending (two) and the picker
  choosing the next page (one); with the prefetch on, one more to look up the following page;
- a queued write that fails reports to its own receiver only; the others still land.
"""

import pytest
import redis
from django.test import Client

from assignments.models import Assignment
from denorm import operations, registry
from lib import keys, redis_batch
from lib.redis_client import get_redis
from reviews.models import Review
from tests import factories, round_trips

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[1, 3], ids=["page-completes", "page-needs-more"])
def release(request, tags):
    member = factories.make_member(party=factories.make_party())
    doc = factories.make_document(member=member, pages=6, title="Expenses 2008")
    factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN, threshold=request.param)
    # The picker's Redis mirrors built, as in production (not its fallback).
    operations.rebuild_entries(registry.all_entries())
    return list(doc.pages.order_by("number"))


@pytest.fixture(params=[False, True], ids=["no-prefetch", "prefetch"])
def prefetch(request, settings):
    settings.REVIEW_PREFETCH_NEXT = request.param
    return request.param


def _started(release) -> Client:
    client = Client()
    assert client.post(f"/review/{release[0].pk}/", {"action": "submit"}).status_code == 302  # the account
    return client


@pytest.mark.django_db(transaction=True)  # the first submit's receivers ran: the sets are current
def test_the_review_screen_makes_one_redis_round_trip_at_most_and_reads_memcached_once(
    release, prefetch, monkeypatch
):
    client = _started(release)
    with round_trips.counting(monkeypatch) as counts:
        assert client.get(f"/review/{release[1].pk}/").status_code == 200
    # One either way: the page's reservation made firm, and with the prefetch the following
    # page reserved in the same pipeline.
    assert counts["redis"] == 1
    assert counts["memcached"] <= 1


@pytest.mark.django_db(transaction=True)  # the receivers run after a real commit
def test_a_submit_makes_at_most_five_redis_round_trips(release, prefetch, monkeypatch):
    client = _started(release)
    with round_trips.counting(monkeypatch) as counts:
        response = client.post(f"/review/{release[1].pk}/", {"action": "submit", "tags": ["receipt"]})
    assert response.status_code == 302 and response.url.startswith("/review/")
    assert Review.objects.filter(page=release[1]).count() == 1
    # Was 7 (8 when the page completed): two rate limits, and the seen set, the leaderboards
    # (and the done and to-do sets) sent one by one. The prefetch's lookup of the following page
    # is one more.
    assert counts["redis"] <= (6 if prefetch else 5), counts
    # And what the batched writes keep current is current.
    reviewer_id = Review.objects.get(page=release[1]).reviewer_id
    assert get_redis().sismember(keys.reviewer_seen(reviewer_id), release[1].pk)


def test_an_anonymous_writes_limits_are_counted_in_one_round_trip(release, monkeypatch):
    from django.test import RequestFactory

    from reviews import ratelimit

    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
    request.session = Client().session
    request.session.save()  # a session key: the session limit and the address limit
    with round_trips.counting(monkeypatch) as counts:
        assert ratelimit.hit_anonymous_write(request, now=1_000_000 * 60 + 30) is None
    assert counts["redis"] == 1


def test_a_failed_queued_write_reports_to_its_own_receiver_and_the_others_land():
    r = get_redis()
    r.set("crowd-test:batch:a-string", "x")
    failures = {"first": [], "second": []}
    with redis_batch.batch():
        redis_batch.queue(lambda pipe: pipe.sadd("crowd-test:batch:set", 1), failures["first"].append)
        # SADD on a string: Redis answers WRONGTYPE for this command alone.
        redis_batch.queue(lambda pipe: pipe.sadd("crowd-test:batch:a-string", 1), failures["second"].append)
        redis_batch.queue(lambda pipe: pipe.sadd("crowd-test:batch:other", 2), failures["first"].append)
        assert not r.exists("crowd-test:batch:set")  # nothing sent before the batch closes
    assert failures["first"] == []
    assert len(failures["second"]) == 1 and isinstance(failures["second"][0], redis.ResponseError)
    assert r.sismember("crowd-test:batch:set", 1) and r.sismember("crowd-test:batch:other", 2)


def test_outside_a_batch_a_queued_write_is_sent_at_once():
    redis_batch.queue(lambda pipe: pipe.sadd("crowd-test:batch:now", 7), pytest.fail)
    assert get_redis().sismember("crowd-test:batch:now", 7)


def test_redis_down_reports_to_every_queued_write(settings):
    from lib.redis_client import reset_redis

    settings.REDIS_URL = "unix:///tmp/crowd-no-such-redis.sock"
    reset_redis()
    failures = []
    try:
        with redis_batch.batch():
            redis_batch.queue(lambda pipe: pipe.sadd("k1", 1), failures.append)
            redis_batch.queue(lambda pipe: pipe.sadd("k2", 1), failures.append)
    finally:
        reset_redis()
    assert len(failures) == 2 and all(isinstance(f, redis.ConnectionError) for f in failures)


@pytest.mark.django_db(transaction=True)  # the receivers run after a real commit
def test_a_fast_path_submit_waits_on_memcached_once_and_redis_eight_times_at_most(release, monkeypatch, tags):
    """The fast path's submit (static/js/review.js) also reserves the page after the next one
    and reads what the next screen shows: still a handful of round trips. The page cache's
    generation bumps (two to four a review) are sent without waiting for replies."""
    client = _started(release)
    with round_trips.counting(monkeypatch) as counts:
        response = client.post(
            f"/review/{release[1].pk}/",
            {"action": "submit", "tags": ["receipt"]},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 200 and response.json()["page"] is not None
    assert counts["memcached"] <= 1, counts  # the session
    assert counts["memcached noreply"] >= 3, counts  # counts, the page and the tag's listings
    assert counts["redis"] <= 8, counts
