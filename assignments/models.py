"""Assignments: sets of pages chosen by members, parties and documents, with a threshold."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

from assignments import scope
from catalogue.models import Page


class Assignment(models.Model):
    """A set of pages with a threshold.

    Two independent-looking flags, one rule between them:

    - ``status``: *draft* (staff only: previewed at its public address, never listed, never
      served, 404 for the public) or *published* (public).
    - ``active``: open for reviews (the picker serves it, its page has a start button). A
      published assignment that is not active is *closed*: still public, no longer reviewed.

    A draft is never active nor featured (database constraints say so); publishing opens it
    (``assignments.actions.publish_assignment``).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (staff only)"
        PUBLISHED = "published", "Published"

    class Featured(models.TextChoices):
        MAIN = "main", "Main (home page)"
        ALTERNATIVE = "alternative", "Alternative"
        NONE = "none", "Not featured"

    class Order(models.TextChoices):
        FEWEST_FIRST = "fewest", "Fewest reviews first"
        RANDOM = "random", "Random"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    members = models.ManyToManyField("catalogue.Member", blank=True, related_name="assignments")
    parties = models.ManyToManyField("catalogue.Party", blank=True, related_name="assignments")
    documents = models.ManyToManyField("catalogue.Document", blank=True, related_name="assignments")
    threshold = models.PositiveIntegerField(
        default=1, help_text="A page is reviewed for this assignment once this many people reviewed it."
    )
    order = models.CharField(
        max_length=16,
        choices=Order.choices,
        default=Order.FEWEST_FIRST,
        help_text="Which page the next reviewer gets: at random among the pages with the fewest "
        "reviews (every page gets its first look before any gets its second), or at random among "
        "all pages still to review. Priority pages come first either way.",
    )
    featured = models.CharField(max_length=16, choices=Featured.choices, default=Featured.NONE)
    feature_order = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.PUBLISHED,
        help_text="A draft is seen by staff only (the “Preview draft” button shows it); publish it to open it "
        "for reviews.",
    )
    active = models.BooleanField(
        default=True,
        verbose_name="open for reviews",
        help_text="Reviewers are served its pages. A published assignment that is not open is shown as closed.",
    )
    # Retiring when the crowd is sure (issue 25): a page leaves the to-do set once it has at
    # least ``min_reviews`` reviews and every tag's confidence is above ``confidence_target`` or
    # below 1 - target; with one review, only if it tagged nothing and every tag is below 1 -
    # target (``consensus.actions.may_retire`` decides, ``RetiredPage`` records it); the
    # threshold stays the ceiling.
    retire_when_confident = models.BooleanField(
        default=False,
        help_text="Stop asking for reviews of a page once the crowd is confident about every tag "
        "(reviewers weighted by reliability), even before the threshold.",
    )
    confidence_target = models.FloatField(
        default=0.95,
        help_text="How sure the crowd must be about each tag (0.5-1): above this, or below one minus it.",
    )
    min_reviews = models.PositiveIntegerField(
        default=2, help_text="Never retire a page with fewer reviews than this."
    )
    created = models.DateTimeField(auto_now_add=True)
    # Denormalised: pages in the assignment, and pages that reached the threshold (or retired).
    page_count = models.PositiveIntegerField(default=0)
    completed_count = models.PositiveIntegerField(default=0)
    # Denormalised: reviews of its pages (whoever's assignment they were filed under), so the
    # progress bar can say "N reviews so far" beside "pages complete" at no cost per request.
    review_count = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["feature_order", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(threshold__gte=1),
                name="assignment_threshold_at_least_1",
                violation_error_message="The threshold is at least 1 review.",
            ),
            models.CheckConstraint(
                condition=Q(confidence_target__gte=0.5, confidence_target__lt=1),
                name="assignment_confidence_target_range",
                violation_error_message="The confidence target is at least 0.5 and below 1.",
            ),
            models.CheckConstraint(
                condition=Q(min_reviews__gte=1),
                name="assignment_min_reviews_at_least_1",
                violation_error_message="The minimum is at least 1 review.",
            ),
            models.UniqueConstraint(
                fields=["featured"], condition=Q(featured="main"), name="assignment_one_main"
            ),
            models.CheckConstraint(
                condition=Q(status="published") | Q(active=False, featured="none"),
                name="assignment_draft_not_open_nor_featured",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("assignment", args=[self.slug])

    def clean(self) -> None:
        """The draft rule in words, for the admin's forms (the constraint would only say its name)."""
        if self.status == self.Status.DRAFT:
            errors = {}
            if self.active:
                errors["active"] = "A draft cannot be open for reviews: publish it to open it."
            if self.featured != self.Featured.NONE:
                errors["featured"] = "A draft cannot be featured on the home page: publish it first."
            if errors:
                raise ValidationError(errors)

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    def pages(self) -> models.QuerySet[Page]:
        """The pages this assignment covers (Postgres truth): by member, party or document."""
        return Page.objects.filter(scope.page_filter(self.pk))

    @property
    def progress_percent(self) -> float:
        return 100.0 * self.completed_count / self.page_count if self.page_count else 0.0


class PriorityPage(models.Model):
    """A page an editor wants looked at first within an assignment (the admin's priority pages,
    the triage inbox's "needs more eyes"). The picker serves an assignment's priority pages that
    still need reviews before its other pages, uniformly among themselves. Written only by
    ``assignments.actions.prioritise_pages`` / ``deprioritise_pages``."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="priority_pages")
    page = models.ForeignKey("catalogue.Page", on_delete=models.CASCADE, related_name="priorities")
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assignment", "page"], name="prioritypage_unique")]
        indexes = [models.Index(fields=["page"], name="prioritypage_page_idx")]

    def __str__(self) -> str:
        return f"{self.page} first in {self.assignment}"


class RetiredPage(models.Model):
    """A page this assignment no longer asks reviews for, before its threshold, because the crowd
    is confident about every tag (``Assignment.retire_when_confident``). The assignment's done
    rule is ``review_count >= threshold OR retired`` (``assignments.scope``): the to-do sets,
    the pool, the Postgres fallback and the progress counters all read it. Written only by
    ``assignments.actions.retire_pages`` (called by ``consensus``)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="retired_pages")
    page = models.ForeignKey("catalogue.Page", on_delete=models.CASCADE, related_name="+")
    review_count = models.PositiveIntegerField(help_text="Reviews it had when it was retired.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assignment", "page"], name="retiredpage_unique")]
        indexes = [models.Index(fields=["page"], name="retiredpage_page_idx")]

    def __str__(self) -> str:
        return f"{self.page} retired from {self.assignment}"


class PickerStat(models.Model):
    """How the next-page picker served, per hour and source (redis, pool, postgres, ...).

    Kept in Postgres because the counts matter most exactly when Redis or memcached is down.
    Each process counts in memory and adds its counts here every few seconds
    (``assignments.picker_stats``), so the hot path never writes a row per pick.
    """

    hour = models.DateTimeField()
    source = models.CharField(max_length=32)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "source"], name="pickerstat_hour_source")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 {self.source} x{self.count}"
