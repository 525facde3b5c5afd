"""Issue 21: one picker identity per visitor, from their first request to their last. The page
on their screen and the following page their browser prefetched stay theirs when their first
review makes their account, when they claim it and when they log in; no reservation is left
under a name nobody will come back with."""

from __future__ import annotations

import pytest
from django.test import Client

from assignments.models import Assignment
from lib import keys, visitor
from lib.redis_client import get_redis
from tests import factories
from tests.assignments._picker_support import build_sets

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def assignment(tags, settings):
    settings.REVIEW_FAST_PATH = False
    settings.REVIEW_PREFETCH_NEXT = True
    doc = factories.make_document(pages=10)
    a = factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN, threshold=2)
    build_sets()
    return a


def _holds(assignment) -> dict[str, int]:
    """holder -> page, for every live reservation of the assignment."""
    found = {}
    for member in get_redis().zrange(keys.assignment_holds(assignment.pk), 0, -1):
        page, holder = member.split(":", 1)
        found[holder] = int(page)
    return found


def _page_of(response) -> int:
    assert response.status_code == 302, response.status_code
    return int(response["Location"].strip("/").split("/")[-1])


def _vid(client) -> str:
    signer = visitor.signing.get_cookie_signer(salt=visitor._SALT)
    return signer.unsign(client.cookies[visitor.COOKIE].value)


def test_a_visitor_keeps_their_pages_through_first_review_claim_and_login(assignment, reviewer):
    client = Client()
    page = _page_of(client.get("/review/next/"))
    vid = _vid(client)
    assert client.get(f"/review/{page}/").status_code == 200
    following = _holds(assignment)[f"nv{vid}"]
    assert _holds(assignment) == {f"v{vid}": page, f"nv{vid}": following}

    # The first review makes the account: the reservation of the page reviewed ends, the
    # following page becomes the visitor's page, and nothing is held under another name.
    response = client.post(f"/review/{page}/", {"action": "submit"})
    assert _page_of(response) == following
    assert _holds(assignment) == {f"v{vid}": following}
    assert client.get(f"/review/{following}/").status_code == 200
    third = _holds(assignment)[f"nv{vid}"]
    assert _holds(assignment) == {f"v{vid}": following, f"nv{vid}": third}

    # Claiming the account changes nothing the picker holds.
    response = client.post(
        "/account/claim/",
        {"username": "jo", "password1": "a fine long secret 42", "password2": "a fine long secret 42"},
    )
    assert response.status_code == 302
    assert _holds(assignment) == {f"v{vid}": following, f"nv{vid}": third}
    assert _page_of(client.post(f"/review/{following}/", {"action": "submit"})) == third

    # Logging in to another account neither: asking again returns the page on screen.
    client.post("/account/logout/")
    response = client.post("/account/login/", {"username": reviewer.username, "password": "pw-123456!"})
    assert response.status_code == 302
    assert _page_of(client.get("/review/next/")) == third
    assert _holds(assignment)[f"v{vid}"] == third
    assert all(holder.lstrip("n").startswith("v") for holder in _holds(assignment))


def test_a_skip_ends_the_visitors_reservation_too(assignment):
    client = Client()
    page = _page_of(client.get("/review/next/"))
    vid = _vid(client)
    client.get(f"/review/{page}/")
    following = _holds(assignment)[f"nv{vid}"]
    assert _page_of(client.post(f"/review/{page}/", {"action": "skip"})) == following
    assert _holds(assignment) == {f"v{vid}": following}


def test_a_forged_visitor_cookie_is_a_new_visitor(assignment):
    """The cookie is signed: a made-up id is ignored and replaced."""
    client = Client()
    client.cookies[visitor.COOKIE] = "0" * 32
    page = _page_of(client.get("/review/next/"))
    vid = _vid(client)
    assert vid != "0" * 32
    assert _holds(assignment) == {f"v{vid}": page}


def test_the_screen_of_a_page_held_by_others_sends_the_visitor_elsewhere(assignment):
    """A page whose every needed review is held by others (a visitor's own soft reservation
    taken over, or a shared link): the screen goes to /review/next/ instead of handing the page
    to one more reviewer than it needs."""
    from tests.assignments._picker_support import take_place

    page = assignment.pages().order_by("pk").first().pk
    assert take_place(assignment, page, "vsomeone") and take_place(assignment, page, "velse")
    response = Client().get(f"/review/{page}/")
    assert response.status_code == 302 and response["Location"] == "/review/next/"
