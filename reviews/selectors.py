"""Reads for the public review pages (no writes here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from django.db import connection
from django.db.models import QuerySet
from psycopg import sql

from assignments import scope, visibility
from assignments.models import Assignment
from catalogue.models import SKIP_KEY, ZOOM_KEY, Document, Member, Page, Tag
from lib import rows
from lib.ids import is_id
from lib.sql_names import compose
from lib.web import is_staff
from reviews import auth
from reviews.models import PageTag, Review, Reviewer

TABLES = {
    "page": Page,
    "document": Document,
    "member": Member,
    "assignment": Assignment,
    "review": Review,
    "reviewer": Reviewer,
}

# Keys offered to tags that have none, and the fixed actions' preferred keys: the first one not
# taken by a tag wins, so editors can give tags any letter without breaking skip or zoom.
_SPARE_TAG_KEYS = "123456789"
# Tags may not take the first ones (``catalogue.models.RESERVED_TAG_KEYS``); the others are for
# tags saved before that rule.
_SKIP_KEYS = (SKIP_KEY, "n", "k", ".")
_ZOOM_KEYS = (ZOOM_KEY, "+", "=", "/")
# Rotate: "q" (a quarter turn) unless a tag has it. Not reserved: a tag may take it, and the
# control then offers the next free key.
_ROTATE_KEYS = ("q", "]", ";")


@dataclass
class TagControl:
    tag: Tag
    key: str


@dataclass
class ReviewScreenKeys:
    tags: list[TagControl]
    skip: str
    zoom: str
    rotate: str = ""


def review_screen_keys() -> ReviewScreenKeys:
    """Active tags in the editors' order with a keyboard key each, plus the skip and zoom keys."""
    tags = [rows.instance(Tag, row) for row in rows.fetch_all(_active_tags_sql(), [])]
    used = {t.key.lower() for t in tags if t.key}
    spare = (k for k in _SPARE_TAG_KEYS if k not in used)
    controls = []
    for tag in tags:
        key = tag.key.lower() if tag.key else next(spare, "")
        used.add(key)
        controls.append(TagControl(tag=tag, key=key))
    skip = next((k for k in _SKIP_KEYS if k not in used), "")
    zoom = next((k for k in _ZOOM_KEYS if k not in used and k != skip), "")
    rotate = next((k for k in _ROTATE_KEYS if k not in used and k not in (skip, zoom)), "")
    return ReviewScreenKeys(tags=controls, skip=skip, zoom=zoom, rotate=rotate)


@cache
def _active_tags_sql() -> str:
    # Raw SQL (lib.rows): the review screen reads the tag set on every request, so that an
    # editor's change shows at once; the ORM's compilation cost more than the round trip.
    return (
        f'SELECT {rows.columns(Tag, "t")} FROM {rows.table(Tag)} t WHERE t.active ORDER BY t."order", t.name'
    )


@cache
def _page_sql(with_viewer: bool) -> str:
    # Raw SQL (lib.rows): the review screen's first query, by primary key; the ORM took longer
    # to compile it (with select_related) than Postgres to answer.
    reviewed = (
        f", EXISTS(SELECT 1 FROM {rows.table(Review)} r WHERE r.reviewer_id = %(viewer)s AND r.page_id = p.id)"
        if with_viewer
        else ""
    )
    return (
        f"SELECT {rows.columns(Page, 'p')}, {rows.columns(Document, 'd')}, {rows.columns(Member, 'm')}{reviewed}"
        f" FROM {rows.table(Page)} p JOIN {rows.table(Document)} d ON d.id = p.document_id"
        f" LEFT JOIN {rows.table(Member)} m ON m.id = d.member_id"
        " WHERE p.id = %(page)s"
    )


def page_for_review(page_id: int, *, viewer=None) -> Page | None:
    """The page with its document and member (None when it does not exist). Given a ``viewer``,
    also whether they reviewed it, as ``page.reviewed_by_viewer`` (for :func:`reviewer_status`),
    in the same query."""
    if not is_id(page_id):
        return None
    viewer_id = viewer.pk if viewer is not None and viewer.is_authenticated else None
    row = rows.fetch_one(_page_sql(viewer_id is not None), {"page": page_id, "viewer": viewer_id})
    if row is None:
        return None
    page = rows.instance(Page, row)
    start = rows.width(Page)
    document = rows.instance(Document, row, start)
    start += rows.width(Document)
    member = None if row[start] is None else rows.instance(Member, row, start)
    # As select_related("document__member") leaves them: no query to follow either.
    Page.document.field.set_cached_value(page, document)
    Document.member.field.set_cached_value(document, member)
    if viewer is not None:
        page.reviewed_by_viewer = viewer_id is not None and row[-1]
    return page


def page_image_name(page_id: int) -> str | None:
    """The image file of a page that may be shown (public: ``assignments.visibility``), for the
    review screen's prefetch of the following page; None otherwise. One query by primary key."""
    row = rows.fetch_one(
        f"SELECT image FROM {rows.table(Page)} p WHERE p.id = %s AND {visibility.public_page_sql('p')}",
        [page_id],
    )
    return (row[0] or None) if row else None


@dataclass(frozen=True)
class ScreenPage:
    id: int
    number: int
    image: str
    width: int | None
    height: int | None
    title: str
    page_count: int | None
    member: str | None


@dataclass(frozen=True)
class NextScreen:
    page: ScreenPage
    following_image: str | None  # the image name of the page after it, when that may be shown
    progress: tuple[int, int, int] | None  # the assignment's page, completed and review counts
    rotation: int = 0  # Page.rotation: how the scan is turned for everyone


