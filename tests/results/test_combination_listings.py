"""Party, member, document, assignment and user + tag listings narrow to their pages."""

from __future__ import annotations

import pytest

from tests import factories
from tests.results._support import listed_page_ids, pages_of, review


@pytest.fixture
def tagged(release, tags):
    """The first page of every document tagged "receipt" once."""
    firsts = {name: pages_of(doc)[0] for name, doc in release["docs"].items()}
    for page in firsts.values():
        review(page, "receipt")
    return firsts


@pytest.mark.parametrize("order", ["", "in-order/"])
def test_party_member_and_document_narrow_the_listing(client, release, tagged, order):
    red = release["parties"]["red"]
    ids = listed_page_ids(client.get(f"/{order}parties/{red.slug}/tags/receipt/").content.decode())
    assert sorted(ids) == sorted([tagged["ann"].pk, tagged["bob"].pk])
    cat = release["members"]["cat"]
    ids = listed_page_ids(client.get(f"/{order}members/{cat.slug}/tags/receipt/").content.decode())
    assert ids == [tagged["cat"].pk]
    doc = release["docs"]["orphan"]
    ids = listed_page_ids(client.get(f"/{order}documents/{doc.pk}/tags/receipt/").content.decode())
    assert ids == [tagged["orphan"].pk]


def test_assignment_listing_uses_the_assignments_pages(client, release, tagged):
    a = factories.make_assignment(
        parties=[release["parties"]["blue"]], documents=[release["docs"]["orphan"]], slug="blue-and-orphans"
    )
    ids = listed_page_ids(client.get(f"/assignments/{a.slug}/tags/receipt/").content.decode())
    assert sorted(ids) == sorted([tagged["cat"].pk, tagged["orphan"].pk])


def test_a_draft_assignment_listing_is_404_for_the_public(client, release, tagged):
    a = factories.make_assignment(documents=[release["docs"]["ann"]], active=False, slug="draft-one")
    assert client.get(f"/assignments/{a.slug}/tags/receipt/").status_code == 404


def test_unknown_scopes_are_404(client, tagged):
    for url in [
        "/parties/nope/tags/receipt/",
        "/members/nope/tags/receipt/",
        "/documents/999999/tags/receipt/",
        "/assignments/nope/tags/receipt/",
        "/users/nobody/tags/receipt/",
        "/in-order/parties/nope/tags/receipt/",
    ]:
        assert client.get(url).status_code == 404, url


def test_user_listing_is_that_users_pages_ordered_by_when_they_tagged_them(client, release, tags):
    p = pages_of(release["docs"]["ann"])
    alice = factories.make_user("alice-r")
    review(p[3], "receipt")  # someone else first: first_tagged_at of p[3] is earliest
    review(p[1], "receipt", user=alice)
    review(p[3], "receipt", user=alice)
    review(p[0], "claim-form", user=alice)  # other tag: not listed
    review(p[2], "receipt")  # not alice
    ids = listed_page_ids(client.get("/in-order/users/alice-r/tags/receipt/").content.decode())
    assert ids == [p[1].pk, p[3].pk]  # her order, not first_tagged_at order
    html = client.get("/users/alice-r/tags/receipt/").content.decode()
    assert listed_page_ids(html) == [p[3].pk, p[1].pk]  # most-tagged: p[3] has 2
    assert "2 of 2 reviewers" in html


def test_user_listing_hides_pages_below_threshold_except_to_that_user(client, release, tags):
    factories.make_assignment(documents=[release["docs"]["ann"]], threshold=2)
    p = pages_of(release["docs"]["ann"])[0]
    alice = factories.make_user("alice-t")
    review(p, "investigate-this", user=alice)
    assert listed_page_ids(client.get("/users/alice-t/tags/investigate-this/").content.decode()) == []
    client.force_login(alice)
    assert listed_page_ids(client.get("/users/alice-t/tags/investigate-this/").content.decode()) == [p.pk]


def test_index_pages_link_to_the_combination_listings(client, release, tagged):
    red = release["parties"]["red"]
    html = client.get(f"/parties/{red.slug}/").content.decode()
    assert f'href="/parties/{red.slug}/tags/receipt/"' in html
    assert f'href="/in-order/parties/{red.slug}/tags/receipt/"' in html
