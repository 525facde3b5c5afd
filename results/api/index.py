"""The API's front door: ``/api/`` and ``/api/docs/`` list every endpoint with a link and a
sentence, from the OpenAPI schema (its descriptions and examples: ``results.api.schema``).

``/api/`` answers JSON (the API's content type) unless the client asks for HTML first, as a
browser does; ``/api/docs/`` is always the HTML page. Neither needs a script (the CSP stays strict).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe
from drf_spectacular.generators import SchemaGenerator


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the template: /api/pages/{id}/
    link: str  # something to follow: the path itself, or an example when it has parameters
    description: str
    example: str
    params: tuple[str, ...]


@functools.cache
def _schema() -> dict:
    # The schema depends on the code alone: built once per process.
    return SchemaGenerator().get_schema(request=None, public=True)


def title() -> str:
    return _schema()["info"]["title"]


def endpoints() -> list[Endpoint]:
    found = []
    for path, operations in sorted(_schema().get("paths", {}).items()):
        for method, op in operations.items():
            samples = op.get("x-codeSamples") or [{}]
            example = samples[0].get("source", "").removeprefix("curl '").removesuffix("'")
            found.append(
                Endpoint(
                    method=method.upper(),
                    path=path,
                    link=path if "{" not in path else example,
                    description=(op.get("description") or op.get("summary") or "").strip(),
                    example=example,
                    params=tuple(p["name"] for p in op.get("parameters", []) if p.get("in") == "query"),
                )
            )
    return found


def _wants_html(request) -> bool:
    """A browser lists text/html before any JSON type; API clients ask for JSON or anything."""
    accept = request.headers.get("Accept", "")
    html, json = accept.find("text/html"), accept.find("application/json")
    return html >= 0 and (json < 0 or html < json)


def _page(request):
    return render(
        request,
        "results/api_docs.html",
        {"endpoints": endpoints(), "title": title(), "schema_url": reverse("api-schema")},
    )


@require_safe
def root(request):
    if _wants_html(request):
        return _page(request)
    return JsonResponse(
        {
            "title": title(),
            "docs": request.build_absolute_uri(reverse("api-docs")),
            "schema": request.build_absolute_uri(reverse("api-schema")),
            "endpoints": [
                {**asdict(e), "link": request.build_absolute_uri(e.link), "params": list(e.params)}
                for e in endpoints()
            ],
        },
        json_dumps_params={"indent": 2},
    )


@require_safe
def docs(request):
    return _page(request)
