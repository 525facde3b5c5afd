"""Incremental exports stay complete: a reader who starts from a full export and then follows
``?since=`` after every kind of change holds exactly what a full export gives, including rows
whose values changed without a new review (a lowered threshold, a quarantine or release, a
withdrawal or reinstatement, a re-estimation) and rows that left (tombstones)."""

from __future__ import annotations

import json

import pytest

from assignments.actions import set_assignment_threshold
from consensus import actions
from consensus.tasks import refresh_reviewed_pages
from moderation.actions.quarantine import quarantine_reviewer, release_reviewer
from moderation.actions.takedown import reinstate_page, withdraw_page
from tests import factories
from tests.consensus._support import review
from tests.denorm_support import drift, imported

pytestmark = pytest.mark.django_db(transaction=True)

VOLATILE = {"page_url"}  # the same in both: kept, compared


def _lines(response) -> list[dict]:
    return [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]


class Reader:
    """A client that took a full export and then syncs with ?since= (upserts and deletions)."""

    def __init__(self, client, path="/exports/all.jsonl", **query):
        self.client, self.path, self.query = client, path, query
        lines = _lines(client.get(path, query))
        self.rows = {(r["page_id"], r["tag"]): r for r in lines[:-1]}
        self.since = lines[-1]["next_since"]
        self.received = 0

    def sync(self) -> None:
        response = self.client.get(self.path, {**self.query, "since": self.since})
        assert response.status_code == 200
        lines = _lines(response)
        for record in lines[:-1]:
            self.received += 1
            key = (record["page_id"], record["tag"])
            if record.pop("deleted"):
                self.rows.pop(key, None)
            else:
                self.rows[key] = record
        self.since = lines[-1]["next_since"]

    def full(self) -> dict:
        return {(r["page_id"], r["tag"]): r for r in _lines(self.client.get(self.path, self.query))[:-1]}


@pytest.fixture
def world(tags, editor, settings):
    settings.RESULTS_IN_ORDER_SETTLE_SECONDS = 0
    doc = imported(None, 4)
    assignment = factories.make_assignment(documents=[doc], threshold=2)
    users = [factories.make_user(f"inc-{i}") for i in range(4)]
    pages = list(doc.pages.order_by("number"))
    review(reviewer=users[0], page_id=pages[0].pk, tag_slugs=["receipt"])
    review(reviewer=users[1], page_id=pages[0].pk, tag_slugs=["receipt", "claim-form"])
    review(reviewer=users[0], page_id=pages[1].pk, tag_slugs=["receipt"])  # 1 of 2: not public yet
    return {"pages": pages, "users": users, "assignment": assignment, "editor": editor}


def _step(world, kind: str) -> None:
    pages, users, editor = world["pages"], world["users"], world["editor"]
    match kind:
        case "new-review":
            review(reviewer=users[2], page_id=pages[0].pk, tag_slugs=[])
        case "threshold-lowered":
            set_assignment_threshold(assignment_id=world["assignment"].pk, threshold=1)
        case "quarantine":
            quarantine_reviewer(users[1], by=editor, reason="test")
        case "release":
            release_reviewer(users[1], by=editor, reason="cleared")
        case "withdrawal":
            withdraw_page(pages[0], by=editor, reason="legal")
        case "reinstatement":
            reinstate_page(pages[0], by=editor)
        case "re-estimation":
            actions.reestimate()
        case _:
            raise AssertionError(kind)
    refresh_reviewed_pages()  # the beat task, seconds later


def _before(world, kind: str) -> None:
    """What a step undoes happens before the reader's full export."""
    if kind == "release":
        quarantine_reviewer(world["users"][1], by=world["editor"], reason="test")
    elif kind == "reinstatement":
        withdraw_page(world["pages"][0], by=world["editor"], reason="legal")
    refresh_reviewed_pages()


KINDS = [
    "new-review",
    "threshold-lowered",
    "quarantine",
    "release",
    "withdrawal",
    "reinstatement",
    "re-estimation",
]


@pytest.mark.parametrize("kind", KINDS)
def test_a_reader_following_since_holds_the_full_export_after(world, client, kind):
    _before(world, kind)
    reader = Reader(client)
    before = dict(reader.rows)
    _step(world, kind)
    reader.sync()
    full = reader.full()
    assert reader.rows == full
    assert full != before, "the step changed nothing public: the test would prove nothing"
    assert drift(["public-row-changes", "page-tag-confidence"]) == {}


def test_every_kind_in_a_row_and_per_tag(world, client):
    reader, receipts = Reader(client), Reader(client, "/exports/tags/receipt.jsonl")
    for kind in KINDS:  # in this order each undoing step follows what it undoes
        _step(world, kind)
        reader.sync()
        receipts.sync()
        assert reader.rows == reader.full(), kind
        assert receipts.rows == receipts.full(), kind


def test_nothing_changed_sends_nothing(world, client):
    reader = Reader(client)
    reader.sync()
    assert reader.received == 0


def test_a_change_the_code_never_declared_is_given_its_place_by_the_periodic_check(world, client):
    """A tag deactivated in the admin sends no change of its own; the periodic check finds the
    rows that left and tombstones them, and the reader catches up."""
    from catalogue.models import Tag
    from denorm import operations

    reader = Reader(client)
    tag = Tag.objects.get(slug="claim-form")
    tag.active = False
    tag.save()
    assert "public-row-changes" in drift(["public-row-changes"])
    operations.check_and_repair(budget_seconds=60)
    reader.sync()
    assert reader.rows == reader.full()
    assert not any(t == "claim-form" for _, t in reader.rows)


def test_staff_follow_the_public_rows_with_view_public(world, client):
    """Staff's own export holds rows not public yet, which the change sequence does not follow:
    it gives no cursor, and ?since= asks for view=public; with it, staff sync like anyone."""
    client.force_login(world["editor"])
    own = _lines(client.get("/exports/all.jsonl"))
    public = _lines(client.get("/exports/all.jsonl", {"view": "public"}))
    unlisted = (world["pages"][1].pk, "receipt")  # 1 review of 2: not public yet
    assert unlisted in {(r["page_id"], r["tag"]) for r in own[:-1]}
    assert unlisted not in {(r["page_id"], r["tag"]) for r in public[:-1]}
    assert own[-1] == {"next_since": None} and public[-1]["next_since"]
    refused = client.get("/exports/all.csv", {"since": public[-1]["next_since"]})
    assert refused.status_code == 400 and b"view=public" in refused.content
    assert client.get("/exports/all.csv", {"view": "mine"}).status_code == 400
    reader = Reader(client, view="public")
    for kind in ("new-review", "threshold-lowered", "withdrawal"):
        _step(world, kind)
        reader.sync()
        assert reader.rows == reader.full(), kind
    assert unlisted in reader.rows  # the lowered threshold published it
    assert "view=public" in client.get("/exports/all.csv", {"view": "public"})["Link"]
