"""Known-answer (gold) pages: their reviews count for nothing anywhere (parametrised over the
surfaces, like the quarantine tests) and only train reliability; the picker mixes them in at a
tapering rate, never the same page twice, and never to a visitor without an account."""

from __future__ import annotations

import random

import pytest

from assignments.models import Assignment
from assignments.picker import pick_next_page
from consensus import actions, gold
from consensus.models import GoldAnswer, Reliability
from contributors import selectors as credit
from lib import keys
from lib.redis_client import get_redis
from reviews.models import Page, PageTag, Reviewer
from tests import factories
from tests.consensus._support import review
from tests.contributors._support import board
from tests.denorm_support import drift, imported

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(tags, editor, settings):
    settings.RESULTS_IN_ORDER_SETTLE_SECONDS = 0
    member = factories.make_member(party=factories.make_party())
    doc = imported(member, 3)
    assignment = factories.make_assignment(members=[member], threshold=1)
    pages = list(doc.pages.order_by("number"))
    actions.set_gold_answer(page_id=pages[0].pk, tag_ids=[tags["receipt"].pk], by=editor)
    alice = factories.make_user("alice-gold")
    review(reviewer=alice, page_id=pages[0].pk, tag_slugs=["receipt", "investigate-this"])
    return {"pages": pages, "gold": pages[0], "assignment": assignment, "alice": alice, "member": member}


def _counted_nowhere(world, client, surface: str) -> bool:
    page, alice, a = world["gold"], world["alice"], world["assignment"]
    match surface:
        case "threshold":
            return Page.objects.get(pk=page.pk).review_count == 0
        case "page-tags":
            return not PageTag.objects.filter(page=page).exists()
        case "listing":
            return f'href="/pages/{page.pk}/"' not in client.get("/tags/receipt/").content.decode()
        case "export":
            text = client.get("/exports/all.csv").getvalue().decode()
            return not any(line.startswith(f"{page.pk},") for line in text.splitlines())
        case "leaderboard":
            return alice.pk not in board("all")
        case "reviewer-credit":
            return Reviewer.objects.get(user=alice).review_count == 0
        case "discovery-credit":
            return credit.credit_choices(page.pk) == []
        case "assignment-progress":
            a = Assignment.objects.get(pk=a.pk)
            return (a.review_count, a.completed_count, a.page_count) == (0, 0, 2)
        case "picker-sets":
            return page.pk not in {int(m) for m in get_redis().smembers(keys.assignment_needed(a.pk))}
    raise AssertionError(surface)


SURFACES = [
    "threshold",
    "page-tags",
    "listing",
    "export",
    "leaderboard",
    "reviewer-credit",
    "discovery-credit",
    "assignment-progress",
    "picker-sets",
]


@pytest.mark.parametrize("surface", SURFACES)
def test_a_gold_review_counts_nowhere(world, client, surface):
    assert _counted_nowhere(world, client, surface)


def test_an_ordinary_review_counts_on_every_surface_checked(world, client):
    """The checks above can fail: an ordinary page reviewed the same way counts everywhere."""
    world["gold"] = world["pages"][1]
    review(reviewer=world["alice"], page_id=world["pages"][1].pk, tag_slugs=["receipt", "investigate-this"])
    failing = [s for s in SURFACES if not _counted_nowhere(world, client, s)]
    assert failing == SURFACES
    a = Assignment.objects.get(pk=world["assignment"].pk)
    assert (a.review_count, a.completed_count) == (1, 1)


def test_reviews_made_before_a_page_became_gold_stop_counting_and_no_copy_drifts(world, tags, editor):
    page = world["pages"][2]
    bob = factories.make_user("bob-gold")
    review(reviewer=bob, page_id=page.pk, tag_slugs=["receipt"])
    assert Page.objects.get(pk=page.pk).review_count == 1
    actions.set_gold_answer(page_id=page.pk, tag_ids=[], by=editor)
    assert Page.objects.get(pk=page.pk).review_count == 0
    assert Reviewer.objects.get(user=bob).review_count == 0
    assert drift() == {}
    actions.remove_gold_answer(page_id=page.pk)
    assert Page.objects.get(pk=page.pk).review_count == 1
    assert drift() == {}


def test_gold_reviews_train_reliability(world, tags):
    actions.reestimate()
    receipt = Reliability.objects.get(user=world["alice"], tag=tags["receipt"])
    investigate = Reliability.objects.get(user=world["alice"], tag=tags["investigate-this"])
    assert (receipt.gold_correct, receipt.gold_total) == (1, 1)  # the editors said receipt
    assert (investigate.gold_correct, investigate.gold_total) == (0, 1)  # and not this one
    assert receipt.accuracy == pytest.approx(4 / 6)


def test_a_known_answer_broken_by_hand_is_found_and_repaired(world):
    from django.db import connection

    from denorm import operations

    with connection.cursor() as cursor:
        cursor.execute("UPDATE reviews_page SET known_answer = false WHERE id = %s", [world["gold"].pk])
    assert "page-known-answer" in drift(["page-known-answer"])
    operations.check_and_repair(budget_seconds=60)
    assert drift() == {}
    assert Page.objects.get(pk=world["gold"].pk).review_count == 0


@pytest.fixture
def gold_pages(tags, editor):
    doc = imported(None, 3)
    factories.make_assignment(documents=[doc])  # open: gold pages are served only where reviewable
    for page in doc.pages.all():
        actions.set_gold_answer(page_id=page.pk, tag_ids=[], by=editor)
    return sorted(doc.pages.values_list("pk", flat=True))


