"""A review submitted while its reviewer is being quarantined, for real (two connections): the
submit waits for the quarantine's lock on the reviewer row and then records its review
quarantined, so no review of a quarantined reviewer ever counts."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from catalogue.models import Page
from moderation.actions.quarantine import quarantine_reviewers
from reviews.actions import submit_review
from reviews.models import PageTag, Review, Reviewer
from tests import factories
from tests.denorm_support import drift


def _waiting_for_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_submit_racing_with_the_quarantine_is_recorded_quarantined(tags, editor):
    doc = factories.make_document(pages=2)
    first, second = doc.pages.order_by("number")
    assignment = factories.make_assignment(documents=[doc], threshold=1)
    mallory = factories.make_user("mallory")
    submit_review(reviewer=mallory, page_id=first.pk, tag_slugs=["receipt"], assignment_id=assignment.pk)
    outcomes, errors = [], []

    def submit() -> None:
        try:
            outcomes.append(
                submit_review(
                    reviewer=mallory, page_id=second.pk, tag_slugs=["receipt"], assignment_id=assignment.pk
                )
            )
        except Exception as exc:  # reported below: the test thread must see it
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=submit)
    with transaction.atomic():
        quarantine_reviewers([mallory], by=editor, reason="racing")  # holds the reviewer row
        thread.start()
        deadline = time.monotonic() + 30
        while _waiting_for_locks() < 1 and thread.is_alive():
            assert time.monotonic() < deadline, "the submit never reached the reviewer lock"
            time.sleep(0.01)
        assert thread.is_alive()  # waiting for the quarantine to commit
    thread.join(timeout=30)
    assert not thread.is_alive()

    assert errors == []
    assert outcomes[0].created and outcomes[0].review.quarantined
    assert set(Review.objects.filter(reviewer=mallory).values_list("quarantined", flat=True)) == {True}
    assert Page.objects.get(pk=second.pk).review_count == 0
    assert not PageTag.objects.exists()
    assert Reviewer.objects.get(user=mallory).review_count == 0
    assert drift(["review-quarantined", "page-review-count", "page-tags", "reviewer-review-count"]) == {}
