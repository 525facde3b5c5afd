"""The catalogue: parties, members, their documents and the documents' pages, and the tags
editors keep for reviewers to choose among.

The tables kept the names they had in the ``reviews`` app (``reviews_page``, ...): the models
moved here in state only (``catalogue/migrations/0001_initial``), so ``Meta.db_table`` names them.
Counter columns (``Document.page_count``, ``Page.review_count``) and flags copied from a rule
(``public``, ``known_answer``) are denormalisations, each declared in a ``denormalisations``
module with a rebuild and a check.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse

from catalogue.storage import source_name, source_storage


class Party(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        db_table = "reviews_party"
        ordering = ["name"]
        verbose_name_plural = "parties"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("party", args=[self.slug])


class Member(models.Model):
    """A person whose papers are released (an MP, a councillor, ...)."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    party = models.ForeignKey(Party, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    constituency = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "reviews_member"
        ordering = ["name"]
        indexes = [models.Index(fields=["party"], name="member_party_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("member", args=[self.slug])


class Document(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IMPORTING = "importing", "Importing"
        IMPORTED = "imported", "Imported"
        FAILED = "failed", "Failed"

    title = models.CharField(max_length=300)
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.CASCADE, related_name="documents"
    )
    # Private: outside MEDIA_ROOT, named by content hash, staff download only (catalogue.storage).
    source = models.FileField(upload_to=source_name, storage=source_storage, max_length=300)
    # sha256 of the source file: importing the same file twice finds the first document.
    sha256 = models.CharField(max_length=64, unique=True)
    page_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    imported_at = models.DateTimeField(null=True, blank=True)
    # Takedown (moderation app): set while an editor has withdrawn the whole document. Its pages'
    # own ``withdrawn_at`` is what public surfaces filter on (moderation.actions keeps both).
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Embargo (assignments.visibility): set while an editor has published the document on its
    # own (moderation.actions.embargo records who and when). A document is public when it is
    # published so or in a published assignment, and not withdrawn.
    published_at = models.DateTimeField(null=True, blank=True)
    # Denormalised from the rule above (assignments.visibility, registry entry
    # ``document-page-public``): False for a fresh upload, so it starts embargoed.
    public = models.BooleanField(default=False, db_default=False)

    class Meta:
        db_table = "reviews_document"
        ordering = ["title", "id"]
        indexes = [
            models.Index(fields=["member"], name="document_member_idx"),
            models.Index(fields=["status"], name="document_status_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("document", args=[self.pk])


class Page(models.Model):
    """One page of a document: the unit of review."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="pages")
    number = models.PositiveIntegerField()
    # Sizes are set by the importer (no width_field: Django would reopen the file on every refresh).
    image = models.ImageField(upload_to="pages/", max_length=300)
    thumbnail = models.ImageField(upload_to="thumbs/", max_length=300)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    # Denormalised: number of reviews (distinct reviewers) of this page. See denormalisations.
    review_count = models.PositiveIntegerField(default=0)
    # Takedown (moderation app): set while the page (or its document) is withdrawn: it is gone
    # from every public surface and from the picker; its reviews are kept.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Denormalised (registry entry ``document-page-public``): its document is public and it is
    # not withdrawn. What every public surface filters on, through assignments.visibility.
    public = models.BooleanField(default=False, db_default=False)
    # Degrees clockwise the scan is turned for everyone (a page scanned sideways), once an editor
    # confirmed it on the review screen (reviews.actions.rotation.set_page_rotation). Read where
    # it is shown, never copied.
    rotation = models.PositiveSmallIntegerField(default=0, db_default=0)

    ROTATIONS = (0, 90, 180, 270)
    # Denormalised (registry entry ``page-known-answer``, written by ``consensus.actions``): editors
    # gave the page a gold answer. Reviews of it count for nothing (stored ``quarantined``, see
    # Review) and it is in no assignment's scope: the picker mixes it in at the gold rate only.
    known_answer = models.BooleanField(default=False, db_default=False)

    class Meta:
        db_table = "reviews_page"
        ordering = ["document_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="page_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="page_number_positive"),
            models.CheckConstraint(
                condition=Q(rotation__in=[0, 90, 180, 270]), name="page_rotation_quarter_turns"
            ),
        ]
        indexes = [models.Index(fields=["review_count", "id"], name="page_review_count_idx")]

    def __str__(self) -> str:
        return f"{self.document} p.{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("page", args=[self.pk])


# Keys the review screen keeps for itself (see ``reviews.selectors.review_screen_keys``): a tag
# may not take them, whatever their case.
SKIP_KEY = "s"
ZOOM_KEY = "z"
RESERVED_TAG_KEYS = {
    SKIP_KEY: "skips the page",
    ZOOM_KEY: "zooms the page image",
}


class Tag(models.Model):
    """An editor-controlled label. Reviewers can only choose among active tags, never create one."""

    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.CharField(max_length=300, blank=True)
    order = models.PositiveIntegerField(default=0)
    key = models.CharField(
        max_length=1, blank=True, help_text="Keyboard key that toggles this tag on the review screen."
    )
    active = models.BooleanField(default=True)
    # Tagging a page with a highlighting tag ("investigate this") makes its reviewer the one
    # credited if editors turn the page into a discovery.
    highlights = models.BooleanField(default=False)

    class Meta:
        db_table = "reviews_tag"
        ordering = ["order", "name"]
        constraints = [
            # Case-insensitive: the review screen reads "A" and "a" as one key.
            models.UniqueConstraint(
                Lower("key"),
                condition=Q(active=True) & ~Q(key=""),
                name="tag_unique_active_key_ci",
                violation_error_message="Another active tag already uses this keyboard key.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("tag", args=[self.slug])

    def clean(self) -> None:
        """The key rules in words for the admin (the constraint alone would only name itself)."""
        key = (self.key or "").strip()
        if self.key and not key:
            raise ValidationError(
                {"key": "Spaces cannot be a tag's key: Enter and space are the review screen's."}
            )
        self.key = key
        if not key:
            return
        if not key.isalnum():
            raise ValidationError({"key": "Choose a letter or a digit."})
        if key.lower() in RESERVED_TAG_KEYS:
            raise ValidationError(
                {
                    "key": f"“{key.upper()}” {RESERVED_TAG_KEYS[key.lower()]} on the review screen; "
                    "choose another key."
                }
            )
        if self.active:
            other = Tag.objects.filter(active=True, key__iexact=key).exclude(pk=self.pk).only("name").first()
            if other is not None:
                raise ValidationError(
                    {"key": f"The active tag “{other.name}” already uses “{key.upper()}” (keys ignore case)."}
                )
