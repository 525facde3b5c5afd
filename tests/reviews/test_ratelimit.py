"""Anonymous writes are limited per session and per address, with a friendly 429; claimed
reviewers are not limited; a Redis outage lets reviews through (fail open)."""

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


def post(client, page, action="submit"):
    return client.post(f"/review/{page.pk}/", {"action": action, "tags": ["receipt"]})


def test_it_limits_anonymous_writes_per_session(client, pages, settings):
    settings.RATE_LIMIT_SESSION_PER_MINUTE = 2
    assert post(client, pages[0]).status_code == 302  # creates the session (address counter only)
    assert post(client, pages[1]).status_code == 302
    assert post(client, pages[2], action="skip").status_code == 302
    response = post(client, pages[3])
    assert response.status_code == 429
    assert "Slow down a little" in response.content.decode()
    assert "2 pages a minute" in response.content.decode()
    assert "Nothing was recorded" in response.content.decode()
    assert 1 <= int(response["Retry-After"]) <= 60
    assert not Review.objects.filter(page=pages[3]).exists()
    assert Review.objects.count() == 2


def test_it_limits_anonymous_writes_per_address(pages, settings):
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 3
    clients = [Client(REMOTE_ADDR="203.0.113.9") for _ in range(4)]
    statuses = [post(c, pages[i]).status_code for i, c in enumerate(clients)]
    assert statuses == [302, 302, 302, 429]
    assert get_user_model().objects.count() == 3  # the refused visitor got no account either
    assert post(Client(REMOTE_ADDR="203.0.113.10"), pages[5]).status_code == 302


def test_it_does_not_limit_claimed_reviewers(client, pages, reviewer, settings):
    settings.RATE_LIMIT_SESSION_PER_MINUTE = 1
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 1
    Reviewer.objects.create(user=reviewer, anonymous=False)
    client.force_login(reviewer)
    assert [post(client, p).status_code for p in pages[:4]] == [302] * 4


def test_the_window_starts_again_the_next_minute(settings):
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 1
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.7")
    minute = 1_000_000 * 60
    assert ratelimit.hit_anonymous_write(request, now=minute + 1) is None
    limited = ratelimit.hit_anonymous_write(request, now=minute + 50)
    assert limited is not None and limited.scope == "address" and limited.retry_after == 10
    assert ratelimit.hit_anonymous_write(request, now=minute + 61) is None


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
