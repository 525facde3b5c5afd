"""Reads for the public review pages (no writes here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, Max

from assignments import scope
from assignments.models import Assignment
from reviews.models import SKIP_KEY, ZOOM_KEY, Page, PageTag, Review, Reviewer, Tag

# Keys offered to tags that have none, and the fixed actions' preferred keys: the first one not
# taken by a tag wins, so editors can give tags any letter without breaking skip or zoom.
_SPARE_TAG_KEYS = "123456789"
# Tags may not take the first ones (``reviews.models.RESERVED_TAG_KEYS``); the others are for
# tags saved before that rule.
_SKIP_KEYS = (SKIP_KEY, "n", "k", ".")
_ZOOM_KEYS = (ZOOM_KEY, "+", "=", "/")

BIGINT_MAX = 2**63 - 1


@dataclass
class TagControl:
    tag: Tag
    key: str


@dataclass
class ReviewScreenKeys:
    tags: list[TagControl]
    skip: str
    zoom: str


def review_screen_keys() -> ReviewScreenKeys:
    """Active tags in the editors' order with a keyboard key each, plus the skip and zoom keys."""
    tags = list(Tag.objects.filter(active=True).order_by("order", "name"))
    used = {t.key.lower() for t in tags if t.key}
    spare = (k for k in _SPARE_TAG_KEYS if k not in used)
    controls = []
    for tag in tags:
        key = tag.key.lower() if tag.key else next(spare, "")
        used.add(key)
        controls.append(TagControl(tag=tag, key=key))
    skip = next((k for k in _SKIP_KEYS if k not in used), "")
    zoom = next((k for k in _ZOOM_KEYS if k not in used and k != skip), "")
    return ReviewScreenKeys(tags=controls, skip=skip, zoom=zoom)


def page_for_review(page_id: int) -> Page | None:
    if not 0 < page_id <= BIGINT_MAX:
        return None
    return Page.objects.select_related("document__member").filter(pk=page_id).first()


def reviewer_status(*, user, page_id: int) -> tuple[int, bool]:
    """(this user's review count, whether they already reviewed the page), in one query."""
    if not user.is_authenticated:
        return 0, False
    # EXISTS on the (reviewer, page) unique index: one row looked up, however many reviews the
    # reviewer has made (an aggregate over their reviews grew with every review).
    row = (
        Reviewer.objects.filter(user_id=user.pk)
        .annotate(reviewed=Exists(Review.objects.filter(reviewer_id=user.pk, page_id=page_id)))
        .values_list("review_count", "reviewed")
        .first()
    )
    if row is None:
        return 0, False
    return row[0], row[1]


def highest_threshold(page: Page) -> int:
    """The largest threshold among the active assignments containing the page (1 if none)."""
    document = page.document
    condition = scope.containing_document_filter(
        document_id=document.pk,
        member_id=document.member_id,
        party_id=document.member.party_id if document.member_id else None,
    )
    found = Assignment.objects.filter(condition, active=True).aggregate(m=Max("threshold"))["m"]
    return found or 1


@dataclass
class PageTags:
    visible: bool
    reviewed_by_viewer: bool
    threshold: int
    counts: list[PageTag] = field(default_factory=list)


def page_tags_for_viewer(*, page: Page, user) -> PageTags:
    """The page's tag counts, if this viewer may see them.

    Rule (PRODUCT: others' tags are not shown before one submits): the counts are shown to
    someone who reviewed the page, to staff, and to everyone once the page has as many reviews
    as the highest threshold of the assignments containing it, when no assignment still needs
    unbiased reviews of it. A skip does not count: skipping would otherwise let anyone peek at
    the tags and then submit a review of the page nudged by them.
    """
    threshold = highest_threshold(page)
    reviewed = user.is_authenticated and Review.objects.filter(reviewer_id=user.pk, page_id=page.pk).exists()
    visible = reviewed or page.review_count >= threshold or (user.is_authenticated and user.is_staff)
    counts = []
    if visible:
        counts = list(
            PageTag.objects.filter(page=page, count__gt=0, tag__active=True)
            .select_related("tag")
            .order_by("-count", "tag__order", "tag__name")
        )
    return PageTags(visible=visible, reviewed_by_viewer=reviewed, threshold=threshold, counts=counts)


def is_anonymous_reviewer(user) -> bool:
    """True for an unclaimed ``anon-<n>`` account (one query, unless the reviewer is cached)."""
    if not user.is_authenticated:
        return False
    reviewer = Reviewer.objects.filter(user_id=user.pk).only("anonymous").first()
    return bool(reviewer and reviewer.anonymous)


def first_highlighting_reviewer_id(page_id: int) -> int | None:
    """The reviewer who first tagged the page with a highlighting tag (``Tag.highlights``), the one
    a discovery of the page credits; None when no review of the page used one."""
    return (
        Review.objects.filter(page_id=page_id, tags__highlights=True)
        .order_by("created", "id")
        .values_list("reviewer_id", flat=True)
        .first()
    )
