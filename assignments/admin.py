"""The editor admin for assignments: choose pages by members, parties and documents, and feature.

Its actions call ``assignments.actions``. The add/change form and the changelist's list edits
(``list_editable``) save through ``ModelAdmin.save_model``: a model ``save()`` and the form's
many-to-many ``.set()``, which the receivers in ``assignments/denormalisations.py`` hear; that
is deliberate and is the same write ``assignments.actions`` makes. Nothing here uses
``QuerySet.update()``, which no signal reports.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect
from django.urls import reverse

from assignments import actions
from assignments.models import Assignment, PriorityPage
from reviews.models import Document


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
        (None, {"fields": ["title", "slug", "description", "threshold", "order", "active"]}),
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


class PriorityPagesForm(forms.ModelForm):
    """Mark pages, or every page of a document, as priority within an assignment."""

    pages = forms.CharField(
        required=False,
        help_text="Page ids, separated by commas or spaces.",
        widget=forms.TextInput(attrs={"size": 60}),
    )
    document = forms.ModelChoiceField(
        queryset=Document.objects.all(),
        required=False,
        help_text="Every page of this document (pages outside the assignment are ignored).",
    )

    class Meta:
        model = PriorityPage
        fields = ["assignment"]

    def clean_pages(self) -> list[int]:
        raw = self.cleaned_data["pages"].replace(",", " ").split()
        try:
            return [int(x) for x in raw]
        except ValueError:
            raise forms.ValidationError("Page ids are whole numbers.") from None

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("pages") and not cleaned.get("document"):
            raise forms.ValidationError("Give page ids or a document.")
        return cleaned


@admin.register(PriorityPage)
class PriorityPageAdmin(admin.ModelAdmin):
    """Priority pages: served by the picker before an assignment's other pages. Adding and
    deleting go through ``assignments.actions.prioritise_pages`` / ``deprioritise_pages``."""

    list_display = ["page", "assignment", "created", "created_by"]
    list_filter = ["assignment"]
    raw_id_fields = ["page"]
    form = PriorityPagesForm

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:  # an existing row is shown, not edited: delete it instead
            kwargs["form"] = forms.ModelForm
            kwargs["fields"] = ["assignment", "page"]
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request, obj, form, change):
        ids = list(form.cleaned_data.get("pages") or [])
        document = form.cleaned_data.get("document")
        if document is not None:
            ids += list(document.pages.values_list("pk", flat=True))
        assignment = form.cleaned_data["assignment"]
        count = actions.prioritise_pages(assignment_id=assignment.pk, page_ids=ids, by=request.user)
        self.message_user(request, f"{count} page(s) newly marked as priority in “{assignment}”.")

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(reverse("admin:assignments_prioritypage_changelist"))

    def log_addition(self, request, obj, message):
        pass  # the rows were made by the action (obj is never saved)

    def delete_model(self, request, obj):
        actions.deprioritise_pages(assignment_id=obj.assignment_id, page_ids=[obj.page_id])

    def delete_queryset(self, request, queryset):
        by_assignment: dict[int, list[int]] = {}
        for assignment_id, page_id in queryset.values_list("assignment_id", "page_id"):
            by_assignment.setdefault(assignment_id, []).append(page_id)
        for assignment_id, page_ids in by_assignment.items():
            actions.deprioritise_pages(assignment_id=assignment_id, page_ids=page_ids)
