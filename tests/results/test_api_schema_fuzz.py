"""Schema-driven fuzzing of the API with our own hostile values (NUL bytes, script, huge numbers),
beside schemathesis (test_api_schemathesis.py): every GET operation of /api/schema/ is called
with generated path and query parameters, valid by the schema's types or hostile; no answer is a
5xx, and every 200 validates against the response schema the API publishes."""

from __future__ import annotations

import copy

import jsonschema
import pytest
import yaml
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from tests.faults._fuzz import FUZZ, HOSTILE, row_counts
from tests.results._support import pages_of, review

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client, release, tags, settings):
    settings.RATE_LIMIT_API_ANON_PER_MINUTE = 10**6
    for page in pages_of(release["docs"]["ann"])[:3]:
        review(page, "receipt")
    return yaml.safe_load(client.get("/api/schema/").content)


def _json_schema(node):
    """OpenAPI 3.0 -> JSON Schema: ``nullable: true`` becomes a null alternative."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _json_schema(v) for k, v in node.items()}
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


def value_for(param_schema: dict):
    kind = param_schema.get("type")
    typed = {
        "integer": st.integers(min_value=-5, max_value=10**6).map(str),
        "number": st.floats(allow_nan=False, allow_infinity=False, width=32).map(str),
        "boolean": st.sampled_from(["true", "false"]),
    }.get(kind, st.text(max_size=30))
    if "enum" in param_schema:
        typed = st.sampled_from([str(v) for v in param_schema["enum"]])
    return st.one_of(typed, HOSTILE, st.sampled_from(["receipt", "1", "ann-red", "red"]))


@st.composite
def calls(draw, schema):
    path = draw(st.sampled_from(sorted(p for p, ops in schema["paths"].items() if "get" in ops)))
    operation = schema["paths"][path]["get"]
    url, query = path, {}
    for param in operation.get("parameters", []):
        value = draw(value_for(param.get("schema", {})))
        if param["in"] == "path":
            url = url.replace("{" + param["name"] + "}", value.replace("/", "_") or "x")
        elif param["in"] == "query" and draw(st.booleans()):
            query[param["name"]] = value
    return path, url, query


def test_every_get_operation_answers_within_the_schema(schema):
    components = _json_schema(schema.get("components", {}))

    @FUZZ
    @given(call=calls(schema))
    def probe(call):
        path, url, query = call
        before = row_counts()
        response = Client().get(url, query)
        assert response.status_code < 500, (url, query, response.status_code)
        assert row_counts() == before
        if response.status_code != 200 or path == "/api/schema/":
            return
        content = schema["paths"][path]["get"]["responses"].get("200", {}).get("content", {})
        if "application/json" not in content:
            return
        wanted = _json_schema(copy.deepcopy(content["application/json"]["schema"]))
        jsonschema.validate(response.json(), {**wanted, "components": components})

    probe()
