"""The editors' takedown actions on the admin's Page and Document changelists ("Withdraw…",
"Reinstate…"), each through an intermediate form that asks for the reason (required to
withdraw). ``frontdesk.admin`` lists them; the writes are ``moderation.actions.takedown``'s."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from moderation.actions import takedown
from moderation.actions.takedown import MAX_REASON_CHARS, TakedownError


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=MAX_REASON_CHARS,
        strip=True,
        error_messages={"required": "Say why: a reason is required to withdraw."},
    )

    def __init__(self, *args, required: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required
        self.fields["reason"].label = "Reason" if required else "Reason (optional)"


def _action(*, name: str, label: str, verb: str, do: Callable, required: bool, explain: str):
    def action(modeladmin, request, queryset):
        if request.POST.get("confirm") == "yes":
            form = ReasonForm(request.POST, required=required)
            if form.is_valid():
                done, refused = [], []
                for obj in queryset.order_by("pk"):
                    try:
                        do(obj, by=request.user, reason=form.cleaned_data["reason"])
                        done.append(str(obj))
                    except TakedownError as exc:
                        refused.append(f"{obj}: {exc.message}")
                if done:
                    modeladmin.message_user(
                        request, f"{verb} {len(done)}: {', '.join(done[:10])}.", messages.SUCCESS
                    )
                for line in refused[:20]:
                    modeladmin.message_user(request, f"Nothing changed for {line}", messages.WARNING)
                if not required:  # reinstating: say which pages stay down with their document
                    still = queryset.model.objects.filter(
                        pk__in=queryset.values("pk"), withdrawn_at__isnull=False
                    )
                    for obj in still[:20]:
                        modeladmin.message_user(
                            request, f"{obj} stays withdrawn: its document is withdrawn.", messages.WARNING
                        )
                return None  # back to the changelist, with the messages
            status = 400
        else:
            form, status = ReasonForm(required=required), 200
        opts = modeladmin.model._meta
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": label.rstrip("…"),
            "label": label,
            "explain": explain,
            "queryset": queryset,
            "form": form,
            "opts": opts,
            "action": name,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": modeladmin.media,
        }
        return TemplateResponse(request, "admin/moderation/takedown_confirm.html", context, status=status)

    action.__name__ = name
    return admin.action(description=label, permissions=["change"])(action)


_TAKEN_DOWN = (
    "From the moment you confirm it is gone from the picker, every listing, feed, export, the API, "
    "the cached pages and its image URLs; staff still see it. Its reviews are kept: reinstating "
    "puts everything back."
)

withdraw_pages = _action(
    name="withdraw_pages",
    label="Withdraw selected pages…",
    verb="Withdrawn",
    do=takedown.withdraw_page,
    required=True,
    explain=_TAKEN_DOWN,
)
reinstate_pages = _action(
    name="reinstate_pages",
    label="Reinstate selected pages…",
    verb="Reinstated",
    do=takedown.reinstate_page,
    required=False,
    explain="Each page is public again, unless its whole document is withdrawn.",
)
withdraw_documents = _action(
    name="withdraw_documents",
    label="Withdraw selected documents…",
    verb="Withdrawn",
    do=takedown.withdraw_document,
    required=True,
    explain="Every page of each document is withdrawn. " + _TAKEN_DOWN,
)
reinstate_documents = _action(
    name="reinstate_documents",
    label="Reinstate selected documents…",
    verb="Reinstated",
    do=takedown.reinstate_document,
    required=False,
    explain="Each document and its pages are public again, except pages an editor withdrew on their own.",
)
