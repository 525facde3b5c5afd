"""Takedown: withdraw a page or a whole document from every public surface, and reinstate it.

State lives on the rows: ``Page.withdrawn_at`` (what every surface reads) and
``Document.withdrawn_at``; each decision is a ``moderation.models.Withdrawal`` (who, when, why;
reinstating closes it). Nothing else is written and nothing is deleted: reviews, tags and counts
stay in Postgres, so reinstating puts everything back as it was.

The rule for pages: **a page is withdrawn while it has an open withdrawal of its own or its
document is withdrawn.** So withdrawing a document withdraws its pages (one already withdrawn on
its own keeps its time), reinstating the document reinstates them except those with an open
withdrawal of their own, and reinstating such a page while its document is withdrawn closes its
own withdrawal but leaves it down with the document. Withdrawing a page that is down only with
its document records a withdrawal of its own, so it stays down when the document comes back.

What follows from one call, in its transaction: the document row, then the page rows, are locked
(``submit_review`` locks the page too, so a review racing a withdrawal either commits first or
is refused); ``withdrawn_at`` is set or cleared; the pages' ``PageTag.listed_at`` is re-derived
(``relist_pages``: none while withdrawn), which every public listing, feed, export, API listing
and tag count reads, and the picker's Postgres check reads ``withdrawn_at`` through
``assignments.scope``. So from the commit on no public read shows the page. After commit the
registry re-derives every other copy from the pages declared with ``denorm.changes.changed``
(with the assignments they sat in): the picker's Redis sets (a withdrawn page is in no
assignment), the progress counters, leaderboards, and the page cache's generations
(``catalogue``, read on every request, which also deletes nginx's copies).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from assignments.actions import sync_visibility
from assignments.denormalisations.contexts import document_contexts
from assignments.denormalisations.listed_at import relist_pages
from catalogue.models import Document, Page
from denorm.changes import PageContext, changed
from lib.ids import is_id
from moderation.models import Withdrawal

MAX_REASON_CHARS = 2000


class TakedownError(ValueError):
    """Bad input or a state that does not allow the step: the message is safe to show."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def _pk(obj) -> int:
    try:
        pk = int(getattr(obj, "pk", obj))
    except (TypeError, ValueError):
        raise TakedownError("That is not a page or document id.", code="bad_id") from None
    if not is_id(pk):
        raise TakedownError("That is not a page or document id.", code="bad_id")
    return pk


def _text(reason, *, required: bool) -> str:
    text = str(reason or "").strip()
    if required and not text:
        raise TakedownError(
            "Say why it is withdrawn: a reason is required (it is shown on the staff activity page).",
            code="reason_required",
        )
    if "\x00" in text:
        raise TakedownError("The reason contains a NUL character.", code="bad_reason")
    if len(text) > MAX_REASON_CHARS:
        raise TakedownError(f"Keep the reason under {MAX_REASON_CHARS} characters.", code="reason_too_long")
    return text


def _by(user) -> AbstractBaseUser | None:
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _lock_document(document_id: int) -> Document:
    document = Document.objects.select_for_update().filter(pk=document_id).first()
    if document is None:
        raise TakedownError("That document does not exist.", code="no_such_document")
    return document


def _lock_page(page_id: int) -> tuple[Page, Document]:
    """The page's document row, then the page row (the order every takedown action locks in)."""
    document_id = Page.objects.filter(pk=page_id).values_list("document_id", flat=True).first()
    if document_id is None:
        raise TakedownError("That page does not exist.", code="no_such_page")
    document = _lock_document(document_id)
    page = Page.objects.select_for_update().filter(pk=page_id, document_id=document_id).first()
    if page is None:  # deleted or moved meanwhile
        raise TakedownError("That page does not exist.", code="no_such_page")
    return page, document


