"""CORS (lib/cors.py): the read-only API's GETs send Access-Control-Allow-Origin: * so that a
newsroom's browser-side project can read them; nothing else does: no HTML page, no export, no
POST or other unsafe method, no request made with credentials, and never Allow-Credentials."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ORIGIN = {"HTTP_ORIGIN": "https://data.example.org"}
API_GETS = [
    "/api/",
    "/api/pages/",
    "/api/tags/",
    "/api/schema/",
    "/api/listings/receipt/",
    "/api/pages/999999/",
]


def _cors(response) -> dict[str, str]:
    return {k: v for k, v in response.items() if k.lower().startswith("access-control-")}


@pytest.mark.parametrize("url", API_GETS)
def test_the_api_s_gets_and_heads_are_readable_from_any_origin(tags, url):
    # A fresh client each time: a cross-origin script sends no cookie (credentials: "omit").
    for response in (Client().get(url, **ORIGIN), Client().head(url, **ORIGIN)):
        assert response["Access-Control-Allow-Origin"] == "*", url
        assert "Access-Control-Allow-Credentials" not in response
        assert response["Access-Control-Expose-Headers"] == "Retry-After"
    # Without an Origin header (not a cross-origin script) the same answer: no Vary needed.
    assert Client().get(url)["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("url", ["/api/", "/api/pages/", "/api/tags/receipt/"])
def test_unsafe_methods_get_no_cors_header(client, tags, method, url):
    response = getattr(client, method)(url, **ORIGIN)
    assert response.status_code in (403, 405), (method, url, response.status_code)
    assert _cors(response) == {}


@pytest.mark.parametrize(
    "url", ["/", "/assignments/", "/tags/", "/api/docs/", "/exports/all.csv", "/healthz"]
)
def test_nothing_outside_the_api_gets_cors_headers(client, tags, url):
    assert _cors(client.get(url, **ORIGIN)) == {}, url


def test_a_request_with_credentials_gets_no_cors_header(client, tags, editor):
    """Staff see more through the API than the public: an answer made with a session is never
    shared with another origin (and Allow-Credentials is never sent)."""
    assert _cors(Client().get("/api/pages/", HTTP_AUTHORIZATION="Bearer x", **ORIGIN)) == {}
    assert _cors(Client().get("/api/pages/", HTTP_COOKIE="visitor=abc", **ORIGIN)) == {}
    client.force_login(editor)
    assert _cors(client.get("/api/pages/", **ORIGIN)) == {}


def test_a_preflight_is_allowed_for_reads_only(client, tags):
    ok = client.options(
        "/api/pages/",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="accept, x-custom",
        **ORIGIN,
    )
    assert ok.status_code == 204
    assert ok["Access-Control-Allow-Origin"] == "*"
    assert ok["Access-Control-Allow-Methods"] == "GET, HEAD"
    assert ok["Access-Control-Allow-Headers"] == "accept"  # not x-custom
    assert "Access-Control-Allow-Credentials" not in ok
    for method in ("POST", "DELETE", "PUT"):
        refused = client.options("/api/pages/", HTTP_ACCESS_CONTROL_REQUEST_METHOD=method, **ORIGIN)
        assert _cors(refused) == {}, method
    outside = client.options("/assignments/", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET", **ORIGIN)
    assert _cors(outside) == {}
