"""The editor admin for assignments: choose pages by members, parties and documents, draft,
preview, publish and feature.

Its actions and buttons call ``assignments.actions``. The add/change form and the changelist's
list edits (``list_editable``) save through ``ModelAdmin.save_model``: a model ``save()`` and the
form's many-to-many ``.set()``, which the receivers in ``assignments/denormalisations/`` hear;
that is deliberate and is the same write ``assignments.actions`` makes. Nothing here uses
``QuerySet.update()``, which no signal reports. The draft rules are checked by
``Assignment.clean`` (clear form errors) and by a database constraint.

Release scale: members, parties and documents are chosen with autocomplete widgets (a release
has tens of thousands of documents; one ``<select>`` of all of them does not load), and the
form shows how many pages the selection covers before it is saved (``scope_size_view``, asked
by ``static/js/admin_assignment_scope.js``).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.http import HttpResponseBadRequest, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from assignments import actions, scope
from assignments.models import Assignment, PriorityPage
from catalogue.models import Document, Page
from lib.ids import parse_id

# At most this many ids of each kind are counted per request (the form sends its selection).
SCOPE_SIZE_MAX_IDS = 5000


def _ids(values: list[str]) -> list[int]:
    out = []
    for value in values[:SCOPE_SIZE_MAX_IDS]:
        value_id = parse_id(value)
        if value_id is not None:
            out.append(value_id)
    return out


def selection_size(*, members=(), parties=(), documents=()) -> dict:
    """Pages and documents a selection covers, by the assignment rule (``assignments.scope``)."""
    if not (members or parties or documents):
        return {"pages": 0, "documents": 0}
    counts = Page.objects.filter(
        scope.selection_filter(members=members, parties=parties, documents=documents)
    ).aggregate(pages=Count("id"), documents=Count("document_id", distinct=True))
    return {"pages": counts["pages"], "documents": counts["documents"]}


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    # What fits 1280 px: the rest (description, counters, dates) is on the change page.
    # (With the admin's side bar and filters open, the table has about 630 px.)
    list_display = ["title", "status", "active", "featured", "threshold", "progress"]
    list_display_links = ["title"]
    list_editable = ["featured", "active"]
    list_filter = ["status", "active", "featured"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["members", "parties", "documents"]
    # Denormalised counters: kept by the import signal, submit_review and the registry's rebuild.
    readonly_fields = ["selection", "page_count", "completed_count", "review_count", "created"]
    fieldsets = [
        (
            None,
            {
                "fields": ["title", "slug", "description", "threshold", "order", "status", "active"],
                # The embargo (assignments.visibility), where the editor sets the status.
                "description": "A draft is staff only, and so are the documents it alone contains "
                "(embargoed: their pages, images, tags and API rows). Publishing it makes its "
                "documents public at once; taking it back to draft embargoes again those that no "
                "other published assignment contains and no editor published on their own.",
            },
        ),
        ("Home page", {"fields": ["featured", "feature_order"]}),
        (
            # Issue 25: retiring when the crowd is sure (consensus decides, assignments.scope's
            # done rule follows).
            "Retire pages when the crowd is sure",
            {
                "fields": ["retire_when_confident", "confidence_target", "min_reviews"],
                "description": "A page stops being served once it has at least the minimum reviews and "
                "the crowd's confidence about every tag (reviewers weighted by their reliability) is "
                "above the target or below one minus it. With a minimum of 1, a page leaves after one "
                "review only if that review tagged nothing and every tag is confidently absent: a tag "
                "someone applied always gets a second look. The threshold stays the most reviews a page "
                "gets. Retired pages stay retired if the option is later turned off. On the "
                "simulated releases of docs/benchmarks.md the defaults (0.95, at least 2) spend about "
                "a seventh fewer reviews than a threshold of 3 at no accuracy cost that can be measured; "
                "with a minimum of 1, a target of 0.875 and a threshold of 4, 27.6% fewer over three "
                "releases (26.6% to 28.6% each), and it was more accurate.",
            },
        ),
        (
            "Pages: every page of these members, parties and documents",
            {
                "fields": ["members", "parties", "documents", "selection"],
                "description": "Type a few letters of a name or title to find it.",
            },
        ),
        ("Progress", {"fields": ["page_count", "completed_count", "review_count", "created"]}),
    ]
    actions = ["make_main", "make_alternative", "unfeature", "publish"]
    change_form_template = "admin/assignments/assignment/change_form.html"

    class Media:
        js = ["admin/js/jquery.init.js", "js/admin_assignment_scope.js"]
        css = {"all": ["css/admin.css"]}

    def get_changeform_initial_data(self, request):
        # New assignments start as drafts: previewed, then published.
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("status", Assignment.Status.DRAFT)
        initial.setdefault("active", False)
        return initial

    def get_urls(self):
        opts = self.model._meta
        own = [
            path(
                "scope-size/",
                self.admin_site.admin_view(self.scope_size_view),
                name=f"{opts.app_label}_{opts.model_name}_scope_size",
            ),
            path(
                "<id:object_id>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name=f"{opts.app_label}_{opts.model_name}_publish",
            ),
        ]
        return own + super().get_urls()

    def scope_size_view(self, request):
        """JSON: how many pages and documents the ``members``, ``parties`` and ``documents`` ids
        in the query string cover. Staff with view permission only (``admin_view``)."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        size = selection_size(
            members=_ids(request.GET.getlist("members")),
            parties=_ids(request.GET.getlist("parties")),
            documents=_ids(request.GET.getlist("documents")),
        )
        return JsonResponse(size)

    def publish_view(self, request, object_id: int):
        """The change page's "Publish" button (POST, CSRF by ``admin_view``)."""
        return _publish(self, request, object_id)

    @admin.display(description="pages selected")
    def selection(self, obj: Assignment) -> str:
        size = selection_size(
            members=list(obj.members.values_list("pk", flat=True)) if obj.pk else [],
            parties=list(obj.parties.values_list("pk", flat=True)) if obj.pk else [],
            documents=list(obj.documents.values_list("pk", flat=True)) if obj.pk else [],
        )
        return format_html(
            '<output id="scope-size" data-url="{}" aria-live="polite">{}</output>',
            reverse("admin:assignments_assignment_scope_size"),
            _size_words(size),
        )

    @admin.display(description="progress")
    def progress(self, obj: Assignment) -> str:
        return format_html(
            '<span title="{} of {} pages complete, {} reviews">{}/{} ({}%)</span>',
            obj.completed_count,
            obj.page_count,
            obj.review_count,
            obj.completed_count,
            obj.page_count,
            f"{obj.progress_percent:.0f}",
        )

    def changelist_view(self, request, extra_context=None):
        # Two "main" assignments in one list edit break the one-main constraint: say so plainly.
        try:
            with transaction.atomic():
                return super().changelist_view(request, extra_context)
        except IntegrityError:
            self.message_user(
                request,
                "Only one assignment can be the main featured one, and a draft can be neither open "
                "nor featured; nothing was changed.",
                messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())

    # Short descriptions: the action menu's width is the widest of them.
    @admin.action(description="Feature as the main one (the current main becomes an alternative)")
    def make_main(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True)[:2])
        if len(ids) != 1:
            self.message_user(request, "Choose exactly one assignment to be the main one.", messages.ERROR)
            return
        # Through the action, never QuerySet.update(): activating builds the assignment's Redis
        # sets, and only a save tells the registry (an update() here once left them missing).
        try:
            chosen = actions.feature_assignment_as_main(assignment_id=ids[0])
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"“{chosen}” is now the main assignment on the home page.")

    @admin.action(description="Feature as alternatives")
    def make_alternative(self, request, queryset):
        try:
            count = actions.feature_assignments(
                assignment_ids=queryset.values_list("pk", flat=True), featured=Assignment.Featured.ALTERNATIVE
            )
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"{count} assignment(s) featured as alternatives.")

    @admin.action(description="Stop featuring")
    def unfeature(self, request, queryset):
        count = actions.feature_assignments(
            assignment_ids=queryset.values_list("pk", flat=True), featured=Assignment.Featured.NONE
        )
        self.message_user(request, f"{count} assignment(s) no longer featured.")

    @admin.action(description="Publish drafts (and open them for reviews)", permissions=["change"])
    def publish(self, request, queryset):
        drafts = list(queryset.filter(status=Assignment.Status.DRAFT).values_list("pk", flat=True))
        for assignment_id in drafts:
            actions.publish_assignment(assignment_id=assignment_id)
        self.message_user(
            request,
            f"{len(drafts)} draft(s) published and open for reviews, their documents public: listed on "
            "Assignments but not on the home page until featured (main or alternative).",
        )


