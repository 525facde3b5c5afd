"""The page cache's key holds the scheme (and the host): a page rendered for an https request
(X-Forwarded-Proto: https from a trusted proxy) holds https links and must never be served to
an http request, which would then follow them, nor the other way round."""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

FEED = "/discoveries/feed/"  # absolute links: the scheme shows in the body


@pytest.fixture
def site(tags, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # TRUST_X_FORWARDED_PROTO
    doc = factories.make_document(pages=1)
    factories.make_assignment(documents=[doc], featured="main", slug="expenses")
    return doc


def test_an_https_copy_is_never_served_for_http(client, site):
    # A proxy sends the same Host header for both (the test client's default differs by scheme).
    client.defaults["HTTP_HOST"] = "testserver"
    poisoned = client.get(FEED, HTTP_X_FORWARDED_PROTO="https")
    assert poisoned["X-Page-Cache"] == "miss" and b'href="https://testserver/' in poisoned.content
    plain = client.get(FEED)
    assert plain["X-Page-Cache"] == "miss"  # its own copy, not the https one
    assert b'href="https://' not in plain.content and b'href="http://testserver/' in plain.content
    assert client.get(FEED)["X-Page-Cache"] == "hit"
    again = client.get(FEED, HTTP_X_FORWARDED_PROTO="https")
    assert again["X-Page-Cache"] == "hit" and b'href="https://testserver/' in again.content


def test_each_host_has_its_own_copy(client, site, settings):
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]
    assert client.get(FEED)["X-Page-Cache"] == "miss"
    other = client.get(FEED, HTTP_HOST="localhost")
    assert other["X-Page-Cache"] == "miss" and b'href="http://localhost/' in other.content
