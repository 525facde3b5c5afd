"""``/staff/suspicious/``: constructed bursts, disagreement and concentration are listed with the
numbers that explain them (and honest reviewers are not); staff quarantine and release from it;
everyone else is refused and forged input changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from lib.ratelimit import address_range
from moderation import selectors
from moderation.models import Quarantine
from reviews.models import Review, Reviewer
from tests import factories
from tests.contributors._support import review

pytestmark = pytest.mark.django_db


def account(name: str, created_from: str, minutes_ago: float):
    user = factories.make_user(name)
    Reviewer.objects.create(user=user, anonymous=True, created_from=created_from)
    Reviewer.objects.filter(user=user).update(created=timezone.now() - timedelta(minutes=minutes_ago))
    return user


@pytest.fixture
def staff_client(editor):
    client = Client()
    client.force_login(editor)
    return client


# --- The address range stored with a new account ----------------------------------------------


@pytest.mark.parametrize(
    "address, stored",
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1234:5678::/64", "2001:db8:1234::/48"),
        ("unknown", ""),
        ("", ""),
    ],
)
def test_the_stored_range_is_a_prefix_never_the_address(address, stored):
    assert address_range(address) == stored


def test_a_first_review_stores_the_range_of_its_address_and_not_the_address(tags):
    document = factories.make_document(pages=1)
    factories.make_assignment(documents=[document])
    page = document.pages.get()
    for address, expected in (
        ("198.51.100.23", "198.51.100.0/24"),
        ("2001:db8:abcd:12::7", "2001:db8:abcd::/48"),
    ):
        response = Client(REMOTE_ADDR=address).post(f"/review/{page.pk}/", {"action": "submit"})
        assert response.status_code == 302
        assert Reviewer.objects.order_by("-pk").first().created_from == expected
    assert not Reviewer.objects.filter(created_from__in=["198.51.100.23", "2001:db8:abcd:12::7"]).exists()


# --- Bursts -----------------------------------------------------------------------------------


def test_a_burst_of_new_accounts_from_one_range_is_listed_with_its_reason(tags):
    member = factories.make_member(name="Sir Peter Viggers")
    doc = factories.make_document(member=member, pages=2)
    burst = [account(f"anon-b{i}", "203.0.113.0/24", minutes_ago=40 - i * 5) for i in range(6)]
    account("anon-late", "203.0.113.0/24", minutes_ago=600)  # same range, hours apart
    for i in range(4):
        account(f"anon-o{i}", "198.51.100.0/24", minutes_ago=30 - i)  # too few
    for i in range(6):
        account(f"anon-s{i}", f"10.{i}.0.0/24", minutes_ago=10)  # one per range
    for user in burst:
        review(user, doc.pages.first(), "investigate-this")

    found = selectors.suspicious().bursts

    assert len(found) == 1
    listed = found[0]
    assert listed.address_range == "203.0.113.0/24"
    assert [a.username for a in listed.accounts] == [f"anon-b{i}" for i in range(6)]
    assert listed.reason.startswith("6 new accounts from 203.0.113.0/24 created within 25 minutes")
    assert "6 reviews between them, 6 of them of Sir Peter Viggers's pages" in listed.reason


def test_the_page_lists_a_burst_with_quarantine_all(staff_client):
    burst = [account(f"anon-b{i}", "203.0.113.0/24", minutes_ago=i) for i in range(5)]
    html = staff_client.get("/staff/suspicious/").content.decode()
    assert 'data-kind="burst" data-range="203.0.113.0/24"' in html
    assert "Quarantine all" in html
    for user in burst:
        assert f'name="user" value="{user.pk}"' in html

    response = staff_client.post(
        "/staff/suspicious/quarantine/",
        {"user": [str(u.pk) for u in burst], "reason": "burst from 203.0.113.0/24"},
    )

    assert response.status_code == 302
    assert Reviewer.objects.filter(quarantined_at__isnull=False).count() == 5
    html = staff_client.get("/staff/suspicious/").content.decode()
    assert html.count('class="quarantined-entry"') == 5
    assert "Quarantine all" not in html  # every account of the burst is quarantined


# --- Disagreement -----------------------------------------------------------------------------


def test_a_reviewer_who_disagrees_with_everyone_else_is_listed_with_the_numbers(tags):
    doc = factories.make_document(pages=6)
    honest = [factories.make_user(f"honest-{i}") for i in range(3)]
    mallory = factories.make_user("mallory")
    for page in doc.pages.order_by("number"):
        for user in honest:
            review(user, page, "receipt")
        review(mallory, page, "investigate-this")

    found = selectors.suspicious().disagreements

    assert [(d.username, d.compared, d.disagreed) for d in found] == [("mallory", 6, 6)]
    assert found[0].reason.startswith(
        "disagreed with the other reviewers' majority on 6 of 6 pages (100%) that others reviewed too"
    )
    assert "of 3 others" in found[0].reason


def test_disagreement_needs_enough_pages_and_enough_other_reviewers(tags):
    doc = factories.make_document(pages=6)
    pages = list(doc.pages.order_by("number"))
    honest = factories.make_user("honest")
    mallory = factories.make_user("mallory")
    for page in pages:  # one other reviewer per page: too few to speak of a majority
        review(honest, page, "receipt")
        review(mallory, page, "investigate-this")
    assert selectors.suspicious().disagreements == []
    others = [factories.make_user(f"other-{i}") for i in range(2)]
    for page in pages[:4]:  # four pages with three others: fewer than the five needed
        for user in others:
            review(user, page, "receipt")
    assert selectors.suspicious().disagreements == []
    thresholds = selectors.Thresholds(min_compared=4)
    assert [d.username for d in selectors.suspicious(thresholds).disagreements] == ["mallory"]


# --- Concentration ----------------------------------------------------------------------------


def test_a_reviewer_concentrated_on_one_member_is_listed_and_a_spread_one_is_not(tags):
    party = factories.make_party("Blue")
    members = [factories.make_member(party=party, name=n) for n in ("Ann", "Bob")]
    members.append(factories.make_member(party=factories.make_party("Red"), name="Cy"))
    docs = [factories.make_document(member=m, pages=12) for m in members]
    honest = [factories.make_user(f"honest-{i}") for i in range(3)]
    for user in honest:
        for doc in docs:
            for page in doc.pages.order_by("number")[:4]:
                review(user, page)
    mallory = factories.make_user("mallory")
    for page in docs[0].pages.order_by("number")[:12]:
        review(mallory, page)

    found = selectors.suspicious().concentrations

    by_kind = {c.kind: c for c in found if c.username == "mallory"}
    assert {c.username for c in found} == {"mallory"}
    member = by_kind["member"]
    assert (member.owner, member.reviews_on_owner, member.reviews) == ("Ann", 12, 12)
    assert member.reason == (
        "12 of their 12 reviews (100%) are of member Ann's pages, against 33% of everyone else's"
    )


def test_when_everyone_reviews_one_member_nobody_is_concentrated(tags):
    doc = factories.make_document(member=factories.make_member(name="Ann"), pages=12)
    for i in range(3):
        user = factories.make_user(f"r-{i}")
        for page in doc.pages.all():
            review(user, page)
    assert selectors.suspicious().concentrations == []


# --- Staff only, CSRF, bad input ----------------------------------------------------------------


def test_anonymous_visitors_go_to_login_and_reviewers_get_403(reviewer):
    victim = account("anon-v", "203.0.113.0/24", minutes_ago=1)
    anonymous = Client()
    assert anonymous.get("/staff/suspicious/").status_code == 302
    assert "/login" in anonymous.get("/staff/suspicious/")["Location"]
    signed_in = Client()
    signed_in.force_login(reviewer)
    assert signed_in.get("/staff/suspicious/").status_code == 403
    for url in ("/staff/suspicious/quarantine/", "/staff/suspicious/release/"):
        assert signed_in.post(url, {"user": str(victim.pk), "reason": "x"}).status_code == 403
        assert anonymous.post(url, {"user": str(victim.pk), "reason": "x"}).status_code == 302
    assert not Reviewer.objects.filter(quarantined_at__isnull=False).exists()


def test_a_post_without_the_csrf_token_is_refused(editor):
    victim = account("anon-v", "203.0.113.0/24", minutes_ago=1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    response = client.post("/staff/suspicious/quarantine/", {"user": str(victim.pk), "reason": "spam"})
    assert response.status_code == 403
    assert not Reviewer.objects.filter(quarantined_at__isnull=False).exists()


@pytest.mark.parametrize(
    "data, status",
    [
        ({"user": "987654321", "reason": "spam"}, 404),
        ({"user": "abc", "reason": "spam"}, 404),
        ({"user": "1\x00", "reason": "spam"}, 400),  # refused before the view (NUL byte)
        ({"user": "99999999999999999999999", "reason": "spam"}, 404),
        ({"user": "-1", "reason": "spam"}, 404),
        ({"reason": "spam"}, 400),
        ({"user": "VICTIM", "reason": ""}, 400),
        ({"user": "VICTIM", "reason": "bad\x00reason"}, 400),
        ({"user": "VICTIM", "reason": "x" * 5000}, 400),
        ({"user": "EDITOR", "reason": "spam"}, 400),
    ],
)
def test_bad_input_is_a_clear_4xx_and_changes_nothing(staff_client, editor, data, status):
    victim = account("anon-v", "203.0.113.0/24", minutes_ago=1)
    data = {k: v.replace("VICTIM", str(victim.pk)).replace("EDITOR", str(editor.pk)) for k, v in data.items()}
    response = staff_client.post("/staff/suspicious/quarantine/", data)
    assert response.status_code == status
    if "\x00" not in "".join(data.values()):
        assert "Nobody was quarantined" in response.content.decode()
    assert not Reviewer.objects.filter(quarantined_at__isnull=False).exists()
    assert not Quarantine.objects.exists()


def test_get_on_the_forms_is_refused(staff_client):
    assert staff_client.get("/staff/suspicious/quarantine/").status_code == 405
    assert staff_client.get("/staff/suspicious/release/").status_code == 405


def test_quarantine_and_release_from_the_page_show_on_the_activity_page(staff_client, tags):
    victim = account("anon-v", "203.0.113.0/24", minutes_ago=1)
    doc = factories.make_document(pages=1)
    review(victim, doc.pages.get(), "receipt")
    reason = "<script>alert(1)</script> bought accounts"
    assert (
        staff_client.post(
            "/staff/suspicious/quarantine/", {"user": str(victim.pk), "reason": reason}
        ).status_code
        == 302
    )
    assert Review.objects.get(reviewer=victim).quarantined is True
    html = staff_client.get("/staff/activity/").content.decode()
    assert "Quarantines and releases" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; bought accounts" in html and "<script>alert" not in html
    assert "anon-v</a> quarantined by editor-ed" in html

    response = staff_client.post(
        "/staff/suspicious/release/", {"user": str(victim.pk), "reason": "a real person"}
    )

    assert response.status_code == 302
    assert Review.objects.get(reviewer=victim).quarantined is False
    html = staff_client.get("/staff/activity/").content.decode()
    assert "released by editor-ed" in html and "a real person" in html
    assert 'class="quarantined-entry"' not in staff_client.get("/staff/suspicious/").content.decode()


def test_the_admin_quarantines_and_releases_selected_reviewers_with_a_reason(staff_client):
    victims = [account(f"anon-{i}", "203.0.113.0/24", minutes_ago=i) for i in range(2)]
    ids = [str(Reviewer.objects.get(user=v).pk) for v in victims]
    url = "/admin/reviews/reviewer/"
    asked = staff_client.post(url, {"action": "quarantine", "_selected_action": ids})
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()
    assert not Reviewer.objects.filter(quarantined_at__isnull=False).exists()  # nothing yet
    done = staff_client.post(
        url, {"action": "quarantine", "_selected_action": ids, "confirm": "yes", "reason": "burst"}
    )
    assert done.status_code == 302
    assert Reviewer.objects.filter(quarantined_at__isnull=False).count() == 2
    assert set(Quarantine.objects.values_list("reason", flat=True)) == {"burst"}
    staff_client.post(
        url, {"action": "release", "_selected_action": ids[:1], "confirm": "yes", "reason": "ok"}
    )
    assert Reviewer.objects.filter(quarantined_at__isnull=False).count() == 1
