"""/tags/<tag>/: pages with a tag, most-tagged first, with agreement, and only what the public may see."""

from __future__ import annotations

from tests import factories
from tests.results._support import listed_page_ids, pages_of, review


def test_it_orders_most_tagged_first_with_page_id_tie_break(client, release, tags):
    p = pages_of(release["docs"]["ann"])
    for _ in range(3):
        review(p[2], "receipt")
    review(p[1], "receipt")
    review(p[3], "receipt")
    review(p[0], "receipt")
    r = client.get("/tags/receipt/")
    assert r.status_code == 200
    # p[2] has 3; the rest have 1 each and tie: ascending page id.
    assert listed_page_ids(r.content.decode()) == [p[2].pk, p[0].pk, p[1].pk, p[3].pk]


def test_it_shows_how_many_of_the_page_reviewers_applied_the_tag(client, release, tags):
    page = pages_of(release["docs"]["cat"])[0]
    for _ in range(4):
        review(page, "receipt", "claim-form")
    review(page, "claim-form")
    html = client.get("/tags/receipt/").content.decode()
    assert "4 of 5 reviewers" in html
    assert "Cat&#x27;s claims" in html and "Cat Blue" in html
    assert f'href="/pages/{page.pk}/"' in html
    assert "thumbs/" in html  # the thumbnail


def test_it_hides_pages_below_the_public_threshold_and_says_so(client, release, tags):
    factories.make_assignment(documents=[release["docs"]["ann"]], threshold=2)
    p = pages_of(release["docs"]["ann"])
    review(p[0], "receipt")  # 1 of 2 reviews: still being reviewed
    review(p[1], "receipt")
    review(p[1])  # 2 reviews: at threshold
    html = client.get("/tags/receipt/").content.decode()
    assert listed_page_ids(html) == [p[1].pk]
    assert "Only pages whose tags are public are listed here" in html
    assert "lowest threshold of the open assignments it is in" in html


def test_each_page_is_listed_at_the_lowest_threshold_of_its_open_assignments(client, release, tags):
    """A strict assignment (5) shares Ann's document with a lenient one (2) and also holds Bob's;
    Cat's document is only in a closed one (9): Ann's page is listed at 2, Bob's at 5, Cat's at
    1 (in no open assignment). One strict assignment hides only the pages it holds alone."""
    docs = release["docs"]
    factories.make_assignment(documents=[docs["ann"]], threshold=2)
    factories.make_assignment(documents=[docs["ann"], docs["bob"]], threshold=5)
    factories.make_assignment(documents=[docs["cat"]], threshold=9, active=False)
    a, b, c = (pages_of(docs[name])[0] for name in ("ann", "bob", "cat"))
    for page in (a, b, c):
        review(page, "receipt")
    assert listed_page_ids(client.get("/tags/receipt/").content.decode()) == [c.pk]
    review(a)
    review(b)
    assert listed_page_ids(client.get("/tags/receipt/").content.decode()) == sorted([a.pk, c.pk])
    for _ in range(3):
        review(b)
    assert listed_page_ids(client.get("/tags/receipt/").content.decode()) == sorted([a.pk, b.pk, c.pk])


def test_staff_see_pages_below_threshold(client, editor, release, tags):
    factories.make_assignment(documents=[release["docs"]["ann"]], threshold=3)
    p = pages_of(release["docs"]["ann"])[0]
    review(p, "receipt")
    client.force_login(editor)
    html = client.get("/tags/receipt/").content.decode()
    assert listed_page_ids(html) == [p.pk]
    assert "You are staff" in html


def test_a_reviewer_does_not_see_others_answers_on_a_page_below_threshold(client, release, tags):
    factories.make_assignment(documents=[release["docs"]["ann"]], threshold=2)
    p = pages_of(release["docs"]["ann"])[0]
    review(p, "investigate-this")
    someone = factories.make_user("still-to-review")
    client.force_login(someone)
    assert listed_page_ids(client.get("/tags/investigate-this/").content.decode()) == []
    assert client.get("/in-order/tags/investigate-this/").content.decode().count("/pages/") == 0


def test_inactive_and_unknown_tags_are_404_for_the_public(client, release, tags):
    assert client.get("/tags/retired/").status_code == 404
    assert client.get("/tags/no-such-tag/").status_code == 404
    assert client.get("/in-order/tags/no-such-tag/").status_code == 404


def test_the_tag_index_links_each_active_tag(client, tags):
    html = client.get("/tags/").content.decode()
    assert 'href="/tags/receipt/"' in html and 'href="/in-order/tags/receipt/"' in html
    assert "/tags/retired/" not in html
