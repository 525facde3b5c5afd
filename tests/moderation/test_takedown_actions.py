"""The takedown actions: a reason is required, each decision is recorded (who, when, why),
reviews are never deleted, the page/document rule holds, and every copy agrees with Postgres
afterwards (check_denormalisations: zero drift)."""

from __future__ import annotations

import pytest

from catalogue.actions.documents import commit_document_pages
from catalogue.models import Document, Page
from denorm import operations, registry
from moderation.actions.takedown import (
    TakedownError,
    reinstate_document,
    reinstate_page,
    withdraw_document,
    withdraw_page,
)
from moderation.models import Withdrawal
from reviews.models import PageTag, Review
from tests import factories
from tests.denorm_support import maintained_on_commit

pytestmark = pytest.mark.django_db(transaction=True)


def _drift() -> dict[str, str]:
    results = operations.check_entries(registry.select(maintained_on_commit()))
    return {e.name: str(d) for e, d in results if not d.ok}


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_withdrawing_needs_a_reason_and_changes_nothing_without_one(release, editor, reason):
    page = release["pages"][0]
    with pytest.raises(TakedownError) as raised:
        withdraw_page(page, by=editor, reason=reason)
    assert raised.value.code == "reason_required" and "reason is required" in raised.value.message
    with pytest.raises(TakedownError):
        withdraw_document(release["doc"], by=editor, reason=reason)
    assert not Withdrawal.objects.exists()
    assert not Page.objects.filter(withdrawn_at__isnull=False).exists()
    assert Document.objects.get(pk=release["doc"].pk).withdrawn_at is None


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda r, ed: withdraw_page(r["pages"][0], by=ed, reason="x\x00y"), "bad_reason"),
        (lambda r, ed: withdraw_page(r["pages"][0], by=ed, reason="x" * 2001), "reason_too_long"),
        (lambda r, ed: withdraw_page(2**62, by=ed, reason="x"), "no_such_page"),
        (lambda r, ed: withdraw_page("12; DROP", by=ed, reason="x"), "bad_id"),
        (lambda r, ed: withdraw_document(2**62, by=ed, reason="x"), "no_such_document"),
        (lambda r, ed: reinstate_page(r["pages"][0], by=ed), "not_withdrawn"),
        (lambda r, ed: reinstate_document(r["doc"], by=ed), "not_withdrawn"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(release, editor, call, code):
    with pytest.raises(TakedownError) as raised:
        call(release, editor)
    assert raised.value.code == code
    assert not Withdrawal.objects.exists()


def test_each_decision_is_recorded_and_reviews_are_kept(release, editor):
    page = release["pages"][0]
    reviews = set(Review.objects.filter(page=page).values_list("pk", flat=True))
    tags = set(PageTag.objects.filter(page=page).values_list("tag__slug", "count"))
    record = withdraw_page(page, by=editor, reason="  Home address  ")
    assert (record.page_id, record.withdrawn_by, record.reason) == (page.pk, editor, "Home address")
    assert Page.objects.get(pk=page.pk).withdrawn_at == record.withdrawn_at
    with pytest.raises(TakedownError) as raised:
        withdraw_page(page, by=editor, reason="again")
    assert raised.value.code == "already_withdrawn"
    assert set(Review.objects.filter(page=page).values_list("pk", flat=True)) == reviews
    assert not PageTag.objects.filter(page=page, listed_at__isnull=False).exists()  # public nowhere
    reinstate_page(page, by=editor, reason="Office address")
    record.refresh_from_db()
    assert (record.reinstated_by, record.reinstate_reason) == (editor, "Office address")
    assert record.reinstated_at >= record.withdrawn_at
    assert Page.objects.get(pk=page.pk).withdrawn_at is None
    assert set(PageTag.objects.filter(page=page).values_list("tag__slug", "count")) == tags
    assert PageTag.objects.filter(page=page, listed_at__isnull=False).count() == len(tags)
    assert _drift() == {}


def test_the_page_and_document_rule(release, editor):
    """A page is withdrawn while it has an open withdrawal of its own or its document is
    withdrawn."""
    first, second, third = release["pages"]
    withdraw_page(first, by=editor, reason="Home address")
    earlier = Page.objects.get(pk=first.pk).withdrawn_at
    withdraw_document(release["doc"], by=editor, reason="Whole file")
    assert Page.objects.get(pk=first.pk).withdrawn_at == earlier  # keeps its own time
    assert Page.objects.filter(document=release["doc"], withdrawn_at__isnull=True).count() == 0
    # Withdrawing a page that is down with its document records its own withdrawal:
    withdraw_page(third, by=editor, reason="Also a signature")
    # Reinstating a page under a withdrawn document closes its own withdrawal; it stays down.
    reinstate_page(third, by=editor)
    assert Page.objects.get(pk=third.pk).withdrawn_at is not None
    reinstate_document(release["doc"], by=editor, reason="Cleared")
    down = set(
        Page.objects.filter(document=release["doc"], withdrawn_at__isnull=False).values_list("pk", flat=True)
    )
    assert down == {first.pk}
    assert Document.objects.get(pk=release["doc"].pk).withdrawn_at is None
    assert _drift() == {}
    reinstate_page(first, by=editor)
    assert not Page.objects.filter(withdrawn_at__isnull=False).exists()
    assert Withdrawal.objects.filter(reinstated_at__isnull=True).count() == 0
    assert Withdrawal.objects.count() == 3  # nothing deleted
    assert _drift() == {}


def test_pages_of_a_withdrawn_document_arrive_withdrawn_when_it_is_imported_again(editor, tags):
    document = factories.make_document(pages=0)
    factories.make_assignment(documents=[document])
    withdraw_document(document, by=editor, reason="Wrong member")
    pages = [
        Page(
            document=document,
            number=n,
            image=f"pages/{document.pk}-{n}.png",
            thumbnail=f"thumbs/{document.pk}-{n}.png",
        )
        for n in (1, 2)
    ]
    commit_document_pages(document_id=document.pk, pages=pages)
    assert Page.objects.filter(document=document, withdrawn_at__isnull=True).count() == 0
    assert _drift() == {}


def test_no_drift_after_withdrawing_and_reinstating_a_document(release, editor):
    withdraw_document(release["doc"], by=editor, reason="Medical letters")
    assert _drift() == {}
    reinstate_document(release["doc"], by=editor)
    assert _drift() == {}


def test_a_review_racing_a_withdrawal_waits_for_it_and_is_refused(release, editor, reviewer):
    """The withdrawal locks the page row, as submit_review does: a review arriving while the
    withdrawal's transaction is open waits for it, then sees the page withdrawn and records
    nothing (its counter increment is rolled back)."""
    import threading
    import time

    from django.db import connection, connections, transaction

    from reviews.actions import ReviewError, submit_review

    page = release["pages"][2]
    outcome: list = []

    def review() -> None:
        try:
            submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"])
            outcome.append("recorded")
        except ReviewError as exc:
            outcome.append(exc.code)
        finally:
            connections.close_all()

    racer = threading.Thread(target=review)
    with transaction.atomic():
        withdraw_page(page, by=editor, reason="Home address")
        racer.start()
        for _ in range(500):  # until the review waits on the page's row lock
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
                if cursor.fetchone()[0]:
                    break
            time.sleep(0.01)
        else:
            pytest.fail("the review never waited for the withdrawal's lock")
    racer.join(30)
    assert outcome == ["withdrawn"]
    assert not Review.objects.filter(page=page).exists()
    assert Page.objects.get(pk=page.pk).review_count == 0
    assert _drift() == {}
