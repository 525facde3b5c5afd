"""The API's front door: /api/ lists every endpoint with a link and a sentence (JSON for clients,
the docs page for browsers); every schema operation has a description and an example; /api/docs/
links every endpoint and needs no inline script."""

from __future__ import annotations

import re

import pytest
import yaml

from results.api import index
from results.api.schema import OPERATIONS

pytestmark = pytest.mark.django_db


def _schema(client) -> dict:
    return yaml.safe_load(client.get("/api/schema/").content)


def test_every_operation_has_a_description_and_an_example(client):
    schema = _schema(client)
    # The table covers every operation there is today (new ones fall back to their docstring).
    assert {op["operationId"] for ops in schema["paths"].values() for op in ops.values()} == set(OPERATIONS)
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            assert op.get("description", "").strip(), (
                f"{method} {path}: add it to results.api.schema.OPERATIONS"
            )
            (sample,) = op["x-codeSamples"]
            example = sample["source"].removeprefix("curl '").removesuffix("'")
            # The example is a request of this very operation: its path fits the template.
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + r"(\?.*)?$"
            assert re.match(pattern, example), (path, example)
            for parameter in op.get("parameters", []):
                if parameter["in"] == "path":
                    assert "example" in parameter, (path, parameter["name"])


def test_an_operation_missing_from_the_table_gets_its_docstring_and_a_path_example():
    from results.api.schema import describe_operations

    result = {
        "paths": {
            "/api/things/{id}/": {
                "get": {
                    "operationId": "things_retrieve",
                    "description": "One thing.",
                    "parameters": [{"in": "path", "name": "id"}],
                }
            }
        }
    }
    op = describe_operations(result, None, None, True)["paths"]["/api/things/{id}/"]["get"]
    assert op["description"] == "One thing."
    assert op["x-codeSamples"][0]["source"] == "curl '/api/things/1/'"
    assert op["parameters"][0]["example"] == 1


def test_the_root_lists_every_endpoint_with_a_link_and_a_sentence_as_json(client):
    response = client.get("/api/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    listed = {(e["method"], e["path"]) for e in body["endpoints"]}
    schema = _schema(client)
    assert listed == {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    for e in body["endpoints"]:
        assert e["link"].startswith("http://testserver/api/") and "{" not in e["link"]
        assert e["description"].endswith(".")
    assert body["docs"] == "http://testserver/api/docs/"
    # A client that asks for anything (curl's */*) gets JSON too.
    assert client.get("/api/", HTTP_ACCEPT="*/*")["Content-Type"] == "application/json"


@pytest.mark.parametrize("url", ["/api/", "/api/docs/"])
def test_a_browser_gets_the_docs_page_with_a_link_for_every_endpoint(client, url):
    response = client.get(url, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert html.startswith("<!doctype html>") and "<title>API · Crowd review</title>" in html
    assert len(html) < 50_000  # one row per endpoint, nothing repeated
    rows = re.findall(r'<tr data-endpoint="([^"]+)">(.*?)</tr>', html, re.S)
    assert {path for path, _ in rows} == {e.path for e in index.endpoints()}
    for path, row in rows:
        link = re.search(r'<a href="([^"]+)"><code>', row).group(1)
        assert link.startswith("/api/") and "{" not in link, path
        description = re.search(r"</td>\s*<td>([^<]+)", row).group(1).strip()
        assert len(description) > 10, path
    assert "<script" not in html and " style=" not in html


def test_the_links_on_the_docs_page_answer(client, release, tags):
    """Following a link of the list (not those with a demo-release example) gets a 200."""
    for e in index.endpoints():
        if "{" not in e.path and e.path != "/api/search/":
            assert client.get(e.link).status_code == 200, e.link


def test_unsafe_methods_on_the_root_are_refused(client):
    assert client.post("/api/").status_code == 405
