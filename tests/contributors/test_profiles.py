"""Profiles (/users/<name>/): review count, rank, discoveries credited, and the reviewer's pages
in tag buckets with a few thumbnails linking to /users/<name>/tags/<tag>/. Hidden answers do not
leak (issue 14, item 4): anyone but the reviewer and staff sees only the reviews of pages whose
tags are public, the rule of /pages/<id>/ and of the listings the buckets link to."""

import re

import pytest

from contributors import selectors
from tests import factories
from tests.contributors._support import build, review

pytestmark = pytest.mark.django_db


def buckets(body: str) -> dict[str, str]:
    return dict(
        re.findall(
            r'data-tag="([^"]*)">\s*<h2[^>]*>(?:<a[^>]*>)?[^<]*(?:</a>)? <span class="count">(\d+)', body
        )
    )


@pytest.fixture
def world(db, tags, reviewer, reviewer2):
    """alice reviewed 6 pages. Pages 0-4 reached the threshold of 2 (bob reviewed them too);
    page 5 did not, and alice's tags on it (hand-written) are still hidden from the public."""
    doc = factories.make_document(pages=6)
    factories.make_assignment(documents=[doc], threshold=2)
    pages = list(doc.pages.order_by("number"))
    build()
    for page in pages[:5]:
        review(reviewer, page, "receipt", *(["claim-form"] if page.number <= 2 else []))
        review(reviewer2, page)
    review(reviewer, pages[5], "hand-written")
    return pages


def test_the_profile_groups_pages_in_tag_buckets_with_thumbnails_and_links(client, world, reviewer):
    body = client.get("/users/alice/").content.decode()
    assert buckets(body) == {"receipt": "5", "claim-form": "2"}
    assert 'href="/users/alice/tags/receipt/"' in body and 'href="/users/alice/tags/claim-form/"' in body
    receipt = body[body.index('data-tag="receipt"') :]
    assert receipt[: receipt.index("</section>")].count("<img") == selectors.THUMBS_PER_BUCKET
    assert "6 pages reviewed" in body and "#1 of all reviewers" in body


def test_the_public_does_not_see_tags_of_pages_still_hidden(client, world, reviewer2):
    body = client.get("/users/alice/").content.decode()
    assert "hand-written" not in body.lower().replace(" ", "-") and f"/pages/{world[5].pk}/" not in body
    assert "1 more review of pages whose tags are shown once enough people have reviewed them" in body
    client.force_login(reviewer2)  # another reviewer, who did not review page 5
    assert "hand-written" not in buckets(client.get("/users/alice/").content.decode())


def test_the_reviewer_and_staff_see_the_whole_profile(client, world, reviewer, editor):
    for viewer in (reviewer, editor):
        client.force_login(viewer)
        body = client.get("/users/alice/").content.decode()
        assert buckets(body) == {"receipt": "5", "claim-form": "2", "hand-written": "1"}
        assert "more review" not in body


def test_nothing_of_note_has_a_bucket_without_a_listing(client, world, reviewer2):
    body = client.get("/users/bob/").content.decode()
    assert buckets(body) == {"": "5"} and "Nothing of note" in body


def test_unknown_inactive_and_nul_names_are_404(client, world, reviewer):
    reviewer.is_active = False
    reviewer.save()
    assert client.get("/users/alice/").status_code == 404
    assert client.get("/users/nobody-here/").status_code == 404
    assert client.get("/users/a%00b/").status_code == 404


def test_each_bucket_thumbnail_is_captioned_with_its_page_number(client, world, reviewer):
    """Thumbnails sit in an even grid (each in a same-sized frame) and say which page they are:
    the link's text is the document and page number, not only an image's alt text."""
    body = client.get(f"/users/{reviewer.username}/").content.decode()
    bucket = re.search(r'data-tag="claim-form">.*?<ul class="thumbs">(.*?)</ul>', body, re.S).group(1)
    items = re.findall(
        r'<li><a href="/pages/(\d+)/"[^>]*><span class="thumbs__frame"><img [^>]*alt=""[^>]*></span>'
        r'<span class="thumbs__caption"><span class="thumbs__doc">([^<]+)</span> '
        r'<span class="thumbs__page">page (\d+)</span>',
        bucket,
    )
    by_id = {p.pk: p for p in world}
    assert sorted(int(number) for _, _, number in items) == [1, 2]
    for page_id, title, number in items:
        assert by_id[int(page_id)].number == int(number) and by_id[int(page_id)].document.title == title
