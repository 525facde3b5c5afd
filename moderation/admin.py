"""Reviewers in the admin, with quarantine and release as actions (a reason is asked on an
intermediate page), and the quarantine records, read-only. Writes go through
``moderation.actions.quarantine``."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from lib.admin import RecordAdmin
from moderation.actions.quarantine import (
    MAX_REASON_LENGTH,
    QuarantineError,
    quarantine_reviewers,
    release_reviewers,
)
from moderation.models import Quarantine
from reviews.models import Reviewer


def _with_reason(modeladmin, request, queryset, *, action, title: str, done: str):
    """Ask for a reason first; then apply ``action`` to the selected reviewers."""
    user_ids = list(queryset.values_list("user_id", flat=True))
    reason = request.POST.get("reason", "")
    if request.POST.get("confirm") == "yes":
        try:
            if "\x00" in reason or len(reason) > MAX_REASON_LENGTH:
                raise QuarantineError(
                    "The reason is too long or contains invalid characters.", code="bad_reason"
                )
            records = action(user_ids, by=request.user, reason=reason)
        except QuarantineError as exc:
            modeladmin.message_user(request, exc.message, level=messages.ERROR)
        else:
            modeladmin.message_user(request, done.format(n=len(records)), level=messages.SUCCESS)
            return None
    return TemplateResponse(
        request,
        "admin/moderation/reason.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "reviewers": queryset.select_related("user"),
            "action_name": request.POST.get("action", ""),
            "reason_max": MAX_REASON_LENGTH,
            "opts": modeladmin.model._meta,
        },
    )


@admin.register(Reviewer)
class ReviewerAdmin(admin.ModelAdmin):
    list_display = ["user", "anonymous", "review_count", "created", "created_from", "quarantined_at"]
    list_filter = ["anonymous", ("quarantined_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "created_from"]
    ordering = ["-created"]
    readonly_fields = [
        "user",
        "anonymous",
        "review_count",
        "created",
        "claimed_at",
        "created_from",
        "quarantined_at",
    ]
    actions = ["quarantine", "release"]
    list_select_related = ["user"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Quarantine the selected reviewers (their reviews stop counting)")
    def quarantine(self, request, queryset):
        return _with_reason(
            self,
            request,
            queryset,
            action=quarantine_reviewers,
            title="Quarantine reviewers",
            done="{n} reviewer(s) quarantined.",
        )

    @admin.action(description="Release the selected reviewers (their reviews count again)")
    def release(self, request, queryset):
        return _with_reason(
            self,
            request,
            queryset,
            action=release_reviewers,
            title="Release reviewers",
            done="{n} reviewer(s) released.",
        )


@admin.register(Quarantine)
class QuarantineAdmin(RecordAdmin):
    list_display = ["user", "quarantined_at", "quarantined_by", "reason", "released_at", "released_by"]
    ordering = ["-quarantined_at"]
    list_select_related = ["user", "quarantined_by", "released_by"]
