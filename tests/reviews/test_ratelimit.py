"""Anonymous writes are limited per session and per address, with a friendly 429; claimed
reviewers are not limited; a Redis outage lets reviews through (fail open).

The limits count in fixed one-minute windows of the wall clock. No test here reads that clock:
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
    return list(factories.make_document(pages=8).pages.order_by("number"))


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
    assert response["Retry-After"] == "30"  # the window ends in 30 seconds
    assert not Review.objects.filter(page=pages[3]).exists()
    assert Review.objects.count() == 2


def test_it_limits_anonymous_writes_per_address(pages, settings, clock):
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 3
    clients = [Client(REMOTE_ADDR="203.0.113.9") for _ in range(4)]
    statuses = [post(c, pages[i]).status_code for i, c in enumerate(clients)]
    assert statuses == [302, 302, 302, 429]
    assert get_user_model().objects.count() == 3  # the refused visitor got no account either
    assert post(Client(REMOTE_ADDR="203.0.113.10"), pages[5]).status_code == 302


def test_a_limited_visitor_may_write_again_in_the_next_window(client, pages, settings, clock):
    settings.RATE_LIMIT_SESSION_PER_MINUTE = 1
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 2
    assert post(client, pages[0]).status_code == 302
    assert post(client, pages[1]).status_code == 302
    clock.now = WINDOW_START + 59.999  # the last instant of the window: still limited
    response = post(client, pages[2])
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    clock.now = WINDOW_START + 60  # the first instant of the next window
    assert post(client, pages[2]).status_code == 302
    assert Review.objects.filter(page=pages[2]).count() == 1


def test_it_does_not_limit_claimed_reviewers(client, pages, reviewer, settings, clock):
    settings.RATE_LIMIT_SESSION_PER_MINUTE = 1
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 1
    Reviewer.objects.create(user=reviewer, anonymous=False)
    client.force_login(reviewer)
    assert [post(client, p).status_code for p in pages[:4]] == [302] * 4


def test_the_window_starts_again_the_next_minute(settings):
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 1
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.7")
    assert ratelimit.hit_anonymous_write(request, now=WINDOW_START + 1) is None
    limited = ratelimit.hit_anonymous_write(request, now=WINDOW_START + 50)
    assert limited is not None and limited.scope == "address" and limited.retry_after == 10
    assert ratelimit.hit_anonymous_write(request, now=WINDOW_START + 61) is None


def test_hits_either_side_of_a_window_boundary_count_in_their_own_windows(settings):
    """Hits at the end of one window fill that window only; the next starts from zero at its
    first instant, and its hits do not count against the one before."""
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 2
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.8")
    end, start_of_next = WINDOW_START + 59.999, WINDOW_START + 60
    hit = ratelimit.hit_anonymous_write
    assert hit(request, now=WINDOW_START + 59) is None
    assert hit(request, now=end) is None
    late = hit(request, now=end)
    assert late is not None and late.retry_after == 1  # never 0: a client must wait a little
    assert hit(request, now=start_of_next) is None
    assert hit(request, now=start_of_next + 0.5) is None
    early = hit(request, now=start_of_next + 1)
    assert early is not None and early.retry_after == 59
    # A slow node's clock still in the previous window finds that window's own count.
    assert hit(request, now=end) is not None


def test_it_fails_open_when_redis_is_down(client, pages, settings, tmp_path):
    settings.RATE_LIMIT_SESSION_PER_MINUTE = 1
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 1
    settings.REDIS_URL = f"unix://{tmp_path}/no-redis-here.sock?db=0"
    reset_redis()
    try:
        assert [post(client, p).status_code for p in pages[:3]] == [302, 302, 302]
        assert Review.objects.count() == 3
    finally:
        reset_redis()
