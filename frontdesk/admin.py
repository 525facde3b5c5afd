"""The editor admin for documents, pages, tags, members, parties, reviews and discoveries.

Writes with rules behind them go through ``reviews.actions``: documents are created, re-imported
and deleted by the document actions, discoveries created (with their credit rule) and edited by
the discovery actions. Reviews are read-only here because their counters are kept by
``reviews.actions.submit_review``, which the admin would bypass. Parties, members and tags are
simple reference data: their add/change forms use Django's own ``save_model`` on purpose (a model
``save()``, which the denormalisation receivers hear), and their list edits likewise.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.db.models import Count
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from catalogue import actions as catalogue_actions
from catalogue import pdf
from catalogue.models import Document, Member, Page, Party, Tag
from lib.admin import RecordAdmin
from lib.login_throttle import ThrottledLoginMixin
from moderation import embargo_admin, takedown_admin
from moderation.embargo_admin import visibility_status
from reviews import actions
from reviews.models import Discovery, Review


class ThrottledAdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin login, throttled like the public one (lib.login_throttle)."""


admin.site.login_form = ThrottledAdminLoginForm


def thumbnail_html(page: Page, width: int = 80) -> str:
    if not page.thumbnail:
        return "—"
    return format_html(
        '<img src="{}" width="{}" alt="Page {} of {}" loading="lazy" class="admin-thumbnail">',
        page.thumbnail.url,
        width,
        page.number,
        page.document_id,
    )


# --- Parties and members ----------------------------------------------------------------------


