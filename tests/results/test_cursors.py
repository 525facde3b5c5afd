"""Cursors are opaque and signed: malformed, forged or borrowed ones are a clear 400."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from django.core import signing

from results import cursors
from results.selectors import CURSOR_SALT
from tests.results._support import next_link, pages_of, review


@pytest.fixture
def cursor(client, release, tags, monkeypatch):
    monkeypatch.setattr("results.selectors.DEFAULT_LIMIT", 1)
    for page in pages_of(release["docs"]["ann"]):
        review(page, "receipt")
    return unquote(next_link(client.get("/in-order/tags/receipt/").content.decode()).split("after=")[1])


@pytest.mark.parametrize(
    "bad",
    ["garbage", "a" * 5000, "%00", "<script>alert(1)</script>", "eyJ0Ijoi:1:abc", "é"],
)
def test_malformed_cursors_are_400_and_not_echoed(client, cursor, bad):
    r = client.get("/in-order/tags/receipt/", {"after": bad})
    assert r.status_code == 400
    assert b"<script>alert" not in r.content
    assert b"cursor" in r.content


def test_a_forged_cursor_is_400(client, cursor, settings):
    forged = signing.dumps(["in-order|1|all", [0, 0]], salt=CURSOR_SALT, key="not-the-secret")
    r = client.get("/in-order/tags/receipt/", {"after": forged})
    assert r.status_code == 400
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    assert client.get("/in-order/tags/receipt/", {"after": tampered}).status_code == 400


def test_a_cursor_from_another_listing_is_400(client, release, cursor):
    red = release["parties"]["red"]
    for url in [
        "/in-order/tags/claim-form/",
        f"/in-order/parties/{red.slug}/tags/receipt/",
        "/tags/receipt/",  # same tag, other order
    ]:
        r = client.get(url, {"after": cursor})
        assert r.status_code == 400, url
        assert b"another listing" in r.content


def test_a_well_signed_cursor_of_the_wrong_shape_is_400(client, cursor, tags):
    identity = f"in-order|{tags['receipt'].pk}|all"
    for key in [[1], ["x", 1], [True, 1], [10**30, 1]]:
        token = cursors.encode(salt=CURSOR_SALT, identity=identity, key=key)
        assert client.get("/in-order/tags/receipt/", {"after": token}).status_code == 400, key


def test_the_same_cursor_works_in_the_api(client, cursor):
    r = client.get("/api/listings/receipt/", {"order": "in-order", "after": cursor})
    assert r.status_code == 200
    assert len(r.json()["results"]) == 1