# Raw SQL: the fast path's one read after a submit, on every review; the ORM's compilation of
# the equivalent (select_related, a second model, IN) cost more than Postgres running it.
_NEXT_SCREEN_SQL = compose(
    """
    SELECT p.id, p.number, p.image, p.width, p.height, d.title, d.page_count, m.name,
           {public_p},
           a.page_count, a.completed_count, a.review_count, p.rotation
      FROM {page} p
      JOIN {document} d ON d.id = p.document_id
      LEFT JOIN {member} m ON m.id = d.member_id
      LEFT JOIN {assignment} a ON a.id = %(aid)s
     WHERE p.id = ANY(%(ids)s)""",
    public_p=sql.SQL(visibility.public_page_sql("p")),
    **TABLES,
)


def next_screen(*, page_id: int, following_id: int | None, assignment_id: int | None) -> NextScreen | None:
    """What the review screen of ``page_id`` shows (None if it may not be shown: not public, or
    gone), the image of ``following_id`` for prefetching (if it may be shown), and the progress
    of ``assignment_id``: one query."""
    ids = [page_id] if following_id is None else [page_id, following_id]
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_SCREEN_SQL, {"ids": ids, "aid": assignment_id})
        found = {row[0]: row for row in cursor.fetchall()}
    row = found.get(page_id)
    if row is None or not row[8]:
        return None
    after = found.get(following_id) if following_id is not None else None
    return NextScreen(
        page=ScreenPage(*row[:8]),
        following_image=after[2] if after is not None and after[8] else None,
        progress=tuple(row[9:12]) if assignment_id is not None and row[9] is not None else None,
        rotation=row[12],
    )


def reviewer_status(*, user, page_id: int, reviewed: bool | None = None) -> tuple[int, bool]:
    """(this user's own review count, whether they already reviewed the page). ``reviewed``, when
    the caller knows it (``page_for_review(viewer=...)``), saves a query.

    No query when the user came with their Reviewer row (``reviews.auth``) and ``reviewed`` is
    given, one otherwise. The own count is ``Reviewer.reviews_made``: every review, the ones that
    count for nothing too (a quarantine, a known-answer page), which the reviewer is not to
    notice."""
    if not user.is_authenticated:
        return 0, False
    params = {"user": user.pk, "page": page_id}
    reviewer = auth.loaded_reviewer(user)
    if reviewer is auth.NOT_LOADED:
        row = rows.fetch_one(f"SELECT r.reviews_made, {_REVIEWED} {_OWN_ROW}", params)
        if row is None:
            return 0, False
        reviews_made, reviewed = row
    elif reviewer is None:
        return 0, False
    else:
        reviews_made = reviewer.reviews_made
        if reviewed is None:
            reviewed = rows.fetch_one(f"SELECT {_REVIEWED}", params)[0]
    return reviews_made, reviewed


# Raw SQL (lib.rows): the fast path asks after every review, and the ORM's compilation of the
# annotated query cost more than Postgres answering it. EXISTS on the (reviewer, page) unique
# index: one row looked up, however many reviews the reviewer has made (an aggregate over their
# reviews grew with every review).
_REVIEWED = compose(
    "EXISTS(SELECT 1 FROM {review} v WHERE v.reviewer_id = %(user)s AND v.page_id = %(page)s)", **TABLES
)
_OWN_ROW = compose("FROM {reviewer} r WHERE r.user_id = %(user)s", **TABLES)


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
    """Pages annotated with ``public_threshold`` (see :func:`public_thresholds`) and
    ``public_retired`` (an active assignment retired it early: public too), in the same query:
    for lists of pages (the API)."""
    return pages.annotate(
        public_threshold=scope.public_threshold_expression("document_id"),
        public_retired=scope.retired_publicly_expression("pk"),
    )


@dataclass
class PageTags:
    visible: bool
    reviewed_by_viewer: bool
    threshold: int  # the page's public threshold
    retired: bool = False  # an active assignment retired it early: the crowd is confident
    counts: list[PageTag] = field(default_factory=list)


def page_tags_for_viewer(*, page: Page, user) -> PageTags:
    """The page's tag counts, if this viewer may see them.

    Rule (PRODUCT: others' tags are not shown before one submits): the counts are shown to
    someone who reviewed the page, to staff, and to everyone once the page has as many reviews
    as its public threshold, the lowest threshold of the active assignments containing it
    (:func:`public_threshold_for_page`; listings, feeds, exports, the API and profiles follow
    the same rule). The lowest, not the highest: one assignment asking for many eyes must not
    hide the pages a lenient assignment is done with. A page an active assignment retired early
    because the crowd is confident (issue 25) is public too, as in the listings. A skip does not count: skipping would
    otherwise let anyone peek at the tags and then submit a review of the page nudged by them.
    """
    threshold = public_threshold_for_page(page)
    own = (
        Review.objects.filter(reviewer_id=user.pk, page_id=page.pk).values_list("pk", "quarantined").first()
        if user.is_authenticated
        else None
    )
    reviewed = own is not None
    retired = page.review_count < threshold and scope.page_retired_publicly(page.pk)
    visible = reviewed or page.review_count >= threshold or retired or is_staff(user)
    counts = []
    if visible:
        counts = list(
            PageTag.objects.filter(page=page, count__gt=0, tag__active=True)
            .select_related("tag")
            .order_by("-count", "tag__order", "tag__name")
        )
    if own is not None and own[1]:
        counts = _with_own_quarantined_review(page, own[0], counts)
    return PageTags(
        visible=visible, reviewed_by_viewer=reviewed, threshold=threshold, retired=retired, counts=counts
    )


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
    """True for an unclaimed ``anon-<n>`` account (no query when the user came with their
    Reviewer row, see ``reviews.auth``; one otherwise)."""
    if not user.is_authenticated:
        return False
    reviewer = auth.loaded_reviewer(user)
    if reviewer is auth.NOT_LOADED:
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
