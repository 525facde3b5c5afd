"""/staff/activity/: reviews and skips newest first, filterable, cursor-paginated, staff only."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from reviews.actions import skip_page
from tests import factories
from tests.results._support import next_link, pages_of, review


def test_anonymous_are_sent_to_log_in_and_non_staff_get_403_and_see_nothing(client, reviewer, release, tags):
    review(pages_of(release["docs"]["ann"])[0], "receipt", user=reviewer)
    r = client.get("/staff/activity/")
    assert r.status_code == 302 and r["Location"].startswith("/account/login/?next=/staff/activity/")
    client.force_login(reviewer)
    r = client.get("/staff/activity/?tag=receipt")
    assert r.status_code == 403  # one rule for staff pages (lib.web.staff_required)
    assert b"receipt" not in r.content


def test_it_lists_reviews_and_skips_newest_first(client, editor, release, tags):
    p = pages_of(release["docs"]["ann"])
    alice = factories.make_user("alice-a")
    review(p[0], "receipt", user=alice)
    skip_page(only_open_pages=False, reviewer=alice, page_id=p[1].pk)
    review(p[2], user=alice)
    client.force_login(editor)
    html = client.get("/staff/activity/").content.decode()
    rows = html.split('<tr class="activity--')[1:]
    assert [r.split('"')[0] for r in rows] == ["review", "skip", "review"]
    assert "nothing of note" in rows[0] and "Receipt" in rows[2]
    assert "No reviewer address is recorded" in html


@pytest.fixture
def activity(release, tags):
    a = factories.make_assignment(documents=[release["docs"]["cat"]], slug="cats")
    ann, cat = pages_of(release["docs"]["ann"]), pages_of(release["docs"]["cat"])
    alice, bob = factories.make_user("alice-b"), factories.make_user("bob-b")
    from reviews.actions import submit_review

    submit_review(
        only_open_pages=False, reviewer=alice, page_id=cat[0].pk, tag_slugs=["receipt"], assignment_id=a.pk
    )
    submit_review(only_open_pages=False, reviewer=bob, page_id=ann[0].pk, tag_slugs=["claim-form"])
    skip_page(only_open_pages=False, reviewer=bob, page_id=cat[1].pk)
    skip_page(only_open_pages=False, reviewer=alice, page_id=ann[1].pk)
    return {"assignment": a, "alice": alice, "bob": bob, "ann": ann, "cat": cat}


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ({"assignment": "cats"}, {("review", "cat0"), ("skip", "cat1")}),
        ({"tag": "receipt"}, {("review", "cat0")}),
        ({"member": "ANN"}, {("review", "ann0"), ("skip", "ann1")}),
        ({"party": "BLUE"}, {("review", "cat0"), ("skip", "cat1")}),
        ({"reviewer": "bob-b"}, {("review", "ann0"), ("skip", "cat1")}),
    ],
)
def test_filters(client, editor, release, activity, param, expected):
    if "member" in param:
        param = {"member": release["members"]["ann"].slug}
    if "party" in param:
        param = {"party": release["parties"]["blue"].slug}
    pages = {f"{k}{i}": p.pk for k in ("ann", "cat") for i, p in enumerate(activity[k])}
    names = {v: k for k, v in pages.items()}
    client.force_login(editor)
    html = client.get("/staff/activity/", param).content.decode()
    got = set()
    for row in html.split('<tr class="activity--')[1:]:
        kind = row.split('"')[0]
        pid = int(row.split('href="/pages/')[1].split("/")[0])
        got.add((kind, names[pid]))
    assert got == expected


def test_it_pages_with_a_cursor_without_gaps_or_repeats(client, editor, release, tags, monkeypatch):
    monkeypatch.setattr("results.selectors.DEFAULT_LIMIT", 3)
    alice = factories.make_user("alice-c")
    pages = pages_of(release["docs"]["ann"]) + pages_of(release["docs"]["bob"])
    for i, page in enumerate(pages):
        if i % 3 == 0:
            skip_page(only_open_pages=False, reviewer=alice, page_id=page.pk)
        else:
            review(page, "receipt", user=alice)
    client.force_login(editor)
    url, seen = "/staff/activity/", []
    while url:
        html = client.get(url).content.decode()
        seen += [int(x.split("/")[0]) for x in html.split('href="/pages/')[1:]]
        url = next_link(html)
    assert seen == [p.pk for p in reversed(pages)]


@pytest.mark.parametrize(
    "params",
    [
        {"tag": "nope"},
        {"reviewer": "x" * 500},
        {"assignment": "a\x00b"},
        {"after": "junk"},
        {"after": "<script>"},
    ],
)
def test_bad_filters_are_400(client, editor, activity, params):
    client.force_login(editor)
    r = client.get("/staff/activity/", params)
    assert r.status_code == 400
    assert b"<script>" not in r.content


def test_a_listing_cursor_is_refused_here(client, editor, release, tags, monkeypatch):
    monkeypatch.setattr("results.selectors.DEFAULT_LIMIT", 1)
    for page in pages_of(release["docs"]["ann"])[:2]:
        review(page, "receipt")
    cursor = unquote(next_link(client.get("/in-order/tags/receipt/").content.decode()).split("after=")[1])
    client.force_login(editor)
    assert client.get("/staff/activity/", {"after": cursor}).status_code == 400
