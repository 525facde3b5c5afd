"""Reads about takedowns (no writes here): whether a media file may be served, the open
withdrawal of a page or document, and recent withdrawals for ``/staff/activity/``."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote

from django.db.models import Q

from assignments import visibility
from catalogue.models import Page
from moderation.models import EmbargoDecision, Withdrawal

# Page images and thumbnails: ``pages/<document id>/<n>-<attempt>.jpg`` from the importer
# (``pages/<document id>-<n>.png`` in test factories). The document id narrows the lookup to one
# document's pages (an index), whatever the size of the release.
_PAGE_MEDIA = re.compile(r"^(?:pages|thumbs)/(\d{1,18})[/-]")
_PAGE_MEDIA_DIRS = ("pages/", "thumbs/")


class MediaAccess(StrEnum):
    PUBLIC = "public"  # anyone may fetch it
    WITHDRAWN = "withdrawn"  # a withdrawn page's image or thumbnail: staff only (else 410)
    EMBARGOED = "embargoed"  # an embargoed page's (assignments.visibility): staff only (else 404)
    UNKNOWN = "unknown"  # under pages/ or thumbs/ but no page refers to it: staff only (else 404)


def media_name(path: str) -> str | None:
    """The storage name a media URL path (``/media/...`` or relative, percent-encoded as sent)
    reaches, normalised the way a web server maps it to a file; None if it leaves the root."""
    path = unquote(path.split("?", 1)[0]).lstrip("/")
    name = posixpath.normpath(path) if path else ""
    if name in ("", ".") or name.startswith("..") or "\x00" in name:
        return None
    return name


def media_access(name: str) -> MediaAccess:
    """Who may fetch the media file ``name`` (a storage name, see :func:`media_name`). One
    indexed query for page media, none for anything else. Fails closed: a page-media name that
    no page refers to (a killed import's leftovers, or a spelling the check does not follow) is
    not served to the public."""
    if not name.startswith(_PAGE_MEDIA_DIRS):
        return MediaAccess.PUBLIC
    match = _PAGE_MEDIA.match(name)
    if match is None:
        return MediaAccess.UNKNOWN
    row = (
        Page.objects.filter(document_id=int(match.group(1)))
        .filter(Q(image=name) | Q(thumbnail=name))
        .values_list("public", "withdrawn_at")[:1]
    )
    found = list(row)
    if not found:
        return MediaAccess.UNKNOWN
    # The one rule (assignments.visibility): the same as the page's own URL answers.
    page = Page(public=found[0][0], withdrawn_at=found[0][1])
    seen_as = visibility.page_visibility(page)
    if seen_as == "public":
        return MediaAccess.PUBLIC
    return MediaAccess.WITHDRAWN if seen_as == "withdrawn" else MediaAccess.EMBARGOED


def open_page_withdrawal(page_id: int) -> Withdrawal | None:
    return (
        Withdrawal.objects.select_related("withdrawn_by").filter(page_id=page_id, reinstated_at=None).first()
    )


def open_document_withdrawal(document_id: int) -> Withdrawal | None:
    return (
        Withdrawal.objects.select_related("withdrawn_by")
        .filter(document_id=document_id, reinstated_at=None)
        .first()
    )


@dataclass
class WithdrawalEvent:
    """One line of ``/staff/activity/``: a withdrawal or a reinstatement."""

    kind: str  # "withdrawn" or "reinstated"
    at: object
    by: object | None
    reason: str
    withdrawal: Withdrawal


def recent_withdrawal_events(*, limit: int = 20) -> list[WithdrawalEvent]:
    """The latest withdrawals and reinstatements, newest first (two queries)."""
    related = ("withdrawn_by", "reinstated_by", "page__document", "document")
    events = [
        WithdrawalEvent("withdrawn", w.withdrawn_at, w.withdrawn_by, w.reason, w)
        for w in Withdrawal.objects.select_related(*related).order_by("-withdrawn_at", "-id")[:limit]
    ]
    events += [
        WithdrawalEvent("reinstated", w.reinstated_at, w.reinstated_by, w.reinstate_reason, w)
        for w in Withdrawal.objects.select_related(*related)
        .filter(reinstated_at__isnull=False)
        .order_by("-reinstated_at", "-id")[:limit]
    ]
    events.sort(key=lambda e: (e.at, e.withdrawal.pk), reverse=True)
    return events[:limit]


def recent_embargo_decisions(*, limit: int = 20) -> list[EmbargoDecision]:
    """The latest documents published on their own or embargoed again (who, when), newest first:
    the embargo's audit trail on ``/staff/activity/`` (``moderation.actions.embargo``)."""
    return list(
        EmbargoDecision.objects.select_related("decided_by", "document").order_by("-decided_at", "-id")[
            :limit
        ]
    )
