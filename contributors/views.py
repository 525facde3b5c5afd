"""Contributors' pages: the top reviewers, the editors' triage inbox and its decisions, and the
staff-only discovery form of a page. Views parse and validate; writes are in
``contributors.actions``, reads in ``contributors.selectors``."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from contributors import actions, leaderboards, selectors
from lib.web import allow_methods, error_page, staff_required

TITLE_MAX = 200
NOTE_MAX = 4000


@allow_methods("GET", "HEAD")
def reviewers(request):
    """All-time top reviewers and the past 48 hours'."""
    return render(
        request,
        "contributors/reviewers.html",
        {
            "overall": selectors.board_table(leaderboards.OVERALL, viewer=request.user),
            "recent": selectors.recent_table(viewer=request.user),
        },
    )


@never_cache
@staff_required
@allow_methods("GET", "HEAD")
def triage(request):
    return render(
        request,
        "contributors/triage.html",
        {"items": selectors.triage_inbox(), "decisions": selectors.recent_decisions()},
    )


class _BadForm(Exception):
    def __init__(self, message: str):
        self.message = message


def _text(request, name: str, limit: int, *, required: bool = False) -> str:
    value = request.POST.get(name, "")
    if "\x00" in value or len(value) > limit:
        raise _BadForm(f"The {name} is too long or contains invalid characters.")
    value = value.strip()
    if required and not value:
        raise _BadForm(f"Please give a {name}.")
    return value


def _credit(request) -> dict:
    """The credit choice: "auto" (the first highlighter), "nobody", or a user id."""
    raw = request.POST.get("credit", "auto")
    if raw == "auto":
        return {}
    if raw == "nobody":
        return {"credit_nobody": True}
    if raw.isdigit() and len(raw) < 19:
        from django.contrib.auth import get_user_model

        if get_user_model().objects.filter(pk=int(raw), is_active=True).exists():
            return {"credited_id": int(raw)}
    raise _BadForm("Choose whom to credit: the first highlighter, nobody, or a reviewer who highlighted it.")


@never_cache
@staff_required
@allow_methods("POST")
def triage_decide(request, page_id: int):
    """One click in the inbox: make a discovery, dismiss, or ask for more eyes."""
    action = request.POST.get("action", "")
    back = reverse("staff-triage")
    try:
        note = _text(request, "note", NOTE_MAX)
        if action == "discovery":
            title = _text(request, "title", TITLE_MAX, required=True)
            discovery = actions.make_discovery_from_triage(
                page_id=page_id, editor=request.user, title=title, note=note, **_credit(request)
            )
            messages.success(request, f"“{discovery.title}” is now a discovery.")
        elif action == "dismiss":
            actions.dismiss_highlighted_page(page_id=page_id, editor=request.user, note=note)
            messages.success(request, "Dismissed: the page has left the inbox for good.")
        elif action == "more_eyes":
            _, assignment_ids = actions.ask_for_more_eyes(page_id=page_id, editor=request.user, note=note)
            where = f"{len(assignment_ids)} assignment{'s' if len(assignment_ids) != 1 else ''}"
            messages.success(
                request, f"The page goes first in the picker of {where} until more people have seen it."
            )
        else:
            raise _BadForm("Choose make discovery, dismiss or needs more eyes.")
    except _BadForm as exc:
        return error_page(
            request, status=400, title="That decision was not recorded", message=exc.message, retry_url=back
        )
    except actions.TriageError as exc:
        status = 404 if exc.code == "no_such_page" else 409 if exc.code == "already_discovered" else 400
        return error_page(
            request,
            status=status,
            title="That decision was not recorded",
            message=exc.message,
            retry_url=back,
        )
    return redirect(back)


@never_cache
@staff_required
@allow_methods("POST")
def page_discovery(request, page_id: int):
    """The staff-only form on ``/pages/<id>/``: make the page a discovery."""
    back = reverse("page", args=[page_id])
    try:
        title = _text(request, "title", TITLE_MAX, required=True)
        note = _text(request, "note", NOTE_MAX)
        discovery = actions.make_discovery_from_triage(
            page_id=page_id, editor=request.user, title=title, note=note, **_credit(request)
        )
    except _BadForm as exc:
        return error_page(
            request, status=400, title="That discovery was not made", message=exc.message, retry_url=back
        )
    except actions.TriageError as exc:
        status = 404 if exc.code == "no_such_page" else 409 if exc.code == "already_discovered" else 400
        return error_page(
            request, status=status, title="That discovery was not made", message=exc.message, retry_url=back
        )
    messages.success(request, f"“{discovery.title}” is now a discovery.")
    return redirect(back)
