"""Streamed CSV and JSON-lines exports of pages with their tags, counts and agreement.

Streaming: the response is a generator over ``QuerySet.iterator(chunk_size=...)``, which on
Postgres is a server-side cursor: the web process holds one chunk of rows at a time, however
large the export.

Incremental (``?since=<cursor>``, issue 25): a row's public values change without a new review
too (a threshold lowered, a quarantine or release, a withdrawal or reinstatement, a confidence
re-estimated), so the cursor is a place in the change sequence of public rows
(``consensus.models.PublicRow``, registry entry ``public-row-changes``), not a review id.
``?since=`` sends every row that changed after the cursor, in sequence order: the row as it is
now (``deleted`` false), or a tombstone (``deleted`` true: it left the export, or no longer passes
the reader's filters). Rows are upserts and deletions keyed by ``page_id`` + ``tag``: a reader
who applies them holds exactly what a full export gives (see ``consensus.incremental``). The next
cursor is sent in the ``X-Next-Since`` header and a ``Link: rel="next"`` header (and, in JSON
lines, as the last line); a full export sends one too.

The change sequence holds the public's rows, so only a public export can be followed. Staff's
own export also holds rows not public yet (pages below their threshold, embargoed documents),
whose changes the sequence does not record: it sends no cursor (``next_since`` null), and staff
asking for ``?since=`` are told to add ``?view=public``, which gives them the public's export,
cursor and all, so that a staff reader who syncs holds exactly what that full export gives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse

from catalogue.models import Tag
from consensus import incremental
from lib import csv_safe
from results import cursors, selectors
from results.params import BadRequest, Filters, parse_filters
from reviews.models import PageTag

# v2: cursors are places in the change sequence (v1 counted review ids: refused, take a full export).
EXPORT_SALT = "results.export.v2"
# Rows fetched per round trip of the server-side cursor: the memory the export holds at once.
EXPORT_CHUNK_ROWS = 2000

COLUMNS = [
    "page_id",
    "page_url",
    "document_id",
    "document_title",
    "page_number",
    "member",
    "party",
    "tag",
    "count",
    "reviews",
    "agreement",
    "confidence",
    "first_tagged_at",
]


def _identity(tag: Tag | None) -> str:
    return f"export|{tag.pk if tag else '*'}"


def parse_since(raw: str | None, *, tag: Tag | None) -> int | None:
    if not raw:
        return None
    return cursors.decode(raw, salt=EXPORT_SALT, identity=_identity(tag), size=1)[0]


def next_since_token(high: int, *, tag: Tag | None) -> str:
    return cursors.encode(salt=EXPORT_SALT, identity=_identity(tag), key=[high])


def high_water_mark() -> int:
    """The last place in the change sequence (see the module docstring)."""
    return incremental.high_water_mark()


def export_queryset(*, viewer: selectors.Viewer, tag: Tag | None, filters: Filters) -> QuerySet:
    """The full export's rows (an incremental one reads the change sequence instead)."""
    qs = selectors.visible_pagetags(viewer=viewer, filters=filters)
    if tag is not None:
        qs = qs.filter(tag=tag)
    return qs.select_related("page__document__member__party", "tag").order_by("page_id", "tag_id")


def page_fields(page) -> dict:
    """The columns that say which page a row is about, shared by every export (the search
    app's too): the page with its document, member and party loaded."""
    member = page.document.member
    return {
        "page_id": page.pk,
        "page_url": page.get_absolute_url(),
        "document_id": page.document_id,
        "document_title": page.document.title,
        "page_number": page.number,
        "member": member.slug if member else None,
        "party": member.party.slug if member and member.party else None,
    }


def _record(pt: PageTag) -> dict:
    page = pt.page
    return {
        **page_fields(page),
        "tag": pt.tag.slug,
        "count": pt.count,
        "reviews": page.review_count,
        "agreement": round(pt.count / page.review_count, 4) if page.review_count else 0.0,
        # consensus: the posterior that the tag applies (None for the instant before it is computed)
        "confidence": pt.confidence,
        "first_tagged_at": pt.first_tagged_at.isoformat(),
    }


def _csv_lines(records: Iterator[dict], columns: list[str]) -> Iterator[str]:
    writer = csv_safe.line_writer()  # cells a spreadsheet would run get a leading '
    yield writer.writerow(columns)
    for record in records:
        yield writer.writerow(["" if record.get(c) is None else record[c] for c in columns])


def _jsonl_lines(records: Iterator[dict], next_since: str | None) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, ensure_ascii=False) + "\n"
    yield json.dumps({"next_since": next_since}) + "\n"


def export_response(request: HttpRequest, *, tag: Tag | None, fmt: str) -> StreamingHttpResponse:
    """The streamed export; ``BadRequest`` for bad filters or cursors (before anything streams)."""
    if fmt not in ("csv", "jsonl"):
        raise BadRequest("Exports come as csv or jsonl.")
    viewer = selectors.viewer_for(request.user)
    view = request.GET.get("view", "")
    if view not in ("", "public"):
        raise BadRequest("view is public or left out (your own view).")
    if view == "public":
        viewer = selectors.PUBLIC_VIEWER
    filters = parse_filters(request.GET)
    since = parse_since(request.GET.get("since"), tag=tag)
    followable = not viewer.is_staff  # the change sequence holds the public's rows only
    if since is not None and not followable:
        raise BadRequest(
            "Incremental exports follow the public's rows: add view=public, to this request and to "
            "the full export you started from."
        )
    # Read before the rows: a change that takes its place meanwhile is sent (again) next time.
    high = high_water_mark()
    if since is not None and since > high:
        high = since  # nothing new yet: keep the reader's position
    token = next_since_token(high, tag=tag) if followable else None
    columns = COLUMNS
    records: Iterator[dict]
    if since is None:
        rows = export_queryset(viewer=viewer, tag=tag, filters=filters).iterator(chunk_size=EXPORT_CHUNK_ROWS)
        records = (_record(pt) for pt in rows)
    else:
        columns = [*COLUMNS, "deleted"]  # incremental: tombstones for rows that left
        records = incremental.changed_records(
            since=since, high=high, tag_id=tag.pk if tag else None, filters=filters, page_fields=page_fields
        )
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_lines(records, columns), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(_jsonl_lines(records, token), content_type="application/x-ndjson")
    name = f"crowd-{tag.slug if tag else 'all'}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    if token is not None:
        response["X-Next-Since"] = token
        path = reverse("export-tag", args=[tag.slug, fmt]) if tag else reverse("export-all", args=[fmt])
        query = {**filters.as_query(), **({"view": view} if view else {}), "since": token}
        response["Link"] = f'<{path}?{urlencode(query)}>; rel="next"'
    response["Cache-Control"] = "no-store"
    return response
