"""Writes about discoveries: pages editors highlight, credited to a reviewer."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from reviews.models import Discovery
from reviews.selectors import first_highlighting_reviewer_id


@transaction.atomic
def create_discovery(
    *,
    page_id: int,
    title: str,
    note: str = "",
    created_by: AbstractBaseUser | None = None,
    credited_id: int | None = None,
    credit_nobody: bool = False,
) -> Discovery:
    """Make a page a discovery. Unless an editor names someone (``credited_id``) or nobody
    (``credit_nobody``), the credit goes to the reviewer who first tagged the page with a
    highlighting tag, and to nobody when no one did: not to a later highlighter, nor to a
    reviewer who used only other tags."""
    if credit_nobody:
        credited_id = None
    elif credited_id is None:
        credited_id = first_highlighting_reviewer_id(page_id)
    return Discovery.objects.create(
        page_id=page_id, title=title, note=note, created_by=created_by, credited_id=credited_id
    )


@transaction.atomic
def update_discovery(
    *, discovery_id: int, page_id: int, title: str, note: str, credited_id: int | None
) -> Discovery:
    """An editor's edit of a discovery; the credit is whatever the editor chose."""
    discovery = Discovery.objects.select_for_update().get(pk=discovery_id)
    discovery.page_id, discovery.title, discovery.note = page_id, title, note
    discovery.credited_id = credited_id
    discovery.save(update_fields=["page", "title", "note", "credited"])
    return discovery
