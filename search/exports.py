"""The streamed export of a search: every matching page's text and tags, CSV or JSON lines.

Streaming: matching pages come in page-id order in keyset batches of ``BATCH`` (one query each, plus one for
their texts and one for their tags), so the web process holds one batch at a time however many
pages match. Tags are the counts the viewer may see (the public's: listed tags, quarantined
reviewers left out, as on listings). CSV cells starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return get a leading ``'``: a page's text is untrusted and a spreadsheet would
otherwise run it as a formula (CSV injection).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction

from django.http import StreamingHttpResponse

from catalogue.models import Page
from lib import csv_safe
from results.exports import page_fields
from results.params import BadRequest
from results.selectors import Viewer
from reviews.models import PageTag
from search import selectors
from search.models import PageText
from search.query import ParsedQuery

BATCH = 500
COLUMNS = [
    "page_id",
    "page_url",
    "document_id",
    "document_title",
    "page_number",
    "member",
    "party",
    "tags",
    "confidence",
    "text",
]


def _records(parsed: ParsedQuery, *, viewer: Viewer, min_agreement: Fraction | None) -> Iterator[dict]:
    for ids in selectors.matching_page_batches(
        parsed, viewer=viewer, min_agreement=min_agreement, batch=BATCH
    ):
        pages = Page.objects.select_related("document__member__party").in_bulk(ids)
        texts = dict(PageText.objects.filter(page_id__in=ids).values_list("page_id", "text"))
        tags: dict[int, dict[str, int]] = {}
        confidence: dict[int, dict[str, float | None]] = {}  # consensus: beside each tag's count
        tag_rows = PageTag.objects.filter(page_id__in=ids, count__gt=0, tag__active=True)
        if not viewer.is_staff:
            tag_rows = tag_rows.filter(listed_at__isnull=False)
        for page_id, slug, count, sure in tag_rows.values_list(
            "page_id", "tag__slug", "count", "confidence"
        ).order_by("tag__slug"):
            tags.setdefault(page_id, {})[slug] = count
            confidence.setdefault(page_id, {})[slug] = sure
        for page_id in ids:
            page = pages.get(page_id)
            if page is None:
                continue
            yield {
                **page_fields(page),
                "tags": tags.get(page_id, {}),
                "confidence": confidence.get(page_id, {}),
                "text": texts.get(page_id, ""),
            }


def _csv_lines(records: Iterator[dict]) -> Iterator[str]:
    writer = csv_safe.line_writer()  # cells a spreadsheet would run as formulas get a leading '
    yield writer.writerow(COLUMNS)
    for record in records:
        record = {
            **record,
            "tags": " ".join(f"{slug}:{n}" for slug, n in record["tags"].items()),
            "confidence": " ".join(
                f"{slug}:{'' if c is None else c}" for slug, c in record["confidence"].items()
            ),
        }
        yield writer.writerow([record[c] for c in COLUMNS])


def _jsonl_lines(records: Iterator[dict]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, ensure_ascii=False) + "\n"


def export_response(
    parsed: ParsedQuery, *, viewer: Viewer, min_agreement: Fraction | None, fmt: str
) -> StreamingHttpResponse:
    if fmt not in ("csv", "jsonl"):
        raise BadRequest("Exports come as csv or jsonl.")
    # Filters are resolved before anything streams: a bad one is a 400, not a broken download.
    selectors.check_filters(parsed, viewer=viewer, min_agreement=min_agreement)
    records = _records(parsed, viewer=viewer, min_agreement=min_agreement)
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_lines(records), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(_jsonl_lines(records), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="crowd-search.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response
