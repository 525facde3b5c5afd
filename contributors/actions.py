"""Writes of the editors' triage: make a highlighted page a discovery, dismiss it, or ask for
more eyes. Each is atomic and records a ``TriageDecision`` with the editor and the time.

The discovery itself, and its credit rule (the first reviewer to highlight the page), is
``reviews.actions.create_discovery``; the picker's priority pages are
``assignments.actions.prioritise_pages``.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from assignments import scope
from assignments.actions import prioritise_pages
from assignments.models import Assignment
from catalogue.models import Page
from contributors.models import TriageDecision
from reviews.actions.discoveries import create_discovery
from reviews.models import Discovery


class TriageError(ValueError):
    """The decision cannot be made: the message is safe to show to the editor."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def _locked_page(page_id: int) -> Page:
    # Locks the page row: two editors deciding on one page at once are serialised.
    page = (
        Page.objects.select_for_update(of=("self",))
        .select_related("document__member")
        .filter(pk=page_id)
        .first()
    )
    if page is None:
        raise TriageError("That page does not exist (any more).", code="no_such_page")
    return page


@transaction.atomic
def make_discovery_from_triage(
    *,
    page_id: int,
    editor: AbstractBaseUser,
    title: str,
    note: str = "",
    credited_id: int | None = None,
    credit_nobody: bool = False,
) -> Discovery:
    """Make a highlighted page a discovery (credit by ``create_discovery``'s rule unless the
    editor overrides it) and record the decision."""
    page = _locked_page(page_id)
    title = title.strip()
    if not title:
        raise TriageError("A discovery needs a short title.", code="no_title")
    if Discovery.objects.filter(page_id=page.pk).exists():
        raise TriageError("That page is already a discovery.", code="already_discovered")
    discovery = create_discovery(
        page_id=page.pk,
        title=title,
        note=note.strip(),
        created_by=editor,
        credited_id=credited_id,
        credit_nobody=credit_nobody,
    )
    TriageDecision.objects.create(
        page=page,
        decision=TriageDecision.Decision.DISCOVERY,
        editor=editor,
        note=note.strip(),
        review_count=page.review_count,
        discovery=discovery,
    )
    return discovery


@transaction.atomic
def dismiss_highlighted_page(*, page_id: int, editor: AbstractBaseUser, note: str = "") -> TriageDecision:
    """Nothing to see: the page leaves the inbox for good."""
    page = _locked_page(page_id)
    return TriageDecision.objects.create(
        page=page,
        decision=TriageDecision.Decision.DISMISSED,
        editor=editor,
        note=note.strip(),
        review_count=page.review_count,
    )


@transaction.atomic
def ask_for_more_eyes(
    *, page_id: int, editor: AbstractBaseUser, note: str = ""
) -> tuple[TriageDecision, list[int]]:
    """Raise the page's priority in the picker in every active assignment containing it, and
    take it out of the inbox until it has more reviews. Returns the decision and the ids of the
    assignments where it was made a priority page."""
    page = _locked_page(page_id)
    document = page.document
    condition = scope.containing_document_filter(
        document_id=document.pk,
        member_id=document.member_id,
        party_id=document.member.party_id if document.member_id else None,
    )
    assignment_ids = sorted(
        set(Assignment.objects.filter(condition, active=True).values_list("pk", flat=True))
    )
    for assignment_id in assignment_ids:
        prioritise_pages(assignment_id=assignment_id, page_ids=[page.pk], by=editor)
    decision = TriageDecision.objects.create(
        page=page,
        decision=TriageDecision.Decision.MORE_EYES,
        editor=editor,
        note=note.strip(),
        review_count=page.review_count,
    )
    return decision, assignment_ids
