"""Documents, pages, tags, reviews, reviewers and discoveries.

Counter columns and aggregate tables here (``Page.review_count``, ``PageTag``,
``Reviewer.review_count``) are denormalisations: each is declared in
``reviews/denormalisations/`` with a rebuild and a check. Postgres rows in ``Review`` are the
truth they derive from.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse

from reviews.storage import source_name, source_storage


class Party(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
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
    # Private: outside MEDIA_ROOT, named by content hash, staff download only (reviews.storage).
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


class Reviewer(models.Model):
    """Per-user profile: anonymous accounts (``anon-<n>``) and the denormalised review count."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviewer")
    anonymous = models.BooleanField(default=False)
    # Denormalised: number of reviews by this user that count (not quarantined): public credit.
    # See denormalisations.
    review_count = models.PositiveIntegerField(default=0)
    # Denormalised (same registry entry): every review this user made, counted or not. The count
    # a reviewer sees as their own: a quarantine and the known-answer (gold) pages mixed into
    # their picks must not show in it (a count that stands still after a page says "that one was
    # a test"), and reading it costs no query on the review screen.
    reviews_made = models.PositiveIntegerField(default=0, db_default=0)
    created = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Quarantine (moderation app): set while an editor has quarantined this reviewer: their
    # reviews are kept but count for nothing (``Review.quarantined``).
    quarantined_at = models.DateTimeField(null=True, blank=True)
    # The network the account was created from: a /24 (IPv4) or /48 (IPv6) prefix, never the
    # full address (privacy); enough to spot a burst of new accounts from one range
    # (``/staff/suspicious/``). Empty for accounts made before it was recorded, or by commands.
    created_from = models.CharField(max_length=64, blank=True, db_default="")

    class Meta:
        indexes = [models.Index(fields=["created_from", "created"], name="reviewer_created_from_idx")]

    def __str__(self) -> str:
        return str(self.user)


class Review(models.Model):
    """One reviewer's verdict on one page. No tags means "nothing of note"."""

    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews")
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="reviews")
    assignment = models.ForeignKey(
        "assignments.Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="reviews")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    # Counts for nothing (thresholds, tag counts, leaderboards, listings, discovery credit): the
    # reviewer is quarantined, or the page is a known-answer (gold) page (``Page.known_answer``:
    # gold reviews only train reviewers' reliability, ``consensus``). Copied from the reviewer's
    # and the page's state (registry entry ``review-quarantined``); Postgres keeps it so that
    # releasing is a flag flip, nothing deleted.
    quarantined = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "page"], name="review_one_per_reviewer_page"),
        ]
        indexes = [
            models.Index(fields=["page"], name="review_page_idx"),
            models.Index(fields=["assignment", "created"], name="review_assignment_created_idx"),
            models.Index(fields=["reviewer", "created"], name="review_reviewer_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} on {self.page}"


class Skip(models.Model):
    """A reviewer passed on a page: it counts for nothing, but is not offered to them again."""

    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skips")
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="skips")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "page"], name="skip_one_per_reviewer_page")
        ]
        indexes = [models.Index(fields=["page"], name="skip_page_idx")]

    def __str__(self) -> str:
        return f"{self.reviewer} skipped {self.page}"


class PageTag(models.Model):
    """Denormalised aggregate: how many reviews gave a page a tag, and when it first got it.

    ``first_tagged_at`` never moves once set (while the tag stays on the page): staff in-order
    listings follow it. ``listed_at`` is when the page+tag became publicly visible (the page had
    reached the public threshold and had the tag), NULL until then: public in-order listings
    follow it, so a page reaching the threshold late is appended, not inserted behind a reader.
    See ``reviews/denormalisations/`` and ``results/denormalisations.py``.
    """

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="page_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="page_tags")
    count = models.PositiveIntegerField(default=0)
    first_tagged_at = models.DateTimeField()
    listed_at = models.DateTimeField(null=True, blank=True)
    # Denormalised (registry entry ``page-tag-confidence``, written by ``consensus.actions``
    # after commit): the posterior probability that the tag applies, reviewers weighted by
    # reliability, rounded to 6 places (cursors compare it exactly). NULL until first computed.
    confidence = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["page", "tag"], name="pagetag_unique")]
        indexes = [
            models.Index(fields=["tag", "-confidence", "page"], name="pagetag_confidence_idx"),
            models.Index(fields=["tag", "-count", "page"], name="pagetag_most_tagged_idx"),
            models.Index(fields=["tag", "first_tagged_at", "page"], name="pagetag_in_order_idx"),
            models.Index(fields=["tag", "listed_at", "page"], name="pagetag_listed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.page} #{self.tag} x{self.count}"


class Discovery(models.Model):
    """An editorially highlighted page, credited to the reviewer who first highlighted it."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="discoveries")
    title = models.CharField(max_length=200)
    note = models.TextField(blank=True)
    credited = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="discoveries"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "discoveries"
        constraints = [models.UniqueConstraint(fields=["page"], name="discovery_one_per_page")]

    def __str__(self) -> str:
        return self.title
