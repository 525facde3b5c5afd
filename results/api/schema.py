"""Additions to the generated OpenAPI schema (drf-spectacular post-processing hooks)."""

from __future__ import annotations

# What every operation may answer besides its 200. DRF's errors are JSON objects: {"detail": ...}
# for a bad parameter, a missing object or the throttle; field errors map names to messages.
_ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
_ERRORS = {
    "400": "A parameter is malformed or out of range (a cursor not issued by this API, a bad filter).",
    "404": "No such object.",
    "429": "Too many requests from this address: retry after the number of seconds in Retry-After.",
}


def document_error_responses(result, generator, request, public):
    """Add the 400, 404 and 429 answers to every operation, with the error body's schema, so that
    every status the API can send is in its schema (checked by tests/results/test_api_schemathesis.py)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = _ERROR
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "head"}:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in _ERRORS.items():
                responses.setdefault(status, {"description": description, "content": reference})
    return result


# One sentence and one example request per operation (by operationId), for the schema, /api/ and
# /api/docs/. An operation without an entry falls back to its view's docstring and an example
# built from its path; one with neither fails tests/results/test_api_front_door.py. The examples
# use the demo release's names (manage.py seed_demo).
OPERATIONS: dict[str, tuple[str, str]] = {
    "assignments_list": (
        "The open assignments: sets of pages the crowd is reviewing, with each one's progress.",
        "/api/assignments/",
    ),
    "assignments_retrieve": (
        "One assignment by its slug, with its progress.",
        "/api/assignments/top-hit-list/",
    ),
    "documents_list": (
        "Every public document of the release, with its member and page count.",
        "/api/documents/",
    ),
    "documents_retrieve": (
        "One document by its id (410 once withdrawn, 404 if it never was public).",
        "/api/documents/1/",
    ),
    "listings_retrieve": (
        "Pages with a tag, most-tagged first or in the order they were first tagged, optionally "
        "narrowed to one party, member, document, assignment or reviewer.",
        "/api/listings/receipt/?order=in-order&party=oak",
    ),
    "members_list": (
        "The people whose papers are released, with their party and constituency.",
        "/api/members/",
    ),
    "members_retrieve": ("One member by their slug.", "/api/members/margaret-ellery/"),
    "pages_list": (
        "Every public page with its image and, once enough people reviewed it, its tag counts.",
        "/api/pages/",
    ),
    "pages_retrieve": ("One page by its id, with its tag counts once they are public.", "/api/pages/1/"),
    "parties_list": ("The political parties.", "/api/parties/"),
    "parties_retrieve": ("One party by its slug.", "/api/parties/oak/"),
    "schema_retrieve": (
        "This API's OpenAPI 3 schema: YAML, or JSON with ?format=json.",
        "/api/schema/?format=json",
    ),
    "search_retrieve": (
        "Full-text search over the pages' text, with the filters of the search page.",
        "/api/search/?q=mortgage&pages=all",
    ),
    "tags_list": ("The tags reviewers apply, in the editors' order, with their descriptions.", "/api/tags/"),
    "tags_retrieve": ("One tag by its slug.", "/api/tags/receipt/"),
}


def describe_operations(result, generator, request, public):
    """Give every operation its sentence (``description``) and an example request: a curl command
    in ``x-codeSamples`` (as Redoc shows it) and ``example`` values on the path parameters."""
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            entry = OPERATIONS.get(operation.get("operationId", ""))
            if entry is None:
                # Not in the table (yet): the view's docstring (drf-spectacular's description)
                # and the path with example values; the test names it if it has no docstring.
                entry = (operation.get("description", "").strip(), _example_path(path))
            description, example = entry
            operation["description"] = description
            operation["x-codeSamples"] = [{"lang": "Shell", "label": "curl", "source": f"curl '{example}'"}]
            values = _path_values(path, example.split("?", 1)[0])
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter["name"] in values:
                    parameter["example"] = values[parameter["name"]]
    return result


_EXAMPLE_VALUES = {"id": "1", "tag": "receipt"}


def _example_path(template: str) -> str:
    """``/api/things/{id}/`` -> ``/api/things/1/`` (a slug parameter gets "example")."""
    parts = []
    for part in template.split("/"):
        if part.startswith("{") and part.endswith("}"):
            part = _EXAMPLE_VALUES.get(part[1:-1], "example")
        parts.append(part)
    return "/".join(parts)


def _path_values(template: str, example: str) -> dict[str, str | int]:
    """``/api/pages/{id}/`` and ``/api/pages/1/`` -> ``{"id": 1}``."""
    values: dict[str, str | int] = {}
    for name, value in zip(template.strip("/").split("/"), example.strip("/").split("/"), strict=False):
        if name.startswith("{") and name.endswith("}"):
            values[name[1:-1]] = int(value) if value.isdigit() else value
    return values