def _set_withdrawn(page_ids: list[int], *, document_id: int, at) -> None:
    """Set (``at``) or clear (None) ``withdrawn_at`` of pages of one document, already locked,
    and re-derive who may see the document and its pages (``assignments.visibility``)."""
    if page_ids:
        # Where the pages sit now: after commit the refresh removes them from these assignments'
        # copies (a withdrawn page is in none), or finds them there again when reinstated.
        before = document_contexts([document_id]).get(document_id) or PageContext(documents={document_id})
        changed(pages={page_id: PageContext().merge(before) for page_id in page_ids})
        Page.objects.filter(pk__in=page_ids).update(withdrawn_at=at)
    # Page.public and Document.public (the document's withdrawal too, even when every page was
    # already down): public surfaces read them, right from the commit on.
    sync_visibility(document_ids=[document_id], page_ids=page_ids)
    if page_ids:
        relist_pages(page_ids)  # public listings read listed_at: right from the commit on


@transaction.atomic
def withdraw_page(page, *, by, reason: str) -> Withdrawal:
    """Withdraw one page (a Page or its id) from every public surface; ``reason`` is required."""
    reason = _text(reason, required=True)
    page, _ = _lock_page(_pk(page))
    if Withdrawal.objects.filter(page_id=page.pk, reinstated_at__isnull=True).exists():
        raise TakedownError("That page is already withdrawn.", code="already_withdrawn")
    now = timezone.now()
    record = Withdrawal.objects.create(page_id=page.pk, reason=reason, withdrawn_by=_by(by), withdrawn_at=now)
    if page.withdrawn_at is None:  # else it is down with its document already
        _set_withdrawn([page.pk], document_id=page.document_id, at=now)
    return record


@transaction.atomic
def reinstate_page(page, *, by, reason: str = "") -> Withdrawal:
    """Close the page's own withdrawal; the page is public again unless its document is withdrawn."""
    reason = _text(reason, required=False)
    page, document = _lock_page(_pk(page))
    record = (
        Withdrawal.objects.select_for_update().filter(page_id=page.pk, reinstated_at__isnull=True).first()
    )
    if record is None:
        with_document = " (its document is: reinstate the document)" if document.withdrawn_at else ""
        raise TakedownError(f"That page is not withdrawn on its own{with_document}.", code="not_withdrawn")
    _close(record, by=by, reason=reason)
    if document.withdrawn_at is None:
        _set_withdrawn([page.pk], document_id=document.pk, at=None)
    return record


@transaction.atomic
def withdraw_document(document, *, by, reason: str) -> Withdrawal:
    """Withdraw a document and every page of it; ``reason`` is required."""
    reason = _text(reason, required=True)
    document = _lock_document(_pk(document))
    if document.withdrawn_at is not None:
        raise TakedownError("That document is already withdrawn.", code="already_withdrawn")
    now = timezone.now()
    record = Withdrawal.objects.create(
        document_id=document.pk, reason=reason, withdrawn_by=_by(by), withdrawn_at=now
    )
    document.withdrawn_at = now
    document.save(update_fields=["withdrawn_at"])
    page_ids = list(
        Page.objects.select_for_update()
        .filter(document_id=document.pk, withdrawn_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    _set_withdrawn(page_ids, document_id=document.pk, at=now)
    return record


@transaction.atomic
def reinstate_document(document, *, by, reason: str = "") -> Withdrawal | None:
    """Reinstate a document and its pages, except pages with an open withdrawal of their own.
    Returns the closed record (None if the document was withdrawn without one)."""
    reason = _text(reason, required=False)
    document = _lock_document(_pk(document))
    if document.withdrawn_at is None:
        raise TakedownError("That document is not withdrawn.", code="not_withdrawn")
    record = (
        Withdrawal.objects.select_for_update()
        .filter(document_id=document.pk, reinstated_at__isnull=True)
        .first()
    )
    if record is not None:
        _close(record, by=by, reason=reason)
    document.withdrawn_at = None
    document.save(update_fields=["withdrawn_at"])
    own = Withdrawal.objects.filter(page__document_id=document.pk, reinstated_at__isnull=True).values(
        "page_id"
    )
    page_ids = list(
        Page.objects.select_for_update()
        .filter(document_id=document.pk, withdrawn_at__isnull=False)
        .exclude(pk__in=own)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    _set_withdrawn(page_ids, document_id=document.pk, at=None)
    return record


def _close(record: Withdrawal, *, by, reason: str) -> None:
    record.reinstated_by = _by(by)
    record.reinstated_at = timezone.now()
    record.reinstate_reason = reason
    record.save(update_fields=["reinstated_by", "reinstated_at", "reinstate_reason"])
