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