@admin.register(Party)
class PartyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "member_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_members=Count("members"))

    @admin.display(description="members", ordering="_members")
    def member_count(self, obj: Party) -> int:
        return obj._members


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["name", "party", "constituency", "document_count"]
    list_filter = ["party"]
    search_fields = ["name", "slug", "constituency"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["party"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_documents=Count("documents"))

    @admin.display(description="documents", ordering="_documents")
    def document_count(self, obj: Member) -> int:
        return obj._documents


# --- Documents and pages ----------------------------------------------------------------------


class DocumentUploadForm(forms.ModelForm):
    """Add form: a PDF upload. Bad files are refused here, before anything is stored."""

    upload = forms.FileField(
        label="PDF file",
        help_text="One PDF; it is imported in the background (one page image per PDF page).",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )

    class Meta:
        model = Document
        fields = ["title", "member"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False
        self.fields["title"].help_text = "Defaults to the file name."

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; the limit is {filesizeformat(limit)}."
            )
        try:
            pdf.check_pdf_filename(upload.name)
            pdf.inspect_pdf(upload)
        except pdf.ImportFailure as exc:
            raise forms.ValidationError(str(exc)) from None
        existing = Document.objects.filter(sha256=pdf.sha256_of(upload)).first()
        if existing is not None:
            raise forms.ValidationError(
                f"This file was uploaded already, as “{existing}” (document {existing.pk})."
            )
        return upload


class PageInline(admin.TabularInline):
    """The first pages of a document with thumbnails (all of them: the page list, filtered)."""

    model = Page
    fields = ["thumb", "number", "width", "height", "review_count"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "pages (first 48; the page list has them all)"
    SHOWN = 48

    def get_queryset(self, request):
        # Filtering by number, not slicing: the inline formset filters this queryset again.
        return super().get_queryset(request).filter(number__lte=self.SHOWN)

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="page")
    def thumb(self, obj: Page) -> str:
        return thumbnail_html(obj, 60)


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    # What fits 1280 px; the sha256, error in full and import time are on the change page.
    list_display = [
        "title",
        "cover",
        "member",
        "status_and_reason",
        "page_count",
        visibility_status,
        "created",
    ]
    # No filter by member: a release has hundreds; the search box finds them by name.
    list_filter = ["status", "public", "member__party", ("withdrawn_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "member__name", "sha256"]
    list_select_related = ["member"]
    date_hierarchy = "created"
    readonly_fields = [
        "source",
        "sha256",
        "page_count",
        "status",
        "error",
        "created",
        "imported_at",
        "pages_link",
        "withdrawn_at",
        "published_at",
        visibility_status,
    ]
    fields = [
        "title",
        "member",
        "source",
        "sha256",
        "status",
        "error",
        "page_count",
        "pages_link",
        "created",
        "imported_at",
        "withdrawn_at",
        "published_at",
        visibility_status,
    ]
    autocomplete_fields = ["member"]
    # Newest first: after an upload, the new document heads the list.
    ordering = ["-created", "-id"]
    # Takedown (moderation): through an intermediate form asking why.
    actions = [
        "reimport",
        embargo_admin.publish_documents,
        embargo_admin.embargo_documents,
        takedown_admin.withdraw_documents,
        takedown_admin.reinstate_documents,
    ]
    inlines = [PageInline]

    def changelist_view(self, request, extra_context=None):
        # The embargo in words, above the list whose "visibility" column it explains.
        extra_context = {"embargo_explained": embargo_admin.EMBARGO_EXPLAINED, **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = DocumentUploadForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["upload", "title", "member"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def get_queryset(self, request):
        # The cover thumbnail: page 1 of each document, in one extra query (prefetch).
        from django.db.models import Prefetch

        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("pages", queryset=Page.objects.filter(number=1), to_attr="first_pages")
            )
        )

    def save_model(self, request, obj, form, change):
        if change:
            catalogue_actions.update_document(document_id=obj.pk, title=obj.title, member_id=obj.member_id)
            return
        queued = catalogue_actions.create_document_from_upload(
            upload=form.cleaned_data["upload"], member=obj.member, title=obj.title
        )
        # The admin goes on with `obj` (log entry, redirect): make it the stored document.
        obj.pk = queued.document.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        catalogue_actions.delete_document(document_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for document_id in queryset.values_list("pk", flat=True):
            catalogue_actions.delete_document(document_id=document_id)

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, f"“{obj}” is queued for import; its pages appear when it is done.")
        return super().response_add(request, obj, post_url_continue)

    @admin.display(description="cover")
    def cover(self, obj: Document) -> str:
        first = getattr(obj, "first_pages", None)
        return thumbnail_html(first[0], 48) if first else "—"

    @admin.display(description="status", ordering="status")
    def status_and_reason(self, obj: Document) -> str:
        if obj.status == Document.Status.FAILED:
            return format_html("<strong>Failed:</strong> {}", Truncator(obj.error).chars(80))
        return obj.get_status_display()

    @admin.display(description="pages")
    def pages_link(self, obj: Document) -> str:
        url = reverse("admin:catalogue_page_changelist") + f"?document__id__exact={obj.pk}"
        return format_html('<a href="{}">All {} pages</a>', url, obj.page_count)

    @admin.action(description="Re-import selected documents that failed or got stuck", permissions=["change"])
    def reimport(self, request, queryset):
        queued = 0
        for document_id in queryset.exclude(status=Document.Status.IMPORTED).values_list("pk", flat=True):
            queued += catalogue_actions.reimport_document(document_id=document_id)
        skipped = queryset.count() - queued
        self.message_user(request, f"{queued} document(s) queued for import again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} already imported document(s) left alone.", messages.WARNING
            )


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    list_display = ["__str__", "thumb", "review_count", "tags_summary", "withdrawn_at", "staff_view"]
    list_filter = [
        "document__status",
        "document__member__party",
        ("withdrawn_at", admin.EmptyFieldListFilter),
    ]
    actions = [takedown_admin.withdraw_pages, takedown_admin.reinstate_pages]
    search_fields = ["document__title", "document__member__name"]
    list_select_related = ["document"]
    autocomplete_fields = ["document"]
    readonly_fields = [
        "preview",
        "document",
        "number",
        "image",
        "thumbnail",
        "width",
        "height",
        "review_count",
        "withdrawn_at",
        "staff_view",
    ]
    fields = readonly_fields
    list_per_page = 50

    def has_add_permission(self, request):
        return False  # pages come from imports only

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("page_tags__tag")

    @admin.display(description="thumbnail")
    def thumb(self, obj: Page) -> str:
        return thumbnail_html(obj)

    @admin.display(description="on the site")
    def staff_view(self, obj: Page) -> str:
        # The page as staff see it, with its withdraw or reinstate button.
        return format_html('<a href="{}">view</a>', obj.get_absolute_url())

    @admin.display(description="tags")
    def tags_summary(self, obj: Page) -> str:
        rows = [(pt.tag.name, pt.count) for pt in obj.page_tags.all()]
        return format_html_join(", ", "{} ×{}", rows) if rows else "—"

    @admin.display(description="image")
    def preview(self, obj: Page) -> str:
        if not obj.image:
            return "—"
        return format_html(
            '<a href="{0}"><img src="{0}" alt="{1}" class="admin-preview"></a>',
            obj.image.url,
            str(obj),
        )


# --- Tags, reviews, discoveries ---------------------------------------------------------------


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "order", "active", "highlights", "short_description"]
    list_editable = ["key", "order", "active"]
    list_filter = ["active", "highlights"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}

    @admin.display(description="description")
    def short_description(self, obj: Tag) -> str:
        return Truncator(obj.description).chars(60)


@admin.register(Review)
class ReviewAdmin(RecordAdmin):
    """Read-only: reviews are written by reviewers, through submit_review and its counters."""

    list_display = ["created", "reviewer", "page", "assignment", "tag_list"]
    list_filter = ["assignment", "tags", "created"]
    search_fields = ["reviewer__username", "page__document__title"]
    list_select_related = ["reviewer", "page__document", "assignment"]
    date_hierarchy = "created"
    autocomplete_fields = ["reviewer", "page"]
    show_full_result_count = False  # COUNT(*) over millions of reviews on every list page

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    @admin.display(description="tags")
    def tag_list(self, obj: Review) -> str:
        return ", ".join(t.name for t in obj.tags.all()) or "nothing of note"


@admin.register(Discovery)
class DiscoveryAdmin(admin.ModelAdmin):
    list_display = ["title", "thumb", "page", "credited", "created"]
    search_fields = ["title", "note", "page__document__title", "credited__username"]
    list_filter = ["created"]
    list_select_related = ["page__document", "credited", "created_by"]
    autocomplete_fields = ["page", "credited"]
    readonly_fields = ["created_by", "created"]
    fields = ["page", "title", "note", "credited", "created_by", "created"]

    def save_model(self, request, obj, form, change):
        if change:
            actions.update_discovery(
                discovery_id=obj.pk,
                page_id=obj.page_id,
                title=obj.title,
                note=obj.note,
                credited_id=obj.credited_id,
            )
            return
        # Left empty, the credit goes to the reviewer who first highlighted the page (the action's rule).
        discovery = actions.create_discovery(
            page_id=obj.page_id,
            title=obj.title,
            note=obj.note,
            created_by=request.user,
            credited_id=obj.credited_id,
        )
        # The admin goes on with `obj` (log entry, redirect): make it the stored discovery.
        obj.pk = discovery.pk
        obj._state.adding = False
        obj.refresh_from_db()

    @admin.display(description="page")
    def thumb(self, obj: Discovery) -> str:
        return thumbnail_html(obj.page)
