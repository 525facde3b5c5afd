"""PageTag.confidence (registry entry page-tag-confidence): set after each review, re-derived by
the re-estimation, found and repaired by the periodic check when broken by hand."""

from __future__ import annotations

import math

import pytest
from django.db import connection

from consensus import actions, model
from consensus.models import Reliability, TagPrevalence
from denorm import operations, registry
from moderation.actions.quarantine import quarantine_reviewer
from reviews.models import PageTag
from tests import factories
from tests.consensus._support import review
from tests.denorm_support import drift

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page(tags):
    doc = factories.make_document(pages=3)
    factories.make_assignment(documents=[doc], threshold=3)
    return doc.pages.first()


def confidence(page, slug: str) -> float | None:
    return PageTag.objects.get(page=page, tag__slug=slug).confidence


def test_each_review_sets_its_pages_confidence_after_commit(page, reviewer, reviewer2):
    """Two newcomers (weight log 1.5 each, no estimate yet: even prior odds): one receipt vote
    makes 1.5:1 = 0.6; a second reviewer without it brings it back to 0.5."""
    review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"])
    assert confidence(page, "receipt") == pytest.approx(0.6)
    review(reviewer=reviewer2, page_id=page.pk, tag_slugs=["claim-form"])
    assert confidence(page, "receipt") == pytest.approx(0.5)
    assert confidence(page, "claim-form") == pytest.approx(0.5)
    assert drift(["page-tag-confidence"]) == {}


def test_reliability_and_prevalence_weigh_the_votes(page, reviewer, reviewer2, tags):
    """An estimated reviewer at 0.9 outweighs a newcomer: 9 / 1.5 = 6:1, times prior odds 1:4
    (prevalence 0.2): 6/4, so 0.6."""
    Reliability.objects.create(
        user=reviewer,
        tag=tags["receipt"],
        accuracy=0.9,
        weight=model.weight(0.9),
        updated="2026-12-06T00:00Z",
    )
    TagPrevalence.objects.create(tag=tags["receipt"], prevalence=0.2, updated="2026-12-06T00:00Z")
    review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"])
    review(reviewer=reviewer2, page_id=page.pk, tag_slugs=[])
    assert confidence(page, "receipt") == pytest.approx(0.6)


def test_a_quarantine_takes_the_reviewers_votes_out(page, reviewer, reviewer2, editor):
    review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"])
    review(reviewer=reviewer2, page_id=page.pk, tag_slugs=[])
    quarantine_reviewer(reviewer2, by=editor, reason="spam burst")
    assert confidence(page, "receipt") == pytest.approx(0.6)
    assert drift(["page-tag-confidence"]) == {}


def test_a_confidence_broken_by_hand_is_found_and_repaired(page, reviewer):
    review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt", "claim-form"])
    row = PageTag.objects.get(page=page, tag__slug="receipt")
    with connection.cursor() as cursor:  # a hand-made SQL "fix", as an operator might
        cursor.execute("UPDATE reviews_pagetag SET confidence = 0.01 WHERE id = %s", [row.pk])
        cursor.execute(
            "UPDATE reviews_pagetag SET confidence = NULL WHERE page_id = %s AND tag_id <> %s",
            [page.pk, row.tag_id],
        )
    found = drift(["page-tag-confidence"])
    assert "wrong 1" in found["page-tag-confidence"] and "missing 1" in found["page-tag-confidence"]
    outcomes = operations.check_and_repair(budget_seconds=60)
    assert any(o.name == "page-tag-confidence" for o in outcomes)
    assert drift(["page-tag-confidence"]) == {}
    assert confidence(page, "receipt") == pytest.approx(0.6)


def test_the_reestimation_learns_from_agreement_and_updates_every_row(tags):
    """Five reviewers agree on 10 pages; a sixth answers the opposite everywhere. After EM the
    dissenter weighs nothing and every page's receipt confidence follows the five."""
    doc = factories.make_document(pages=10)
    factories.make_assignment(documents=[doc], threshold=6)
    users = [factories.make_user() for _ in range(6)]
    pages = list(doc.pages.all())
    for i, page in enumerate(pages):
        has = i % 2 == 0
        for user in users[:5]:
            review(reviewer=user, page_id=page.pk, tag_slugs=["receipt"] if has else [])
        review(reviewer=users[5], page_id=page.pk, tag_slugs=[] if has else ["receipt"])
    run = actions.reestimate()
    assert (run.reviews, run.reviewers) == (60, 6)
    dissenter = Reliability.objects.get(user=users[5], tag=tags["receipt"])
    assert dissenter.weight == 0.0 and dissenter.votes == 10
    agreeing = Reliability.objects.get(user=users[0], tag=tags["receipt"])
    assert agreeing.accuracy > 0.8
    for i, page in enumerate(pages):
        if i % 2 == 0:
            assert confidence(page, "receipt") > 0.99
        else:
            assert confidence(page, "receipt") < 0.01  # the dissenter's row exists, says no
    assert drift(["page-tag-confidence"]) == {}
    assert registry.get("page-tag-confidence").order > registry.get("page-tags").order
    assert math.isclose(TagPrevalence.objects.get(tag=tags["receipt"]).prevalence, 0.5, abs_tol=0.1)


def test_the_triage_inbox_ranks_by_confidence(tags):
    """One expert (0.95) highlighting page A outranks three of four newcomers highlighting
    page B (confidence 0.95 against 0.69), though B's Wilson bound is higher (0.30 against 0.21)."""
    from contributors.selectors import triage_inbox

    doc = factories.make_document(pages=2)
    factories.make_assignment(documents=[doc], threshold=1)
    a, b = doc.pages.order_by("number")
    expert = factories.make_user("triage-expert")
    Reliability.objects.create(
        user=expert,
        tag=tags["investigate-this"],
        accuracy=0.95,
        weight=model.weight(0.95),
        updated="2026-12-06T00:00Z",
    )
    review(reviewer=expert, page_id=a.pk, tag_slugs=["investigate-this"])
    for i in range(4):
        review(
            reviewer=factories.make_user(f"triage-{i}"),
            page_id=b.pk,
            tag_slugs=["investigate-this"] if i else [],
        )
    inbox = triage_inbox()
    assert [item.page.pk for item in inbox] == [a.pk, b.pk]
    assert inbox[0].score < inbox[1].score
    assert inbox[0].confidence == pytest.approx(0.95) and inbox[1].confidence == pytest.approx(2.25 / 3.25)