def _size_words(size: dict) -> str:
    if not size["pages"] and not size["documents"]:
        return "Nothing selected yet."
    return f"{size['pages']:,} pages in {size['documents']:,} documents"


def published_message(assignment: Assignment):
    """Where a just-published assignment now shows, and what (if anything) is left to do."""
    if assignment.featured == Assignment.Featured.MAIN:
        where = 'it is the main assignment on <a href="{home}">the home page</a> and listed on <a href="{listed}">Assignments</a>'
    elif assignment.featured == Assignment.Featured.ALTERNATIVE:
        where = 'it is among the alternatives on <a href="{home}">the home page</a> and listed on <a href="{listed}">Assignments</a>'
    else:
        where = (
            'it is listed on <a href="{listed}">Assignments</a> but not on <a href="{home}">the home page</a>: '
            "feature it (main or alternative) to put it there"
        )
    return format_html(
        "“{title}” is published and open for reviews, its documents public: "
        + where
        + '. <a href="{url}">See it on the site</a>.',
        title=assignment.title,
        home=reverse("home"),
        listed=reverse("assignments"),
        url=assignment.get_absolute_url(),
    )


def _publish(model_admin: AssignmentAdmin, request, object_id: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    assignment = get_object_or_404(Assignment, pk=object_id)
    if not model_admin.has_change_permission(request, assignment):
        raise PermissionDenied
    featured = request.POST.get("featured") or Assignment.Featured.NONE
    if featured not in Assignment.Featured.values:
        return HttpResponseBadRequest("featured must be main, alternative or none")
    if not assignment.is_draft:
        model_admin.message_user(request, f"“{assignment}” is already published.", messages.WARNING)
    else:
        assignment = actions.publish_assignment(assignment_id=assignment.pk, featured=featured)
        model_admin.message_user(request, published_message(assignment), messages.SUCCESS)
    return HttpResponseRedirect(reverse("admin:assignments_assignment_change", args=[assignment.pk]))


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
