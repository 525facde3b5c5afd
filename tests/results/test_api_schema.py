"""/api/schema/ is a valid OpenAPI 3 document; /api/docs/ works offline."""

from __future__ import annotations

import re

import yaml
from drf_spectacular.validation import validate_schema


def test_the_schema_validates_and_documents_every_endpoint(client):
    r = client.get("/api/schema/")
    assert r.status_code == 200
    schema = yaml.safe_load(r.content)
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document
    paths = set(schema["paths"])
    for path in [
        "/api/pages/",
        "/api/pages/{id}/",
        "/api/documents/",
        "/api/members/",
        "/api/parties/",
        "/api/tags/",
        "/api/assignments/{slug}/",
        "/api/listings/{tag}/",
    ]:
        assert path in paths, path
    listing_params = {p["name"] for p in schema["paths"]["/api/listings/{tag}/"]["get"]["parameters"]}
    assert {"order", "min_agreement", "min_reviews", "after", "party", "user"} <= listing_params
    document = schema["components"]["schemas"]["Document"]["properties"]
    assert "source" not in document and "sha256" not in document


def test_the_schema_generates_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_the_docs_page_lists_endpoints_and_needs_no_cdn(client):
    r = client.get("/api/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "/api/listings/{tag}/" in html and "/api/schema/" in html
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
