"""Staff pages of moderation: ``/staff/suspicious/`` (candidates for quarantine, each with its
reason, and the quarantined reviewers, and the address exemptions from the new-account limit)
and its forms: quarantine, release, exempt an address range, end an exemption. Views parse
and validate; writes are in ``moderation.actions.quarantine``, reads in ``moderation.selectors``."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from consensus import selectors as consensus_selectors
from lib.ids import is_id, parse_id
from lib.web import allow_methods, error_page, staff_required
from moderation import exemptions, selectors
from moderation.actions.exemptions import (
    MAX_HOURS,
    ExemptionError,
    create_address_exemption,
    end_address_exemption,
)
from moderation.actions.quarantine import (
    MAX_REASON_LENGTH,
    MAX_USERS_AT_ONCE,
    QuarantineError,
    quarantine_reviewers,
    release_reviewers,
)


@never_cache
@staff_required
@allow_methods("GET", "HEAD")
def suspicious(request):
    return render(
        request,
        "moderation/suspicious.html",
        {
            "found": selectors.suspicious(),
            # Issue 25: reviewers the crowd model barely trusts (consensus, same layer).
            "low_reliability": consensus_selectors.low_reliability(),
            "quarantined": selectors.quarantined_reviewers(),
            "records": selectors.recent_records(limit=20),
            "reason_max": MAX_REASON_LENGTH,
            "exemptions": exemptions.live_exemptions(),
            "past_exemptions": exemptions.recent_exemptions(limit=20),
            "exemption_max_hours": MAX_HOURS,
        },
    )


def _user_ids(request) -> list[int]:
    raw = request.POST.getlist("user")
    if not raw or len(raw) > MAX_USERS_AT_ONCE:
        raise QuarantineError("Choose at least one reviewer.", code="no_reviewer")
    ids = []
    for value in raw:
        value = value.strip()
        user_id = parse_id(value)
        if user_id is None:
            raise QuarantineError("No reviewer by that id.", code="no_such_reviewer")
        ids.append(user_id)
    return ids


def _reason(request) -> str:
    value = request.POST.get("reason", "")
    if "\x00" in value or len(value) > MAX_REASON_LENGTH:
        raise QuarantineError("The reason is too long or contains invalid characters.", code="bad_reason")
    return value


def _decide(request, action, done: str, failed: str):
    back = reverse("staff-suspicious")
    try:
        records = action(_user_ids(request), by=request.user, reason=_reason(request))
    except QuarantineError as exc:
        status = 404 if exc.code == "no_such_reviewer" else 400
        return error_page(request, status=status, title=failed, message=exc.message, retry_url=back)
    n = len(records)
    messages.success(request, done.format(n=n, s="" if n == 1 else "s"))
    return redirect(back)


@never_cache
@staff_required
@allow_methods("POST")
def quarantine(request):
    """Quarantine one reviewer or a whole burst (``user`` repeated), with a reason."""
    return _decide(
        request,
        quarantine_reviewers,
        "{n} reviewer{s} quarantined: their reviews count for nothing from now on.",
        "Nobody was quarantined",
    )


@never_cache
@staff_required
@allow_methods("POST")
def release(request):
    """Release quarantined reviewers: their reviews count again."""
    return _decide(
        request,
        release_reviewers,
        "{n} reviewer{s} released: their reviews count again.",
        "Nobody was released",
    )


def _small_int(value: str, *, code: str, message: str) -> int:
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise ExemptionError(message, code=code)
    return int(value)


@never_cache
@staff_required
@allow_methods("POST")
def exempt(request):
    """Exempt an address range from the new-account limit for some hours, with a reason."""
    back = reverse("staff-suspicious")
    try:
        hours = _small_int(
            request.POST.get("hours", ""),
            code="bad_hours",
            message=f"Give a duration of 1 to {MAX_HOURS} hours.",
        )
        exemption = create_address_exemption(
            network=request.POST.get("network", ""), hours=hours, reason=_reason(request), by=request.user
        )
    except (ExemptionError, QuarantineError) as exc:
        return error_page(
            request, status=400, title="Nothing was exempted", message=exc.message, retry_url=back
        )
    messages.success(
        request,
        f"{exemption.network} is exempt from the new-account limit until {exemption.until:%d %b %H:%M} UTC.",
    )
    return redirect(back)


@never_cache
@staff_required
@allow_methods("POST")
def end_exemption(request):
    """End an exemption now: the new-account limit applies to the range again."""
    back = reverse("staff-suspicious")
    try:
        exemption_id = _small_int(
            request.POST.get("exemption", ""), code="no_such_exemption", message="No such exemption."
        )
        if not is_id(exemption_id):
            raise ExemptionError("No such exemption.", code="no_such_exemption")
        exemption = end_address_exemption(exemption_id=exemption_id, by=request.user)
    except ExemptionError as exc:
        status = 404 if exc.code == "no_such_exemption" else 400
        return error_page(
            request, status=status, title="Nothing was ended", message=exc.message, retry_url=back
        )
    messages.success(request, f"The exemption of {exemption.network} has ended.")
    return redirect(back)
