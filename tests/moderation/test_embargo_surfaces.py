"""The embargo (issue 22): a document only in a draft assignment is staff-only on every surface
(HTML pages, review screen GET and POST, API detail and lists, listings, feeds, exports,
profiles, discoveries, image and thumbnail URLs, nginx's media gate), with the page cache on
and every surface warmed first. Publishing it (through a published assignment, or on its own
from the admin) makes it public at once; taking that back, or withdrawing it, hides it again.
A draft's busy and done pages are 404s for the public."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from assignments.actions import publish_assignment, unpublish_assignment
from assignments.models import Assignment
from catalogue.models import Document
from denorm import operations, registry
from moderation.actions.embargo import EmbargoError, embargo_document, publish_document
from moderation.actions.takedown import withdraw_document
from moderation.models import EmbargoDecision
from reviews.actions import create_discovery, submit_review
from reviews.models import Review
from tests import factories
from tests.moderation.conftest import write_media

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "Secret claims of Ann"


@pytest.fixture
def draft(tags, reviewer, reviewer2, media_root):
    """Party Greens > member Ann: a public document in the published assignment "expenses", and
    a fresh upload ("Secret claims of Ann", embargoed) only in the draft "embargo-prep". The
    embargoed pages were reviewed and tagged (by trusted callers: the public cannot), one is a
    discovery, so a leak would show everywhere; every copy built; image files on disk."""
    party = factories.make_party("Greens")
    member = factories.make_member(party=party, name="Ann Example")
    public = factories.make_document(member=member, pages=2, title="Receipts of Ann")
    secret = factories.make_document(member=member, pages=2, title=SECRET, published=False)
    factories.make_assignment(documents=[public], slug="expenses", featured="main")
    prep = factories.make_assignment(
        documents=[secret], slug="embargo-prep", status=Assignment.Status.DRAFT, active=False
    )
    pages = list(secret.pages.order_by("number"))
    others = list(public.pages.order_by("number"))
    for page in (pages[0], others[0]):
        submit_review(
            reviewer=reviewer,
            page_id=page.pk,
            tag_slugs=["receipt", "investigate-this"],
            only_open_pages=False,
        )
        submit_review(reviewer=reviewer2, page_id=page.pk, tag_slugs=["receipt"], only_open_pages=False)
    create_discovery(page_id=pages[0].pk, title="A moat on expenses")
    operations.rebuild_entries(registry.all_entries())
    write_media([*pages, *others], media_root)
    return {"party": party, "member": member, "doc": secret, "page": pages[0], "public": public, "prep": prep}


def _get(client, url: str, **headers):
    response = client.get(url, **headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body.decode(errors="replace"), response


# Surfaces as templates over the fixture's names, so each is a test of its own (its id says
# which leaked). ``{doc}``, ``{page}``, ``{image}``, ``{thumb}``, ``{member}``, ``{party}``.
# Where the embargoed document or its page is the whole answer: 404 for the public.
DETAIL_SURFACES = [
    "/documents/{doc}/",
    "/documents/{doc}/tags/receipt/",
    "/in-order/documents/{doc}/tags/receipt/",
    "/in-order/documents/{doc}/tags/receipt/feed/",
    "/pages/{page}/",
    "/review/{page}/",
    "/api/documents/{doc}/",
    "/api/pages/{page}/",
    "/media/{image}",
    "/media/{thumb}",
]
DRAFT_SURFACES = ["/assignments/embargo-prep/busy/", "/assignments/embargo-prep/done/"]
_LISTINGS = [
    "/tags/receipt/",
    "/parties/{party}/tags/receipt/",
    "/members/{member}/tags/receipt/",
    "/users/alice/tags/receipt/",
]
# Public lists that would show the embargoed page or document if it leaked: 200 without it.
LIST_SURFACES = [
    "/",
    "/discoveries/",
    "/discoveries/feed/",
    *_LISTINGS,
    *(f"/in-order{url}" for url in _LISTINGS),
    *(f"/in-order{url}feed/" for url in _LISTINGS),
    "/members/{member}/",
    "/users/alice/",
    "/exports/all.csv",
    "/exports/all.jsonl",
    "/exports/tags/receipt.csv",
    "/exports/tags/receipt.jsonl",
    "/api/pages/",
    "/api/documents/",
    "/api/listings/receipt/",
    "/api/listings/receipt/?member={member}",
]


def _url(template: str, d) -> str:
    page = d["page"]
    return template.format(
        doc=d["doc"].pk,
        page=page.pk,
        image=page.image.name,
        thumb=page.thumbnail.name,
        member=d["member"].slug,
        party=d["party"].slug,
    )


def _detail_urls(d) -> list[str]:
    return [_url(t, d) for t in [*DETAIL_SURFACES, *DRAFT_SURFACES]]


def _list_urls(d) -> list[str]:
    return [_url(t, d) for t in LIST_SURFACES]


def _leaks(body: str, d) -> bool:
    page = d["page"]
    return (
        SECRET in body
        or f"/pages/{page.pk}/" in body
        or page.thumbnail.name in body
        or f'"id":{page.pk},' in body.replace(" ", "")
        or "A moat on expenses" in body
    )


def _warm(client, d) -> None:
    for url in [*_detail_urls(d), *_list_urls(d)]:
        client.get(url)
        client.get(url)


def _gate(client, name: str):
    return client.get("/_media-access/", HTTP_X_ORIGINAL_URI=default_storage.url(name))


def assert_embargoed_for_the_public(client, d) -> None:
    for url in _detail_urls(d):
        status, body, _ = _get(client, url)
        assert status == 404, url
        assert SECRET not in body, url
    for url in _list_urls(d):
        status, body, _ = _get(client, url)
        assert status == 200, url
        assert not _leaks(body, d), url
    for name in (d["page"].image.name, d["page"].thumbnail.name):
        response = _gate(client, name)
        assert response.status_code == 403 and response["X-Media-Denied"] == "embargoed", name


def assert_public(client, d) -> None:
    page = d["page"]
    for url in _detail_urls(d)[:-2]:  # a draft's busy/done stay a draft's
        status, _, _ = _get(client, url)
        assert status == 200, url
    for url in (
        "/tags/receipt/",
        "/in-order/tags/receipt/feed/",
        "/exports/all.csv",
        "/api/pages/",
        "/discoveries/",
    ):
        assert _leaks(_get(client, url)[1], d), url
    assert SECRET in _get(client, "/api/documents/")[1]
    assert SECRET in _get(client, f"/members/{d['member'].slug}/")[1]
    assert _gate(client, page.image.name).status_code == 204


@pytest.mark.parametrize("surface", [*DETAIL_SURFACES, *DRAFT_SURFACES])
def test_an_embargoed_document_or_page_is_a_404_for_the_public_even_cached(client, draft, surface):
    url = _url(surface, draft)
    client.get(url)
    client.get(url)  # cached where the route is (the page cache is on)
    status, body, _ = _get(client, url)
    assert status == 404, url
    assert SECRET not in body


@pytest.mark.parametrize("surface", LIST_SURFACES)
def test_an_embargoed_page_is_in_no_public_list_even_cached(client, draft, surface):
    url = _url(surface, draft)
    client.get(url)
    client.get(url)  # cached where the route is (the page cache is on)
    status, body, _ = _get(client, url)
    assert status == 200 and not _leaks(body, draft), url
    # The public document beside it is listed: the surface works, it leaves out only the secret.
    if "receipt" in url and "users" not in url and "member=" not in url or url == "/api/pages/":
        assert f"/pages/{draft['public'].pages.order_by('number').first().pk}/" in body or '"id":' in body


def test_the_media_gate_refuses_an_embargoed_image_to_the_public_as_a_404(client, draft, editor):
    for name in (draft["page"].image.name, draft["page"].thumbnail.name):
        response = _gate(client, name)
        assert response.status_code == 403 and response["X-Media-Denied"] == "embargoed", name
    assert _gate(client, draft["public"].pages.first().image.name).status_code == 204
    client.force_login(editor)
    assert _gate(client, draft["page"].image.name).status_code == 204


def test_a_review_posted_to_an_embargoed_page_is_a_404_and_records_nothing(client, draft):
    page = draft["page"]
    before = Review.objects.count()
    for action in ("submit", "skip"):
        response = client.post(f"/review/{page.pk}/", {"action": action, "tags": ["receipt"]})
        assert response.status_code == 404, action
        assert SECRET not in response.content.decode()
    assert Review.objects.count() == before


def test_staff_see_every_embargoed_surface(client, draft, editor):
    client.force_login(editor)
    for url in _detail_urls(draft):
        status, body, _ = _get(client, url)
        assert status == 200, url
    assert "Embargoed" in _get(client, f"/documents/{draft['doc'].pk}/")[1]
    assert "Embargoed" in _get(client, f"/pages/{draft['page'].pk}/")[1]
    assert SECRET in _get(client, "/api/documents/")[1]
    assert _leaks(_get(client, "/tags/receipt/")[1], draft)
    assert _gate(client, draft["page"].image.name).status_code == 204


def test_publishing_the_draft_assignment_makes_it_public_at_once_and_unpublishing_hides_it(client, draft):
    _warm(client, draft)
    assert_embargoed_for_the_public(client, draft)

    publish_assignment(assignment_id=draft["prep"].pk)

    assert Document.objects.get(pk=draft["doc"].pk).public
    assert_public(client, draft)
    assert _get(client, "/assignments/embargo-prep/busy/")[0] == 200  # published: not a draft's

    unpublish_assignment(assignment_id=draft["prep"].pk)

    assert_embargoed_for_the_public(client, draft)


def test_an_assignment_by_member_publishes_too_and_its_scope_edits_follow(client, draft):
    _warm(client, draft)
    by_member = factories.make_assignment(members=[draft["member"]], slug="ann")  # the admin's way: a save
    assert_public(client, draft)
    by_member.members.set([])
    assert_embargoed_for_the_public(client, draft)


def test_the_admin_publishes_and_embargoes_a_document_on_its_own_recorded_on_activity(client, draft, editor):
    _warm(client, draft)
    client.force_login(editor)
    changelist = client.get("/admin/catalogue/document/").content.decode()
    assert "Embargoed" in changelist and "Publish (lift embargo)" in changelist
    assert "A new document is embargoed: only staff see it" in changelist

    response = client.post(
        "/admin/catalogue/document/",
        {"action": "publish_documents", "_selected_action": [draft["doc"].pk]},
        follow=True,
    )
    assert response.status_code == 200 and "Published 1" in response.content.decode()
    decision = EmbargoDecision.objects.get()
    assert (decision.kind, decision.decided_by, decision.document_id) == (
        "published",
        editor,
        draft["doc"].pk,
    )
    activity = client.get("/staff/activity/").content.decode()
    assert "Published (embargo lifted)" in activity and SECRET in activity
    client.logout()
    assert_public(client, draft)

    client.force_login(editor)
    client.post(
        "/admin/catalogue/document/", {"action": "embargo_documents", "_selected_action": [draft["doc"].pk]}
    )
    assert "Embargoed (publication withdrawn)" in client.get("/staff/activity/").content.decode()
    client.logout()
    assert_embargoed_for_the_public(client, draft)


def test_a_withdrawn_document_stays_hidden_however_published(client, draft, editor):
    publish_document(draft["doc"], by=editor)
    publish_assignment(assignment_id=draft["prep"].pk)
    withdraw_document(draft["doc"], by=editor, reason="Medical letters")
    page = draft["page"]
    assert _get(client, f"/pages/{page.pk}/")[0] == 410
    assert _get(client, f"/api/pages/{page.pk}/")[0] == 410
    assert _get(client, f"/media/{page.image.name}")[0] == 410
    for url in _list_urls(draft):
        assert not _leaks(_get(client, url)[1], draft), url


def test_bad_input_changes_nothing(draft, editor):
    with pytest.raises(EmbargoError, match="not published on its own"):
        embargo_document(draft["doc"], by=editor)
    with pytest.raises(EmbargoError, match="does not exist"):
        publish_document(10**12, by=editor)
    with pytest.raises(EmbargoError, match="not a page or document id"):
        publish_document("x", by=editor)
    publish_document(draft["doc"], by=editor)
    with pytest.raises(EmbargoError, match="already published"):
        publish_document(draft["doc"], by=editor)
    assert EmbargoDecision.objects.count() == 1