def _share(user_id: int, draws: int, seed: int) -> int:
    rng = random.Random(seed)
    return sum(gold.pick_gold_page(user_id=user_id, rng=rng) is not None for _ in range(draws))


def test_the_gold_rate_tapers_after_the_first_20_reviews(gold_pages, tags):
    """One seeded sample each, no redraw. 4,000 draws at 0.2: 800 expected, sd 25.3; at 0.05:
    200, sd 13.8. Bounds at 4 sd: a false failure about once in 16,000 seeds."""
    user = factories.make_user("newcomer-gold")
    assert 699 <= _share(user.pk, 4000, seed=1) <= 901
    doc = imported(None, 20)
    factories.make_assignment(documents=[doc])
    for page in doc.pages.all():
        review(reviewer=user, page_id=page.pk)
    assert 145 <= _share(user.pk, 4000, seed=2) <= 255
    assert gold.pick_gold_page(user_id=None) is None


def test_the_picker_serves_each_gold_page_once_then_ordinary_pages(gold_pages, tags, settings):
    settings.PICKER_GOLD_HOOK = "consensus.gold.pick_gold_page"
    settings.GOLD_RATE_NEW = 1.0  # every pick a gold one while any is left
    doc = imported(None, 2)
    assignment = factories.make_assignment(documents=[doc])
    user = factories.make_user("picker-gold")
    served = []
    for _ in range(3):
        result = pick_next_page(assignment=assignment, reviewer=user)
        assert result.source == "gold"
        served.append(result.page_id)
        review(reviewer=user, page_id=result.page_id)
    assert sorted(served) == gold_pages
    ordinary = pick_next_page(assignment=assignment, reviewer=user)
    assert ordinary.source != "gold" and ordinary.page_id in set(doc.pages.values_list("pk", flat=True))
    # A visitor without an account gets no gold (their first review makes the account).
    assert pick_next_page(assignment=assignment, reviewer=None).source != "gold"


def test_the_review_screen_does_not_say_a_page_is_gold(gold_pages, client, tags):
    user = factories.make_user("screen-reader")
    client.force_login(user)
    html = client.get(f"/review/{gold_pages[0]}/").content.decode().lower()
    assert "gold" not in html and "known answer" not in html and "known-answer" not in html


def test_a_reviewer_sees_their_own_gold_agreement_and_staff_see_low_reliability(world, client, tags, editor):
    alice = world["alice"]
    client.force_login(alice)
    html = client.get(f"/users/{alice.username}/").content.decode()
    assert "You agreed with the editors on 0 of 1 known page" in html  # receipt + investigate: not exact
    client.logout()
    assert "You agreed with the editors" not in client.get(f"/users/{alice.username}/").content.decode()
    # A spammer against four gold pages: low reliability on /staff/suspicious/.
    spammer = factories.make_user("coin-flipper")
    doc = imported(None, 12)
    factories.make_assignment(documents=[doc])
    for i, page in enumerate(doc.pages.order_by("number")):
        actions.set_gold_answer(page_id=page.pk, tag_ids=[tags["receipt"].pk] if i % 2 else [], by=editor)
        review(reviewer=spammer, page_id=page.pk, tag_slugs=[] if i % 2 else ["receipt", "claim-form"])
    actions.reestimate()
    client.force_login(editor)
    html = client.get("/staff/suspicious/").content.decode()
    assert 'data-kind="low-reliability"' in html and "coin-flipper" in html
    assert "agreed with the editors on 0 of 12 known pages" in html


def test_editors_mark_a_gold_answer_in_the_admin(client, editor, tags):
    doc = imported(None, 2)
    factories.make_assignment(documents=[doc])
    page = doc.pages.first()
    client.force_login(editor)
    response = client.post(
        "/admin/consensus/goldanswer/add/",
        {"page": page.pk, "tags": [tags["receipt"].pk], "note": "checked against the ledger"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    answer = GoldAnswer.objects.get(page=page)
    assert answer.created_by == editor and list(answer.tags.values_list("slug", flat=True)) == ["receipt"]
    assert Page.objects.get(pk=page.pk).known_answer
    assert drift() == {}
    response = client.post(f"/admin/consensus/goldanswer/{answer.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Page.objects.get(pk=page.pk).known_answer


def test_a_reviewers_own_count_goes_up_after_a_gold_page_too(world, client):
    """Their own count must not stand still after a gold page (it would say "that one was a
    test"): the review screen, the fast path's answer and their own profile count every review;
    the public's count leaves the gold review out. An ordinary review after it is the control."""
    alice, pages = world["alice"], world["pages"]
    client.force_login(alice)
    assert Reviewer.objects.get(user=alice).reviews_made == 1
    screen = client.get(f"/review/{pages[1].pk}/").content.decode()
    assert '<strong id="own-count">1</strong>' in screen
    outcome = review(reviewer=alice, page_id=pages[1].pk, tag_slugs=[])
    assert outcome.own_count == 2
    row = Reviewer.objects.get(user=alice)
    assert (row.review_count, row.reviews_made) == (1, 2)
    own = client.get(f"/users/{alice.username}/").context["profile"].review_count
    client.logout()
    public = client.get(f"/users/{alice.username}/").context["profile"].review_count
    assert (own, public) == (2, 1)


def test_the_own_count_broken_by_hand_is_found_and_repaired(world):
    from denorm.registry import get

    Reviewer.objects.filter(user=world["alice"]).update(reviews_made=7)
    entry = get("reviewer-review-count")
    assert entry.check().wrong == 1
    entry.repair()
    assert Reviewer.objects.get(user=world["alice"]).reviews_made == 1
    assert drift() == {}
