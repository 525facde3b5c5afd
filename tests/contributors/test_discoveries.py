"""Discoveries: the staff-only form on /pages/<id>/, the credit rule (first highlighter, an
editor's override, a claimed account, the credited reviewer deleted), and where they appear:
the home page, /discoveries/ (newest first, cursor-paginated), the member's, party's and
document's pages and the credited reviewer's profile."""

import re

import pytest
from django.contrib.auth import get_user_model

from reviews.actions import claim_account, create_anonymous_reviewer, create_discovery
from reviews.models import Discovery
from tests import factories
from tests.contributors._support import review

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(db):
    member = factories.make_member(party=factories.make_party())
    return factories.make_document(member=member, pages=2).pages.order_by("number").first()


def test_the_page_shows_staff_a_discovery_form_and_nobody_else(client, page, editor, reviewer, tags):
    review(reviewer, page, "investigate-this")
    assert "Make this page a discovery" not in client.get(f"/pages/{page.pk}/").content.decode()
    client.force_login(reviewer)
    assert "Make this page a discovery" not in client.get(f"/pages/{page.pk}/").content.decode()
    client.force_login(editor)
    body = client.get(f"/pages/{page.pk}/").content.decode()
    assert "Make this page a discovery" in body and "(alice)" in body
    response = client.post(f"/pages/{page.pk}/discovery/", {"title": "Duck house", "note": "£1,645"})
    assert response.status_code == 302
    discovery = Discovery.objects.get()
    assert (discovery.credited, discovery.created_by) == (reviewer, editor)
    body = client.get(f"/pages/{page.pk}/").content.decode()
    assert (
        "Duck house" in body and "First highlighted by" in body and "Make this page a discovery" not in body
    )


def test_a_claimed_account_keeps_its_credit_under_its_new_name(client, page, tags):
    anon = create_anonymous_reviewer()
    review(anon, page, "investigate-this")
    create_discovery(page_id=page.pk, title="Moat")
    claim_account(user=anon, username="moat-finder", password="a-long-pass-phrase-9")
    body = client.get("/").content.decode()
    assert "moat-finder" in body and anon.username not in body
    assert "Moat" in client.get("/users/moat-finder/").content.decode()


def test_a_deleted_credited_reviewer_leaves_the_discovery_credited_to_nobody(client, page, reviewer, tags):
    review(reviewer, page, "investigate-this")
    create_discovery(page_id=page.pk, title="Moat")
    get_user_model().objects.filter(pk=reviewer.pk).delete()
    discovery = Discovery.objects.get()
    assert discovery.credited is None
    body = client.get("/").content.decode()
    assert "Moat" in body and "alice" not in body
    assert client.get("/discoveries/").status_code == 200


def test_discoveries_appear_on_the_owners_pages_and_the_profile(client, page, reviewer, tags):
    review(reviewer, page, "investigate-this")
    create_discovery(page_id=page.pk, title="Second home flipping")
    member = page.document.member
    for url in (
        "/",
        "/discoveries/",
        f"/members/{member.slug}/",
        f"/parties/{member.party.slug}/",
        f"/documents/{page.document_id}/",
        f"/users/{reviewer.username}/",
    ):
        body = client.get(url).content.decode()
        assert "Second home flipping" in body, url
    other = factories.make_member()
    assert "Second home flipping" not in client.get(f"/members/{other.slug}/").content.decode()


def test_the_discoveries_list_pages_newest_first_with_a_cursor(client, settings):
    pages = list(factories.make_document(pages=55).pages.order_by("number"))
    for i, page in enumerate(pages):
        create_discovery(page_id=page.pk, title=f"Find {i:02d}")
    seen, url = [], "/discoveries/"
    while url:
        body = client.get(url).content.decode()
        seen += re.findall(r"<strong>(Find \d+)</strong>", body)
        found = re.search(r'href="(/discoveries/\?after=[^"]+)" rel="next"', body)
        url = found.group(1).replace("&amp;", "&") if found else None
        create_discovery(page_id=factories.make_document(pages=1).pages.get().pk, title="Newer")
    assert seen == [f"Find {i:02d}" for i in range(54, -1, -1)]  # none missed or repeated
    assert client.get("/discoveries/?after=forged").status_code == 400
