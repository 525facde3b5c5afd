"""Streamed CSV and JSON-lines exports: content, visibility, incremental ?since=, flat memory."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from catalogue.models import Page
from results.exports import parse_since
from reviews.models import PageTag
from tests import factories
from tests.results._support import pages_of, review


def _csv(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def _jsonl(response) -> tuple[list[dict], dict]:
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    return lines[:-1], lines[-1]


def test_csv_export_of_everything_has_tags_counts_and_agreement(client, release, tags):
    p = pages_of(release["docs"]["ann"])
    review(p[0], "receipt", "claim-form")
    review(p[0], "receipt")
    r = client.get("/exports/all.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = _csv(r)
    assert [(row["page_id"], row["tag"], row["count"], row["reviews"], row["agreement"]) for row in rows] == [
        (str(p[0].pk), "receipt", "2", "2", "1.0"),
        (str(p[0].pk), "claim-form", "1", "2", "0.5"),
    ]
    assert {row["member"] for row in rows} == {release["members"]["ann"].slug}
    assert "source" not in rows[0] and "sources/" not in json.dumps(rows)


def test_per_tag_jsonl_export_ends_with_the_next_cursor(client, release, tags):
    p = pages_of(release["docs"]["bob"])
    review(p[1], "receipt")
    review(p[2], "claim-form")
    r = client.get("/exports/tags/receipt.jsonl")
    assert r["Content-Type"] == "application/x-ndjson"
    rows, trailer = _jsonl(r)
    assert [(row["page_id"], row["tag"]) for row in rows] == [(p[1].pk, "receipt")]
    assert trailer == {"next_since": r["X-Next-Since"]}
    assert r["Link"].startswith("</exports/tags/receipt.jsonl?since=")


def test_since_returns_exactly_the_pages_changed_after_the_previous_export(client, release, tags):
    p = pages_of(release["docs"]["ann"]) + pages_of(release["docs"]["cat"])
    review(p[0], "receipt")
    review(p[1], "receipt", "claim-form")
    review(p[2], "claim-form")
    first = client.get("/exports/all.csv")
    assert len(_csv(first)) == 4
    since = first["X-Next-Since"]

    review(p[1])  # agreement on p[1] changes (1 of 2 now)
    review(p[5], "receipt")  # a new page
    r = client.get("/exports/all.csv", {"since": since})
    rows = _csv(r)
    got = sorted((int(row["page_id"]), row["tag"], row["count"], row["reviews"]) for row in rows)
    assert got == sorted(
        [(p[1].pk, "receipt", "1", "2"), (p[1].pk, "claim-form", "1", "2"), (p[5].pk, "receipt", "1", "1")]
    )
    # Nothing since: empty, and the cursor stays where it was.
    again = client.get("/exports/all.csv", {"since": r["X-Next-Since"]})
    assert _csv(again) == []
    # The same place in the sequence (the token itself is signed with the time: compare places).
    assert parse_since(again["X-Next-Since"], tag=None) == parse_since(r["X-Next-Since"], tag=None) > 0


def test_since_per_tag_and_filters(client, release, tags):
    p = pages_of(release["docs"]["ann"])
    review(p[0], "receipt")
    since = client.get("/exports/tags/receipt.csv")["X-Next-Since"]
    review(p[1], "receipt")
    review(p[2], "receipt"), review(p[2])
    review(p[3], "claim-form")
    rows = _csv(client.get("/exports/tags/receipt.csv", {"since": since, "min_agreement": "1"}))
    # p[2] passed the filter (1 of 1) and then failed it (1 of 2): a reader who had it drops it.
    assert [(int(row["page_id"]), row["deleted"]) for row in rows] == [(p[1].pk, "False"), (p[2].pk, "True")]


def test_a_cursor_from_another_export_or_forged_is_400(client, release, tags):
    review(pages_of(release["docs"]["ann"])[0], "receipt")
    since = client.get("/exports/tags/receipt.csv")["X-Next-Since"]
    assert client.get("/exports/tags/claim-form.csv", {"since": since}).status_code == 400
    assert client.get("/exports/all.jsonl", {"since": since}).status_code == 400
    assert client.get("/exports/all.csv", {"since": "<script>x</script>"}).status_code == 400
    assert client.get("/exports/tags/nope.csv").status_code == 404
    assert client.get("/exports/all.xml").status_code == 404


def test_a_change_in_flight_waits_for_the_next_export(client, release, tags):
    """The cursor is read before the rows: a row whose change takes its place while an export
    streams is sent by the next one, never lost behind the cursor."""
    from consensus import incremental

    p = pages_of(release["docs"]["ann"])
    review(p[0], "receipt")
    since = client.get("/exports/all.csv")["X-Next-Since"]
    high = incremental.high_water_mark()
    review(p[1], "receipt")  # takes the next place
    assert incremental.high_water_mark() > high
    rows = _csv(client.get("/exports/all.csv", {"since": since}))
    assert [(int(r["page_id"]), r["deleted"]) for r in rows] == [(p[1].pk, "False")]


def test_exports_leave_out_pages_below_the_public_threshold(client, release, tags, editor):
    factories.make_assignment(documents=[release["docs"]["ann"]], threshold=2)
    review(pages_of(release["docs"]["ann"])[0], "investigate-this")
    assert _csv(client.get("/exports/all.csv")) == []
    client.force_login(editor)
    assert len(_csv(client.get("/exports/all.csv"))) == 1


def _bulk_tagged_pages(tag, n: int) -> None:
    """Test data only: n public pages, each with one listed PageTag row (bulk, no reviews needed)."""
    doc = factories.make_document(None, pages=0)
    pages = factories.add_pages(doc, n)
    Page.objects.filter(document=doc).update(review_count=2)
    now = timezone.now()
    PageTag.objects.bulk_create(
        PageTag(page=pg, tag=tag, count=1, first_tagged_at=now, listed_at=now) for pg in pages
    )


def _peak_while_streaming(client) -> tuple[int, int]:
    response = client.get("/exports/all.jsonl")
    assert isinstance(response, StreamingHttpResponse)
    lines = 0
    tracemalloc.start()
    try:
        for _chunk in response.streaming_content:
            lines += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return lines, peak


@pytest.mark.slow
def test_memory_stays_flat_as_the_export_grows(client, tags, monkeypatch):
    """The body is a generator over a server-side cursor fetched in chunks: ten times the rows
    must not mean ten times the memory."""
    monkeypatch.setattr("results.exports.EXPORT_CHUNK_ROWS", 100)
    _bulk_tagged_pages(tags["receipt"], 300)
    small_lines, small_peak = _peak_while_streaming(client)
    _bulk_tagged_pages(tags["claim-form"], 2700)
    big_lines, big_peak = _peak_while_streaming(client)
    assert (small_lines, big_lines) == (301, 3001)
    assert big_peak < 2 * small_peak, (small_peak, big_peak)


def test_the_body_is_produced_lazily(client, tags):
    """Headers (and the next cursor) come before any row is read: the rows are a generator."""
    _bulk_tagged_pages(tags["receipt"], 5)
    response = client.get("/exports/all.csv")
    assert response.streaming and response["X-Next-Since"]
    first = next(iter(response.streaming_content))
    assert first.startswith(b"page_id,page_url,")
