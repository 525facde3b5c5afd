"""Reviews, skips, reviewers and discoveries of the catalogue's pages (``catalogue.models``).

Counter columns and aggregate tables (``Page.review_count``, ``PageTag``,
``Reviewer.review_count``) are denormalisations: each is declared in
``reviews/denormalisations/`` with a rebuild and a check. Postgres rows in ``Review`` are the
truth they derive from.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalogue.models import Page, Tag


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
