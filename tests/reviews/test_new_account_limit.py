"""New anonymous accounts are limited per address per hour (RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR),
counted in Redis across processes: dropping the session cookie and minting a fresh CSRF cookie
per post no longer creates accounts by the thousand."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from lib import ratelimit as limiter
from lib.redis_client import reset_redis
from reviews.models import Review
from tests import factories

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def page(tags):
    document = factories.make_document(pages=1)
    factories.make_assignment(documents=[document])
    return document.pages.get()


def fresh_visitor_post(page, address="203.0.113.20", **extra):
    """A new browser every time: no session cookie, a fresh CSRF cookie (the probe's attack)."""
    return Client(REMOTE_ADDR=address, **extra).post(f"/review/{page.pk}/", {"action": "submit"})


def test_an_address_gets_only_its_hourly_allowance_of_new_accounts(page, settings):
    settings.RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR = 3
    statuses = [fresh_visitor_post(page).status_code for _ in range(6)]
    assert statuses == [302, 302, 302, 429, 429, 429]
    assert User.objects.count() == 3 and Review.objects.count() == 3
    refused = fresh_visitor_post(page)
    assert "Too many new accounts" in refused.content.decode()
    assert int(refused["Retry-After"]) > 60  # an hourly limit: not a minute's wait
    # Another address is not affected; an existing session is not a new account.
    assert fresh_visitor_post(page, address="203.0.113.21").status_code == 302


def test_the_limit_is_shared_by_processes_through_redis(page, settings):
    settings.RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR = 2
    assert fresh_visitor_post(page).status_code == 302
    limiter.reset_local_counters()  # "another process": only Redis remembers the first
    assert fresh_visitor_post(page).status_code == 302
    limiter.reset_local_counters()
    assert fresh_visitor_post(page).status_code == 429


def test_behind_a_trusted_proxy_each_visitor_has_their_own_allowance(page, settings):
    settings.RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR = 1
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    via_proxy = {"address": "10.0.0.1"}
    assert fresh_visitor_post(page, **via_proxy, HTTP_X_FORWARDED_FOR="203.0.113.30").status_code == 302
    assert fresh_visitor_post(page, **via_proxy, HTTP_X_FORWARDED_FOR="203.0.113.31").status_code == 302
    assert fresh_visitor_post(page, **via_proxy, HTTP_X_FORWARDED_FOR="203.0.113.31").status_code == 429
    # A client not behind the proxy cannot claim another address by setting the header.
    assert (
        fresh_visitor_post(page, address="198.51.100.40", HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 302
    )
    assert (
        fresh_visitor_post(page, address="198.51.100.40", HTTP_X_FORWARDED_FOR="1.1.1.2").status_code == 429
    )


def test_with_redis_down_each_process_still_bounds_new_accounts(page, settings, tmp_path):
    settings.RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR = 2
    settings.REDIS_URL = f"unix://{tmp_path}/no-redis-here.sock?db=0"
    reset_redis()
    limiter.reset_local_counters()
    try:
        assert [fresh_visitor_post(page).status_code for _ in range(4)] == [302, 302, 429, 429]
    finally:
        reset_redis()
        limiter.reset_local_counters()
    assert User.objects.count() == 2
