"""The editor admin for assignments: choose pages by members, parties and documents, and feature.

Its actions call ``assignments.actions``. The add/change form and the changelist's list edits
(``list_editable``) save through ``ModelAdmin.save_model``: a model ``save()`` and the form's
many-to-many ``.set()``, which the receivers in ``assignments/denormalisations.py`` hear; that
is deliberate and is the same write ``assignments.actions`` makes. Nothing here uses
``QuerySet.update()``, which no signal reports.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect

from assignments import actions
from assignments.models import Assignment


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "featured",
        "feature_order",
        "active",
        "threshold",
        "page_count",
        "completed_count",
        "progress",
    ]
    list_editable = ["featured", "feature_order", "active"]
    list_filter = ["featured", "active"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["members", "parties", "documents"]
    # Denormalised counters: kept by the import signal, submit_review and the registry's rebuild.
    readonly_fields = ["page_count", "completed_count", "created"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "description", "threshold", "active"]}),
        ("Home page", {"fields": ["featured", "feature_order"]}),
        (
            "Pages: every page of these members, parties and documents",
            {"fields": ["members", "parties", "documents"]},
        ),
        ("Progress", {"fields": ["page_count", "completed_count", "created"]}),
    ]
    actions = ["make_main", "make_alternative", "unfeature"]

    @admin.display(description="progress")
    def progress(self, obj: Assignment) -> str:
        return f"{obj.progress_percent:.0f}%"

    def changelist_view(self, request, extra_context=None):
        # Two "main" assignments in one list edit break the one-main constraint: say so plainly.
        try:
            with transaction.atomic():
                return super().changelist_view(request, extra_context)
        except IntegrityError:
            self.message_user(
                request,
                "Only one assignment can be the main featured one; nothing was changed.",
                messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())

    @admin.action(
        description="Feature as the main assignment (only one: the current main becomes an alternative)"
    )
    def make_main(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True)[:2])
        if len(ids) != 1:
            self.message_user(request, "Choose exactly one assignment to be the main one.", messages.ERROR)
            return
        # Through the action, never QuerySet.update(): activating builds the assignment's Redis
        # sets, and only a save tells the registry (an update() here once left them missing).
        chosen = actions.feature_assignment_as_main(assignment_id=ids[0])
        self.message_user(request, f"“{chosen}” is now the main assignment on the home page.")

    @admin.action(description="Feature as alternatives")
    def make_alternative(self, request, queryset):
        count = actions.feature_assignments(
            assignment_ids=queryset.values_list("pk", flat=True), featured=Assignment.Featured.ALTERNATIVE
        )
        self.message_user(request, f"{count} assignment(s) featured as alternatives.")

    @admin.action(description="Stop featuring")
    def unfeature(self, request, queryset):
        count = actions.feature_assignments(
            assignment_ids=queryset.values_list("pk", flat=True), featured=Assignment.Featured.NONE
        )
        self.message_user(request, f"{count} assignment(s) no longer featured.")
