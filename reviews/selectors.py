"""Reads for the public review pages (no writes here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Exists, QuerySet

from assignments import scope
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


def page_image_name(page_id: int) -> str | None:
    """The image file of a page that may be shown (not withdrawn), for the review screen's
    prefetch of the following page; None otherwise. One query by primary key."""
    return (
        Page.objects.filter(pk=page_id, withdrawn_at__isnull=True).values_list("image", flat=True).first()
        or None
    )


def reviewer_status(*, user, page_id: int) -> tuple[int, bool]:
    """(this user's review count, whether they already reviewed the page), in one query (two for
    a quarantined reviewer, whose own count includes the reviews that count for nothing: they
    are not to notice the quarantine)."""
    if not user.is_authenticated:
        return 0, False
    # EXISTS on the (reviewer, page) unique index: one row looked up, however many reviews the
    # reviewer has made (an aggregate over their reviews grew with every review).
    row = (
        Reviewer.objects.filter(user_id=user.pk)
        .annotate(reviewed=Exists(Review.objects.filter(reviewer_id=user.pk, page_id=page_id)))
        .values_list("review_count", "reviewed", "quarantined_at")
        .first()
    )
    if row is None:
        return 0, False
    return own_review_count(user_id=user.pk, review_count=row[0], quarantined=row[2] is not None), row[1]


def own_review_count(*, user_id: int, review_count: int, quarantined: bool) -> int:
    """The review count a reviewer sees as their own, from their ``Reviewer.review_count``: that,
    or for a quarantined reviewer the count of all their reviews (one query), quarantined ones
    too, so that they do not notice the quarantine."""
    return Review.objects.filter(reviewer_id=user_id).count() if quarantined else review_count


def public_thresholds(document_ids) -> dict[int, int]:
    """The public threshold of the pages of each of these documents (one query): the lowest
    threshold of the active assignments containing them, 1 when none (``assignments.scope``,
    where the rule is written once). Documents that do not exist are left out."""
    document_ids = sorted({int(d) for d in document_ids})
    if not document_ids:
        return {}
    sql = scope.document_public_thresholds_sql("pth_doc.id = ANY(%(docs)s)")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT document_id, threshold FROM {sql} t", {"docs": document_ids})
        return dict(cursor.fetchall())


def public_threshold_for_page(page: Page) -> int:
    """How many reviews make this page's tag counts public (see :func:`public_thresholds`)."""
    return public_thresholds([page.document_id]).get(page.document_id, scope.DEFAULT_PUBLIC_THRESHOLD)


def with_public_threshold(pages: QuerySet[Page]) -> QuerySet[Page]:
    """Pages annotated with ``public_threshold`` (see :func:`public_thresholds`), in the same
    query: for lists of pages (the API)."""
    return pages.annotate(public_threshold=scope.public_threshold_expression("document_id"))


@dataclass
class PageTags:
    visible: bool
    reviewed_by_viewer: bool
    threshold: int  # the page's public threshold
    counts: list[PageTag] = field(default_factory=list)


def page_tags_for_viewer(*, page: Page, user) -> PageTags:
    """The page's tag counts, if this viewer may see them.

    Rule (PRODUCT: others' tags are not shown before one submits): the counts are shown to
    someone who reviewed the page, to staff, and to everyone once the page has as many reviews
    as its public threshold, the lowest threshold of the active assignments containing it
    (:func:`public_threshold_for_page`; listings, feeds, exports, the API and profiles follow
    the same rule). The lowest, not the highest: one assignment asking for many eyes must not
    hide the pages a lenient assignment is done with. A skip does not count: skipping would
    otherwise let anyone peek at the tags and then submit a review of the page nudged by them.
    """
    threshold = public_threshold_for_page(page)
    own = (
        Review.objects.filter(reviewer_id=user.pk, page_id=page.pk).values_list("pk", "quarantined").first()
        if user.is_authenticated
        else None
    )
    reviewed = own is not None
    visible = reviewed or page.review_count >= threshold or (user.is_authenticated and user.is_staff)
    counts = []
    if visible:
        counts = list(
            PageTag.objects.filter(page=page, count__gt=0, tag__active=True)
            .select_related("tag")
            .order_by("-count", "tag__order", "tag__name")
        )
    if own is not None and own[1]:
        counts = _with_own_quarantined_review(page, own[0], counts)
    return PageTags(visible=visible, reviewed_by_viewer=reviewed, threshold=threshold, counts=counts)


def _with_own_quarantined_review(page: Page, review_id: int, counts: list[PageTag]) -> list[PageTag]:
    """A quarantined reviewer sees their own review counted on the page, as it would be were they
    not quarantined (they are not to notice). In memory only: nothing is saved, the public's
    counts leave it out."""
    page.review_count += 1
    by_tag = {pt.tag_id: pt for pt in counts}
    for tag in Tag.objects.filter(reviews__id=review_id, active=True):
        if tag.pk in by_tag:
            by_tag[tag.pk].count += 1
        else:
            by_tag[tag.pk] = PageTag(page=page, tag=tag, count=1)
    return sorted(by_tag.values(), key=lambda pt: (-pt.count, pt.tag.order, pt.tag.name))


def is_anonymous_reviewer(user) -> bool:
    """True for an unclaimed ``anon-<n>`` account (one query, unless the reviewer is cached)."""
    if not user.is_authenticated:
        return False
    reviewer = Reviewer.objects.filter(user_id=user.pk).only("anonymous").first()
    return bool(reviewer and reviewer.anonymous)


def first_highlighting_reviewer_id(page_id: int) -> int | None:
    """The reviewer who first tagged the page with a highlighting tag (``Tag.highlights``), the one
    a discovery of the page credits; None when no review of the page used one. A quarantined
    reviewer's reviews count for nothing, credit included."""
    return (
        Review.objects.filter(page_id=page_id, tags__highlights=True, quarantined=False)
        .order_by("created", "id")
        .values_list("reviewer_id", flat=True)
        .first()
    )


def hide_quarantined_credit(discoveries):
    """Discoveries as the public sees them: the credit of a reviewer who is quarantined does not
    show while they are (nothing is changed: releasing brings it back). The discoveries must
    have been loaded with ``select_related("credited__reviewer")``: no query here."""
    for discovery in discoveries:
        reviewer = getattr(discovery.credited, "reviewer", None) if discovery.credited_id else None
        if reviewer is not None and reviewer.quarantined_at is not None:
            discovery.credited = None
    return discoveries
