"""The visitor's address comes from X-Forwarded-For / X-Real-IP only when the request came from
a configured trusted proxy (TRUSTED_PROXIES); anyone else's headers are ignored."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from lib.ratelimit import client_address


def request(remote: str, **headers):
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


def test_without_trusted_proxies_headers_are_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_address(request("198.51.100.1", HTTP_X_FORWARDED_FOR="203.0.113.5")) == "198.51.100.1"
    assert client_address(request("198.51.100.1", HTTP_X_REAL_IP="203.0.113.5")) == "198.51.100.1"


def test_a_client_that_is_not_the_proxy_cannot_pick_its_address(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    forged = request("198.51.100.1", HTTP_X_FORWARDED_FOR="203.0.113.5", HTTP_X_REAL_IP="203.0.113.6")
    assert client_address(forged) == "198.51.100.1"


def test_behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_visitor(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "172.16.0.5"]
    # The visitor prepended a forged hop; nginx appended the real one; a second proxy too.
    via = request("10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5, 172.16.0.5")
    assert client_address(via) == "203.0.113.5"
    assert client_address(request("10.0.0.2", HTTP_X_REAL_IP="203.0.113.7")) == "203.0.113.7"
    # Nothing usable in the headers: the proxy's own address (counted, never a free pass).
    assert client_address(request("10.0.0.2")) == "10.0.0.2"
    assert client_address(request("10.0.0.2", HTTP_X_FORWARDED_FOR="garbage")) == "10.0.0.2"


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.3", "198.51.100.3"),
    ],
)
def test_ipv6_addresses_count_per_64_network(settings, remote, expected):
    """One subscriber holds a whole /64: counting single addresses would give a fresh one per post."""
    settings.TRUSTED_PROXIES = []
    assert client_address(request(remote)) == expected
