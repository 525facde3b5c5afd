"""Anonymous writes are limited per session and per address, with a friendly 429; claimed
reviewers are not limited; a Redis outage falls back to per-process counting.

The limits count in sliding one-minute windows (lib.ratelimit). No test here reads that clock:
the view tests set the rate limiter's clock (``clock``) to a chosen instant, and the window tests
pass ``now`` explicitly, so a run that crosses a minute boundary cannot split a test's hits over
two windows."""

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from lib.redis_client import reset_redis
from reviews import ratelimit
from reviews.models import Review, Reviewer
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(tags):
    document = factories.make_document(pages=8)
    factories.make_assignment(documents=[document])
    return list(document.pages.order_by("number"))


# The start of a one-minute window, far from today's (its Redis keys are its own).
WINDOW_START = 1_000_000 * 60


class Clock:
    """The rate limiter's clock in the view tests: stands still until a test moves it."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """Half way through a window: every write of a test falls in that window until it moves."""
    fixed = Clock(WINDOW_START + 30)
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=fixed.time))
    return fixed


def post(client, page, action="submit"):
    return client.post(f"/review/{page.pk}/", {"action": action, "tags": ["receipt"]})


def test_it_limits_anonymous_writes_per_session(client, pages, settings, clock):
    settings.RATE_LIMIT_SESSION_PER_MINUTE = 2
    assert post(client, pages[0]).status_code == 302  # creates the session (address counter only)
    assert post(client, pages[1]).status_code == 302
    assert post(client, pages[2], action="skip").status_code == 302
    response = post(client, pages[3])
    assert response.status_code == 429
    assert "Slow down a little" in response.content.decode()
    assert "2 pages a minute" in response.content.decode()
    assert "Nothing was recorded" in response.content.decode()
    # Two writes in this window: the next window starts at a weight of 2 and lets a third in
    # once half of it has slid by: 30 s left of this one + 30 s.
    assert response["Retry-After"] == "60"
    assert not Review.objects.filter(page=pages[3]).exists()
    assert Review.objects.count() == 2


def test_it_limits_anonymous_writes_per_address(pages, settings, clock):
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 3
    clients = [Client(REMOTE_ADDR="203.0.113.9") for _ in range(4)]
    statuses = [post(c, pages[i]).status_code for i, c in enumerate(clients)]
    assert statuses == [302, 302, 302, 429]
    assert get_user_model().objects.count() == 3  # the refused visitor got no account either
    assert post(Client(REMOTE_ADDR="203.0.113.10"), pages[5]).status_code == 302


def test_a_limited_visitor_may_write_again_as_the_window_slides(client, pages, settings, clock):
    settings.RATE_LIMIT_SESSION_PER_MINUTE = 100
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 2
    assert post(client, pages[0]).status_code == 302
    assert post(client, pages[1]).status_code == 302
    clock.now = WINDOW_START + 59.999  # the last instant of the window: still limited
    response = post(client, pages[2])
    assert response.status_code == 429
    # Two writes this window: the next window starts with 2 * (1 - f) and allows a third once
    # f >= 1/2, i.e. 30 s into it.
    assert response["Retry-After"] == "31"
    clock.now = WINDOW_START + 60 + 10  # the previous window still weighs 2 * 5/6
    assert post(client, pages[2]).status_code == 429
    clock.now = WINDOW_START + 60 + 31
    assert post(client, pages[2]).status_code == 302
    assert Review.objects.filter(page=pages[2]).count() == 1


def test_it_does_not_limit_claimed_reviewers(client, pages, reviewer, settings, clock):
    settings.RATE_LIMIT_SESSION_PER_MINUTE = 1
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 1
    Reviewer.objects.create(user=reviewer, anonymous=False)
    client.force_login(reviewer)
    assert [post(client, p).status_code for p in pages[:4]] == [302] * 4


def test_a_burst_either_side_of_a_window_boundary_cannot_pass_twice_the_limit(settings):
    """The probe's finding: with fixed windows, N hits at the end of one minute and N more at
    the start of the next all passed (2N in a few seconds). The sliding window lets N through."""
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 10
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.8")
    hit = ratelimit.hit_anonymous_write
    before = [hit(request, now=WINDOW_START + 59.5) for _ in range(10)]
    after = [hit(request, now=WINDOW_START + 60.5) for _ in range(10)]
    assert before == [None] * 10
    assert all(limited is not None and limited.scope == "address" for limited in after)
    # As the window slides, the earlier burst weighs less: one more fits after a sixth of it.
    assert hit(request, now=WINDOW_START + 60 + 6.5) is None
    assert hit(request, now=WINDOW_START + 60 + 6.6) is not None


def test_refused_hits_are_not_counted(settings):
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 1
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.9")
    hit = ratelimit.hit_anonymous_write
    assert hit(request, now=WINDOW_START + 1) is None
    for _ in range(50):
        assert hit(request, now=WINDOW_START + 2) is not None
    # Two windows later nothing remains of either the allowed hit or the 50 refused ones.
    assert hit(request, now=WINDOW_START + 120) is None


def test_the_limits_are_counted_in_redis_across_processes(settings):
    """Two web processes (two limiter states) share one count: the Redis keys hold it."""
    from lib import ratelimit as limiter

    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 3
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.10")
    for _ in range(3):
        assert ratelimit.hit_anonymous_write(request, now=WINDOW_START + 5) is None
        limiter.reset_local_counters()  # nothing of this process's memory is used
    assert ratelimit.hit_anonymous_write(request, now=WINDOW_START + 5) is not None


def test_with_redis_down_each_process_still_bounds_writes(client, pages, settings, tmp_path, clock):
    """Honest reviewers keep reviewing; a flood is bounded per process by the same limits."""
    from lib import ratelimit as limiter

    settings.RATE_LIMIT_SESSION_PER_MINUTE = 3
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 100
    settings.REDIS_URL = f"unix://{tmp_path}/no-redis-here.sock?db=0"
    reset_redis()
    limiter.reset_local_counters()
    try:
        assert [post(client, p).status_code for p in pages[:5]] == [302, 302, 302, 302, 429]
        assert Review.objects.count() == 4  # the first write had no session yet
    finally:
        reset_redis()
        limiter.reset_local_counters()
