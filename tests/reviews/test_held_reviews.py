"""Nothing lost at the new-account limit: the visitor over RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR sees
a page in the site's layout saying what happened, their review is kept in their browser (a signed
cookie: the 429 writes nothing on the server) and
recorded once they log in, save an account, or come back when the window allows; never twice.
Editors can exempt an address range for a while from /staff/suspicious/."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.test import Client

from moderation.actions.exemptions import ExemptionError, create_address_exemption, end_address_exemption
from moderation.models import AddressExemption
from reviews import held_reviews
from reviews.models import PageTag, Review
from tests import factories

pytestmark = pytest.mark.django_db
User = get_user_model()
NEWSROOM = "203.0.113.20"


@pytest.fixture
def pages(tags):
    document = factories.make_document(pages=2)
    factories.make_assignment(documents=[document], threshold=100)
    return list(document.pages.order_by("number"))


def holding(client) -> bool:
    """The browser still holds a review (a deleted cookie comes back empty)."""
    morsel = client.cookies.get(held_reviews.COOKIE_NAME)
    return morsel is not None and bool(morsel.value)


def visitor(address=NEWSROOM) -> Client:
    return Client(REMOTE_ADDR=address)


def submit(client, page, *tags):
    return client.post(f"/review/{page.pk}/", {"action": "submit", "tags": list(tags)})


def fill_the_hour(page, n=20, address=NEWSROOM):
    """The first ``n`` new visitors from one address (the default allowance) all get in."""
    assert [submit(visitor(address), page).status_code for _ in range(n)] == [302] * n


def held_visitor(page, *tags) -> Client:
    client = visitor()
    response = submit(client, page, *tags)
    assert response.status_code == 429
    html = response.content.decode()
    assert '<header class="site-header">' in html  # the site's layout, not a bare 429
    assert "your review is kept" in html and "Log in" in html and "Save an account" in html
    assert "come back after" in html and int(response["Retry-After"]) > 60
    return client


def test_the_21st_visitor_gets_their_review_recorded_after_logging_in(pages):
    fill_the_hour(pages[0])
    jo = factories.make_user("jo")
    client = held_visitor(pages[1], "receipt", "claim-form")
    assert not Review.objects.filter(page=pages[1]).exists()
    response = client.post("/account/login/", {"username": "jo", "password": "pw-123456!"})
    assert response.status_code == 302
    review = Review.objects.get(page=pages[1])
    assert review.reviewer_id == jo.pk
    assert set(PageTag.objects.filter(page=pages[1]).values_list("tag__slug", flat=True)) == {
        "receipt",
        "claim-form",
    }
    assert not holding(client)
    assert "is recorded now" in client.get("/").content.decode()


def test_a_double_submit_at_the_limit_is_recorded_once(pages):
    fill_the_hour(pages[0])
    factories.make_user("jo")
    client = held_visitor(pages[1], "receipt")
    assert submit(client, pages[1], "receipt").status_code == 429  # the double click
    client.post("/account/login/", {"username": "jo", "password": "pw-123456!"})
    client.get("/review/next/")
    assert Review.objects.filter(page=pages[1]).count() == 1


def test_the_21st_visitor_can_save_an_account_and_their_review_is_recorded(pages):
    fill_the_hour(pages[0])
    client = held_visitor(pages[1], "hand-written")
    form = client.get("/account/claim/")
    assert form.status_code == 200 and 'name="password1"' in form.content.decode()
    response = client.post(
        "/account/claim/",
        {
            "username": "newsdesk-jo",
            "password1": "a fine long secret 42",
            "password2": "a fine long secret 42",
        },
    )
    assert response.status_code == 302
    account = User.objects.get(username="newsdesk-jo")
    assert not account.reviewer.anonymous
    assert list(Review.objects.filter(page=pages[1]).values_list("reviewer_id", flat=True)) == [account.pk]
    assert client.session["_auth_user_id"] == str(account.pk)


def test_a_bad_claim_changes_nothing_and_keeps_the_review(pages):
    fill_the_hour(pages[0])
    client = held_visitor(pages[1])
    users = User.objects.count()
    response = client.post("/account/claim/", {"username": "x y", "password1": "short", "password2": "short"})
    assert response.status_code == 400 and User.objects.count() == users
    assert holding(client)


def test_coming_back_when_the_window_allows_records_it(pages, settings):
    fill_the_hour(pages[0])
    client = held_visitor(pages[1], "receipt")
    client.get("/review/next/")  # too early: still held
    assert not Review.objects.filter(page=pages[1]).exists()
    assert holding(client)

    settings.RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR = 100  # the window has room again ...
    value = signing.loads(client.cookies[held_reviews.COOKIE_NAME].value, salt=held_reviews._SALT)
    value["retry_at"] = 0  # ... and the time shown has come
    client.cookies[held_reviews.COOKIE_NAME] = signing.dumps(value, salt=held_reviews._SALT, compress=True)
    assert client.get("/review/next/").status_code == 302
    review = Review.objects.get(page=pages[1])
    assert review.reviewer.username.startswith("anon-")
    assert client.session["_auth_user_id"] == str(review.reviewer_id)
    assert not holding(client)
    client.get("/review/next/")
    assert Review.objects.filter(page=pages[1]).count() == 1


def test_a_429_at_the_limit_writes_nothing_on_the_server(pages):
    from django.contrib.sessions.models import Session

    fill_the_hour(pages[0])
    users, sessions = User.objects.count(), Session.objects.count()
    held_visitor(pages[1], "receipt")
    assert (User.objects.count(), Session.objects.count()) == (users, sessions)


def test_a_forged_cookie_holds_nothing(pages):
    factories.make_user("jo")
    client = visitor()
    client.cookies[held_reviews.COOKIE_NAME] = "forged"
    client.post("/account/login/", {"username": "jo", "password": "pw-123456!"})
    assert not Review.objects.exists()


def test_an_exemption_lets_the_21st_through_and_the_burst_still_shows(pages, editor):
    create_address_exemption(network="203.0.113.0/24", hours=8, reason="Newsroom launch party", by=editor)
    fill_the_hour(pages[0], n=21)
    assert Review.objects.filter(page=pages[0]).count() == 21
    staff = Client()
    staff.force_login(editor)
    html = staff.get("/staff/suspicious/").content.decode()
    assert 'data-network="203.0.113.0/24"' in html and "Newsroom launch party" in html
    assert 'data-range="203.0.113.0/24"' in html  # the burst from inside it still shows


def test_an_ended_exemption_no_longer_applies(pages, editor):
    exemption = create_address_exemption(network="203.0.113.0/24", hours=8, reason="Class", by=editor)
    end_address_exemption(exemption_id=exemption.pk, by=editor)
    fill_the_hour(pages[0])
    assert submit(visitor(), pages[0]).status_code == 429
    exemption.refresh_from_db()
    assert exemption.ended_by == editor and exemption.ended_at is not None


def test_editors_exempt_and_end_from_the_staff_page_and_bad_input_changes_nothing(pages, editor):
    staff = Client()
    staff.force_login(editor)
    for bad in (
        {"network": "not an address", "hours": "8", "reason": "x"},
        {"network": "10.0.0.0/8", "hours": "8", "reason": "too wide"},
        {"network": "203.0.113.0/24", "hours": "0", "reason": "x"},
        {"network": "203.0.113.0/24", "hours": "8", "reason": ""},
    ):
        assert staff.post("/staff/suspicious/exempt/", bad).status_code == 400
    assert not AddressExemption.objects.exists()
    response = staff.post(
        "/staff/suspicious/exempt/", {"network": "203.0.113.7/24", "hours": "3", "reason": "Class 5B"}
    )
    assert response.status_code == 302
    exemption = AddressExemption.objects.get()
    assert (exemption.network, exemption.created_by, exemption.reason) == (
        "203.0.113.0/24",
        editor,
        "Class 5B",
    )
    assert staff.post("/staff/suspicious/exempt/end/", {"exemption": "999999"}).status_code == 404
    assert staff.post("/staff/suspicious/exempt/end/", {"exemption": str(exemption.pk)}).status_code == 302
    assert staff.post("/staff/suspicious/exempt/end/", {"exemption": str(exemption.pk)}).status_code == 400
    reviewer = factories.make_user("plain")
    other = Client()
    other.force_login(reviewer)
    assert (
        other.post(
            "/staff/suspicious/exempt/", {"network": "1.2.3.0/24", "hours": "3", "reason": "x"}
        ).status_code
        == 403
    )
    with pytest.raises(ExemptionError):
        create_address_exemption(network="2001:db8::/16", hours=1, reason="x", by=editor)
