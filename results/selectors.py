"""Reads for the results pages, feeds, exports and API (no writes here).

Listings read the per-page-per-tag aggregate ``PageTag`` (and, for one user's listing, that
user's own ``Review`` rows), never all the reviews of a page. Each listing is one query whose rows
come off an index in order and stop at ``limit + 1``:

- most-tagged: ``(tag, -count, page)`` (index ``pagetag_most_tagged_idx``), keyset on
  ``(count, page id)``;
- in order, for the public: ``(tag, listed_at, page)`` (index ``pagetag_listed_idx``), keyset on
  ``(listed_at, page id)``: the time the page+tag became publicly visible (see below);
- in order, for staff: ``(tag, first_tagged_at, page)`` (index ``pagetag_in_order_idx``), keyset
  on ``(first_tagged_at, page id)``; for one user, ``(reviewer, created)`` on their reviews.

Visibility (the rule of ``/pages/<id>/``, made cheap for lists): the public sees a page in a
listing only once its ``review_count`` reached the page's *public threshold*, the lowest threshold
of the active assignments containing it (1 when there is none; ``assignments.scope``). That rule
is per page, so listings do not evaluate it: ``PageTag.listed_at`` is set, in the review's
transaction, exactly when the page reached its threshold (registry entry ``page-tag-listed-at``,
re-derived when an assignment changes), and listings read ``listed_at IS NOT NULL``, a column of
the row they already walk. Staff see every page; a user sees all of their own pages in their own
user listing (they are their answers).

Why public in-order listings follow ``listed_at``, not ``first_tagged_at``: with a threshold
above 1, a page tagged on Monday that gets its T-th review on Wednesday becomes public on
Wednesday. Placed at Monday, it would land behind a reader who had paged past Monday and they
would never see it. ``PageTag.listed_at`` (registry entry ``page-tag-listed-at``) is the moment
both held, stamped in the review's transaction, so the public list only grows at its end. Staff
see every page whatever its review count, so their in-order listings keep ``first_tagged_at``;
a user's own listing, seen by others, follows the later of their review and the page's
``listed_at`` (a sort over that user's tagged reviews, not an index walk). Cursors carry which
of these times they count in (a staff cursor is refused in a public listing and vice versa).

In-order listings also leave out tags younger than ``RESULTS_IN_ORDER_SETTLE_SECONDS``: a
review's timestamp is taken a few milliseconds before its transaction commits, so without the
delay a reader could pass a position just before an earlier-stamped review becomes visible, and
miss it for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, ExpressionWrapper, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Greatest
from django.utils import timezone

from assignments import scope as assignment_scope
from assignments import visibility
from assignments.models import Assignment
from catalogue.models import Document, Member, Page, Party, Tag
from lib.ids import is_id
from lib.web import is_staff
from results import cursors
from results.params import Filters
from reviews.models import Discovery, PageTag, Review
from reviews.selectors import hide_quarantined_credit

CURSOR_SALT = "results.listing.v1"
DEFAULT_LIMIT = 50
FEED_LIMIT = 50


class Order(StrEnum):
    MOST_TAGGED = "most-tagged"
    IN_ORDER = "in-order"
    LATEST = "latest"  # newest first, no cursor: feeds
    # Most confident first (``?order=confidence``, consensus): keyset on (confidence, page id),
    # index ``pagetag_confidence_idx``. Rows whose confidence is not computed yet (NULL for
    # the moment between a review's commit and its refresh) are left out of this order only.
    CONFIDENCE = "confidence"


class ScopeKind(StrEnum):
    ALL = "all"
    PARTY = "party"
    MEMBER = "member"
    DOCUMENT = "document"
    ASSIGNMENT = "assignment"
    USER = "user"


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind = ScopeKind.ALL
    obj: object | None = None

    @property
    def key(self) -> str:
        return self.kind.value if self.obj is None else f"{self.kind.value}:{self.obj.pk}"

    @property
    def label(self) -> str:
        return "" if self.obj is None else str(self.obj)


@dataclass(frozen=True)
class Viewer:
    """Who is looking: decides which pages a listing may show."""

    user_id: int | None
    is_staff: bool

    def sees_everything_in(self, scope: Scope) -> bool:
        if self.is_staff:
            return True
        return scope.kind == ScopeKind.USER and scope.obj is not None and scope.obj.pk == self.user_id


# Anyone not signed in: what the public sees (a staff member's ``?view=public``).
PUBLIC_VIEWER = Viewer(user_id=None, is_staff=False)


def viewer_for(user) -> Viewer:
    authenticated = bool(user and user.is_authenticated)
    return Viewer(
        user_id=user.pk if authenticated else None,
        is_staff=is_staff(user),
    )


@dataclass(frozen=True)
class Listing:
    tag: Tag
    scope: Scope
    order: Order

    @property
    def identity(self) -> str:
        """What a cursor is bound to: the order, the tag and the scope (not the filters, which a
        reader may tighten or loosen between pages without breaking the keyset)."""
        return f"{self.order.value}|{self.tag.pk}|{self.scope.key}"


@dataclass
class Row:
    page: Page
    tag: Tag
    count: int  # reviewers who applied the tag
    at: datetime  # when the page first got the tag (or, for a user listing, when they tagged it)
    confidence: float | None = None  # PageTag.confidence (consensus): None until computed

    @property
    def reviews(self) -> int:
        return self.page.review_count

    @property
    def agreement(self) -> float:
        return self.count / self.reviews if self.reviews else 0.0


@dataclass
class ListingPage:
    rows: list[Row]
    next_cursor: str | None  # more rows follow now
    # In order: the position after the last row shown, even at the end of the list, so a reader
    # at the end can come back later and get exactly what was tagged since.
    resume_cursor: str | None = None


def _apply_filters(
    qs: QuerySet, filters: Filters, *, count: str, reviews: str, confidence: str = "confidence"
) -> QuerySet:
    """``min_reviews`` and ``min_agreement`` on counters: count / reviews >= share is compared
    as count * denominator >= reviews * numerator, in integers, so the boundary is exact.
    ``min_confidence`` on the stored confidence (six places, the filter's millionths)."""
    if filters.min_confidence is not None and filters.min_confidence > 0:
        qs = qs.filter(**{f"{confidence}__gte": filters.min_confidence / 1_000_000})
    if filters.min_reviews is not None:
        qs = qs.filter(**{f"{reviews}__gte": filters.min_reviews})
    if filters.min_agreement is not None and filters.min_agreement > 0:
        share = filters.min_agreement
        qs = qs.alias(
            _agreement_margin=ExpressionWrapper(
                F(count) * share.denominator - F(reviews) * share.numerator, output_field=IntegerField()
            )
        ).filter(_agreement_margin__gte=0)
    return qs


def _scope_q(scope: Scope, *, page: str = "page") -> Q:
    """Narrow a query on ``page`` (a Page relation path) to the scope's pages."""
    obj = scope.obj
    match scope.kind:
        case ScopeKind.PARTY:
            return Q(**{f"{page}__document__member__party_id": obj.pk})
        case ScopeKind.MEMBER:
            return Q(**{f"{page}__document__member_id": obj.pk})
        case ScopeKind.DOCUMENT:
            return Q(**{f"{page}__document_id": obj.pk})
        case ScopeKind.ASSIGNMENT:
            # The one definition of an assignment's pages (assignments.scope), as a subquery.
            return Q(
                **{f"{page}__in": Page.objects.filter(assignment_scope.page_filter(obj.pk)).values("pk")}
            )
    return Q()


def settle_horizon() -> datetime:
    return timezone.now() - timedelta(seconds=settings.RESULTS_IN_ORDER_SETTLE_SECONDS)


def listing_page(
    listing: Listing,
    *,
    viewer: Viewer,
    filters: Filters,
    after: str | None = None,
    limit: int | None = None,
) -> ListingPage:
    """One page of a listing: ``limit`` rows after the cursor ``after`` and the next cursor.

    One query, whatever ``limit`` is: rows carry their page, document, member and party.
    """
    limit = limit or DEFAULT_LIMIT
    key = None
    identity = listing.identity
    if listing.order == Order.IN_ORDER and not viewer.sees_everything_in(listing.scope):
        identity += "|public"  # positions count in listed_at (public time), not first-tagged time
    if after and listing.order != Order.LATEST:
        key = cursors.decode(after, salt=CURSOR_SALT, identity=identity, size=2)
    if listing.scope.kind == ScopeKind.USER:
        rows = _user_rows(listing, viewer=viewer, filters=filters, key=key, limit=limit + 1)
    else:
        rows = _pagetag_rows(listing, viewer=viewer, filters=filters, key=key, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    if listing.order == Order.LATEST or not rows:
        # An empty in-order page resumes from where it was asked to start.
        resume = after if listing.order == Order.IN_ORDER else None
        return ListingPage(rows=rows, next_cursor=None, resume_cursor=resume)
    last = rows[-1]
    if listing.order == Order.CONFIDENCE:
        position = round((last.confidence or 0.0) * 1_000_000)  # rows without one are not listed
    else:
        position = last.count if listing.order == Order.MOST_TAGGED else cursors.micros(last.at)
    cursor = cursors.encode(salt=CURSOR_SALT, identity=identity, key=[position, last.page.pk])
    return ListingPage(
        rows=rows,
        next_cursor=cursor if more else None,
        resume_cursor=cursor if listing.order == Order.IN_ORDER else None,
    )


def _seen_page_q(viewer: Viewer, prefix: str) -> Q:
    """Pages this viewer may find in a listing: staff every page not withdrawn (embargoed ones
    included: they prepare the release), everyone else the public ones."""
    if viewer.is_staff:
        return Q(**{f"{prefix}withdrawn_at__isnull": True})
    return visibility.public_page_q(prefix)


def visible_pagetags(*, viewer: Viewer, scope: Scope = Scope(), filters: Filters = Filters()) -> QuerySet:
    """PageTag rows this viewer may see in a listing or export: active tags, scope, filters."""
    qs = PageTag.objects.filter(count__gt=0, tag__active=True).filter(_scope_q(scope))
    if viewer.sees_everything_in(scope):
        # Withdrawn pages are in no listing, export or count, staff's and a reviewer's own
        # included (staff reach them in the admin and on /pages/<id>/); embargoed ones only in
        # staff's. For the public, ``listed_at`` already says so: it is NULL while a page is
        # not public (assignments.visibility).
        qs = qs.filter(_seen_page_q(viewer, "page__"))
    else:
        # Listed means the page reached the public threshold (``listed_at`` is set in the same
        # transaction as the review count). Filtering on this row's own column, not on the
        # page's count, also keeps the planner on the ordered index walk: it cannot know that
        # tagged pages are the reviewed ones, and with ``page.review_count >= T`` it sorted
        # every tagged row of a small table instead (the party + tag listing at 40,000 rows).
        qs = qs.filter(listed_at__isnull=False)
    return _apply_filters(qs, filters, count="count", reviews="page__review_count")


def _keyset(
    qs: QuerySet, order: Order, key: list[int] | None, *, count: str, at: str, confidence: str
) -> QuerySet:
    """``qs`` in the listing's ``order``, after the cursor's position ``key`` (count, confidence
    in millionths or time in microseconds, then page id), for either kind of row: ``count``,
    ``at`` and ``confidence`` name its columns. The time orders stop at the settle horizon
    (module docstring)."""
    if order == Order.CONFIDENCE:
        return _confidence_order(qs, confidence, key)
    if order == Order.MOST_TAGGED:
        if key is not None:
            # The redundant bound is what the index can seek on (Postgres does not turn the OR
            # into an index condition: without it, a deep cursor scans every row before it).
            qs = qs.filter(**{f"{count}__lte": key[0]}).filter(
                Q(**{f"{count}__lt": key[0]}) | Q(**{count: key[0], "page_id__gt": key[1]})
            )
        return qs.order_by(f"-{count}", "page_id")
    qs = qs.filter(**{f"{at}__lte": settle_horizon()})
    if order == Order.IN_ORDER:
        if key is not None:
            moment = cursors.from_micros(key[0])
            # The redundant bound again: the index seeks to the cursor instead of filtering.
            qs = qs.filter(**{f"{at}__gte": moment}).filter(
                Q(**{f"{at}__gt": moment}) | Q(**{at: moment, "page_id__gt": key[1]})
            )
        return qs.order_by(at, "page_id")
    return qs.order_by(f"-{at}", "-page_id")


def _pagetag_rows(listing: Listing, *, viewer: Viewer, filters: Filters, key, limit: int) -> list[Row]:
    qs = visible_pagetags(viewer=viewer, scope=listing.scope, filters=filters).filter(tag=listing.tag)
    # The public's time is when the page+tag became visible to them (module docstring).
    at = "first_tagged_at" if viewer.sees_everything_in(listing.scope) else "listed_at"
    qs = _keyset(qs, listing.order, key, count="count", at=at, confidence="confidence")
    qs = qs.select_related("page__document__member__party")
    return [
        Row(page=pt.page, tag=listing.tag, count=pt.count, at=getattr(pt, at), confidence=pt.confidence)
        for pt in qs[:limit]
    ]


def _confidence_order(qs: QuerySet, field: str, key) -> QuerySet:
    """Most confident first, then page id; ``key`` is (confidence in millionths, page id)."""
    qs = qs.filter(**{f"{field}__isnull": False})
    if key is not None:
        bound = key[0] / 1_000_000
        # The redundant bound lets the index seek, as for most-tagged.
        qs = qs.filter(**{f"{field}__lte": bound}).filter(
            Q(**{f"{field}__lt": bound}) | Q(**{field: bound, "page_id__gt": key[1]})
        )
    return qs.order_by(f"-{field}", "page_id")


def _user_rows(listing: Listing, *, viewer: Viewer, filters: Filters, key, limit: int) -> list[Row]:
    """A user's pages with the tag, from their own reviews: the in-order time is when *they*
    tagged the page; counts come from the aggregate (a subquery per row shown, not per review)."""
    user = listing.scope.obj
    tag = listing.tag
    qs = Review.objects.filter(_seen_page_q(viewer, "page__"), reviewer_id=user.pk, tags=tag).annotate(
        tag_count=Subquery(PageTag.objects.filter(page_id=OuterRef("page_id"), tag=tag).values("count")[:1]),
        tag_confidence=Subquery(
            PageTag.objects.filter(page_id=OuterRef("page_id"), tag=tag).values("confidence")[:1]
        ),
    )
    at = "created"
    if not viewer.sees_everything_in(listing.scope):
        # The page's row for this tag is listed once the page reached its public threshold (the
        # listings' rule, module docstring): one lookup by (page, tag) per review of theirs. A
        # quarantined reviewer's reviews count for nothing: the public sees none of them.
        listed = PageTag.objects.filter(page_id=OuterRef("page_id"), tag=tag).values("listed_at")[:1]
        qs = qs.filter(quarantined=False).annotate(listed_at=Subquery(listed)).filter(listed_at__isnull=False)
        if listing.order != Order.MOST_TAGGED:
            # Public time: the later of their review and the page's listing (module docstring).
            qs = qs.annotate(public_at=Greatest("created", "listed_at"))
            at = "public_at"
    qs = _apply_filters(
        qs, filters, count="tag_count", reviews="page__review_count", confidence="tag_confidence"
    )
    qs = _keyset(qs, listing.order, key, count="tag_count", at=at, confidence="tag_confidence")
    qs = qs.select_related("page__document__member__party")
    return [
        Row(page=r.page, tag=tag, count=r.tag_count or 0, at=getattr(r, at), confidence=r.tag_confidence)
        for r in qs[:limit]
    ]


# --- Lookups used by views and the API --------------------------------------------------------


def tag_for(slug: str, *, viewer: Viewer) -> Tag | None:
    """An active tag by slug (staff also reach inactive ones)."""
    qs = Tag.objects.filter(slug=slug)
    if not viewer.is_staff:
        qs = qs.filter(active=True)
    return qs.first()


def scope_for(kind: ScopeKind, value, *, viewer: Viewer) -> Scope | None:
    """The scope object named in a URL, or None when there is no such (visible) object."""
    if isinstance(value, str) and ("\x00" in value or len(value) > 150):
        return None  # Postgres refuses NUL in text; no name is that long
    match kind:
        case ScopeKind.ALL:
            return Scope()
        case ScopeKind.PARTY:
            obj = Party.objects.filter(slug=value).first()
        case ScopeKind.MEMBER:
            obj = Member.objects.filter(slug=value).first()
        case ScopeKind.DOCUMENT:
            qs = Document.objects.filter(pk=value)
            if not viewer.is_staff:
                # Taken down or embargoed: no listing of it either (assignments.visibility).
                qs = qs.filter(visibility.public_document_q())
            obj = qs.first() if is_id(int(value)) else None
        case ScopeKind.ASSIGNMENT:
            qs = Assignment.objects.filter(slug=value)
            obj = (qs if viewer.is_staff else qs.filter(active=True)).first()
        case ScopeKind.USER:
            obj = get_user_model().objects.filter(username=value, is_active=True).first()
        case _:
            obj = None
    return None if obj is None else Scope(kind=kind, obj=obj)


@dataclass
class TagCount:
    tag: Tag
    pages: int


def tag_counts(*, viewer: Viewer, scope: Scope) -> list[TagCount]:
    """Active tags with how many visible pages of the scope have each (two queries)."""
    counts = dict(
        visible_pagetags(viewer=viewer, scope=scope)
        .values_list("tag_id")
        .annotate(n=Count("id"))
        .values_list("tag_id", "n")
    )
    return [TagCount(tag=t, pages=counts.get(t.pk, 0)) for t in Tag.objects.filter(active=True)]


def parties() -> list[Party]:
    return list(Party.objects.annotate(member_total=Count("members")).order_by("name"))


def members(*, party: Party | None = None) -> list[Member]:
    qs = Member.objects.select_related("party").annotate(
        document_total=Count("documents", filter=visibility.public_document_q("documents__"))
    )
    if party is not None:
        qs = qs.filter(party=party)
    return list(qs.order_by("name", "id"))


def documents_of(member: Member, *, limit: int = 500) -> list[Document]:
    """A member's public documents (not withdrawn, not embargoed: the member page is the
    public's); ``public_pages``: their pages that are public."""
    withdrawn = Count("pages", filter=~visibility.public_page_q("pages__"))
    qs = Document.objects.filter(visibility.public_document_q(), member=member)
    return list(qs.annotate(public_pages=F("page_count") - withdrawn).order_by("title", "id")[:limit])


def public_page_count(document: Document) -> int:
    """The document's pages that are public (the count the public is shown): none while the
    document is embargoed, all but the withdrawn ones once it is public."""
    if not visibility.document_is_public(document):
        return 0
    return document.page_count - Page.objects.filter(~visibility.public_page_q(), document=document).count()


def public_discoveries() -> QuerySet:
    """Discoveries of public pages (assignments.visibility): every list of discoveries starts here."""
    return Discovery.objects.filter(visibility.public_page_q("page__"))


def latest_discoveries(*, limit: int = 100) -> list[Discovery]:
    return hide_quarantined_credit(
        list(
            public_discoveries()
            .select_related("page__document__member", "credited__reviewer")
            .order_by("-created", "-id")[:limit]
        )
    )


DISCOVERY_SALT = "results.discoveries.v1"


def discoveries_page(
    *, after: str | None = None, limit: int = DEFAULT_LIMIT
) -> tuple[list[Discovery], str | None]:
    """Discoveries newest first, ``limit`` after the cursor ``after``, and the next cursor (keyset
    on (created, id): a discovery made while a reader pages appears on the first page, never
    shifts the others). One query."""
    qs = (
        public_discoveries()
        .select_related("page__document__member", "credited__reviewer")
        .order_by("-created", "-id")
    )
    if after:
        moment_micros, last_id = cursors.decode(after, salt=DISCOVERY_SALT, identity="discoveries", size=2)
        moment = cursors.from_micros(moment_micros)
        qs = qs.filter(created__lte=moment).filter(Q(created__lt=moment) | Q(created=moment, id__lt=last_id))
    rows = hide_quarantined_credit(list(qs[: limit + 1]))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = cursors.encode(
            salt=DISCOVERY_SALT, identity="discoveries", key=[cursors.micros(last.created), last.pk]
        )
    return rows, next_cursor
