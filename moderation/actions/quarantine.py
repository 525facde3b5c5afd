"""Quarantine: a reviewer's reviews stop counting everywhere, without the reviewer noticing, and
count again on release. Nothing is deleted.

The state lives on ``Reviewer.quarantined_at``; ``Review.quarantined`` is its copy on each review
(registered as ``review-quarantined``), which every count leaves out: page review counts (so
thresholds, the picker's sets and assignment progress), page tags and their public listing
time, reviewers' counts, leaderboards and the 48-hour table. The copy is written here through
``reviews.denormalisations.copy_quarantine``, which declares the flipped reviews' pages and
reviewers with ``denorm.changes.changed``: after commit the registry re-derives every count of
them (a page a quarantined reviewer pushed over a threshold goes back to the picker). While
quarantined, the reviewer keeps reviewing: ``submit_review`` records their reviews quarantined,
and their "seen" set still holds every page they reviewed, so they never get one twice.

Each quarantine and release is recorded (``moderation.models.Quarantine``: who, when, why) and
shown on ``/staff/activity/``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from moderation.models import Quarantine
from pagecache import generations
from reviews.denormalisations.quarantine import copy_quarantine
from reviews.models import Reviewer

MAX_REASON_LENGTH = 2000
MAX_USERS_AT_ONCE = 1000


class QuarantineError(ValueError):
    """Bad input for a quarantine or release: the message is safe to show to the editor."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def clean_reason(reason: str) -> str:
    text = " ".join(str(reason or "").split())
    if not text:
        raise QuarantineError("Give a reason: it is recorded with the decision.", code="no_reason")
    if "\x00" in text:
        raise QuarantineError("The reason contains invalid characters.", code="bad_reason")
    if len(text) > MAX_REASON_LENGTH:
        raise QuarantineError(
            f"The reason is too long (at most {MAX_REASON_LENGTH} characters).", code="bad_reason"
        )
    return text


def _user_ids(users: Iterable[AbstractBaseUser | int]) -> list[int]:
    ids = set()
    for user in users:
        pk = user if isinstance(user, int) else getattr(user, "pk", None)
        if not isinstance(pk, int) or isinstance(pk, bool) or pk <= 0:
            raise QuarantineError("That is not a reviewer.", code="no_such_reviewer")
        ids.add(pk)
    if not ids:
        raise QuarantineError("Choose at least one reviewer.", code="no_reviewer")
    if len(ids) > MAX_USERS_AT_ONCE:
        raise QuarantineError(f"At most {MAX_USERS_AT_ONCE} reviewers at once.", code="too_many")
    return sorted(ids)


def _locked_reviewers(user_ids: list[int]) -> list[Reviewer]:
    """The reviewers' rows, locked (``submit_review`` locks the same row before recording a
    review, so a review is either counted before the change or takes the new state). Every id
    must be an existing, non-staff account: otherwise nothing changes. An account without a
    Reviewer row yet (no review so far) gets one."""
    accounts = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "is_staff"))
    if set(accounts) != set(user_ids):
        raise QuarantineError("No reviewer by that id.", code="no_such_reviewer")
    if any(accounts.values()):
        raise QuarantineError("Editors' accounts cannot be quarantined.", code="staff")
    for user_id in sorted(
        set(user_ids) - set(Reviewer.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True))
    ):
        Reviewer.objects.get_or_create(user_id=user_id)
    return list(Reviewer.objects.select_for_update().filter(user_id__in=user_ids).order_by("user_id"))


def _after_commit() -> None:
    # Cached anonymous pages show counts, listings and discoveries' credit: all of them change.
    # (The counts' own generations follow the registry's refresh; the catalogue's and the
    # discoveries' make every cached page render afresh at once, not after the soft bound.)
    generations.bump_on_commit([generations.CATALOGUE, generations.DISCOVERIES, generations.COUNTS])


@transaction.atomic
def quarantine_reviewers(
    users: Iterable[AbstractBaseUser | int], *, by: AbstractBaseUser | None, reason: str
) -> list[Quarantine]:
    """Quarantine these reviewers (a whole burst at once): from the commit on their reviews
    count for nothing. Already quarantined ones are left as they are. Returns the new records.
    All or nothing: an unknown id, a staff account or a missing reason changes nothing."""
    reason = clean_reason(reason)
    user_ids = _user_ids(users)
    reviewers = _locked_reviewers(user_ids)
    now = timezone.now()
    records = []
    for reviewer in reviewers:
        if reviewer.quarantined_at is not None:
            continue
        reviewer.quarantined_at = now
        reviewer.save(update_fields=["quarantined_at"])
        records.append(
            Quarantine.objects.create(
                user_id=reviewer.user_id, reason=reason, quarantined_by=by, quarantined_at=now
            )
        )
    if records:
        copy_quarantine([r.user_id for r in records])
        _after_commit()
    return records


def quarantine_reviewer(
    user: AbstractBaseUser | int, *, by: AbstractBaseUser | None, reason: str
) -> Quarantine | None:
    """Quarantine one reviewer; None when they already were."""
    records = quarantine_reviewers([user], by=by, reason=reason)
    return records[0] if records else None


@transaction.atomic
def release_reviewers(
    users: Iterable[AbstractBaseUser | int], *, by: AbstractBaseUser | None, reason: str
) -> list[Quarantine]:
    """Release these reviewers: every review of theirs counts again from the commit on. Ones not
    quarantined are left as they are. Returns the closed records."""
    reason = clean_reason(reason)
    user_ids = _user_ids(users)
    reviewers = _locked_reviewers(user_ids)
    now = timezone.now()
    released = []
    for reviewer in reviewers:
        if reviewer.quarantined_at is None:
            continue
        reviewer.quarantined_at = None
        reviewer.save(update_fields=["quarantined_at"])
        record = (
            Quarantine.objects.select_for_update()
            .filter(user_id=reviewer.user_id, released_at__isnull=True)
            .order_by("-quarantined_at", "-id")
            .first()
        )
        if record is None:  # quarantined by hand, without a record: the release is recorded anyway
            record = Quarantine(user_id=reviewer.user_id, reason="(no record)", quarantined_at=now)
        record.released_by, record.released_at, record.release_reason = by, now, reason
        record.save()
        released.append(record)
    if released:
        copy_quarantine([r.user_id for r in released])
        _after_commit()
    return released


def release_reviewer(
    user: AbstractBaseUser | int, *, by: AbstractBaseUser | None, reason: str
) -> Quarantine | None:
    """Release one reviewer; None when they were not quarantined."""
    records = release_reviewers([user], by=by, reason=reason)
    return records[0] if records else None
