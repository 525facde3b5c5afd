"""The staff activity page's data: recent reviews and skips, newest first, filtered, paged by a
keyset cursor over both tables (moved out of ``results.selectors``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from assignments.models import Assignment
from catalogue.models import Member, Page, Party, Tag
from results import cursors
from results.params import BadRequest
from results.selectors import DEFAULT_LIMIT, Scope, ScopeKind, _scope_q
from reviews.models import Review, Skip

ACTIVITY_SALT = "results.activity.v1"


@dataclass(frozen=True)
class ActivityFilters:
    assignment: Assignment | None = None
    tag: Tag | None = None
    member: Member | None = None
    party: Party | None = None
    reviewer: object | None = None

    def as_query(self) -> dict[str, str]:
        out = {}
        for name in ("assignment", "tag", "member", "party"):
            obj = getattr(self, name)
            if obj is not None:
                out[name] = obj.slug
        if self.reviewer is not None:
            out["reviewer"] = self.reviewer.username
        return out


@dataclass
class Activity:
    kind: str  # "review" or "skip"
    id: int
    created: datetime
    reviewer: object
    page: Page
    assignment: Assignment | None
    tags: list[Tag]


# Newest first over two tables, merged on (created, kind rank, id), descending; reviews rank
# above skips at the same microsecond so the merge order is total and the cursor exact.
_RANK = {"review": 1, "skip": 0}


def _activity_before(qs: QuerySet, *, rank: int, key: list[int] | None) -> QuerySet:
    if key is None:
        return qs
    moment, key_rank, key_id = cursors.from_micros(key[0]), key[1], key[2]
    before = Q(created__lt=moment)
    if rank < key_rank:
        before |= Q(created=moment)
    elif rank == key_rank:
        before |= Q(created=moment, id__lt=key_id)
    return qs.filter(created__lte=moment).filter(before)  # the bound is what the index seeks on


def activity(
    *, filters: ActivityFilters, after: str | None = None, limit: int = DEFAULT_LIMIT
) -> tuple[list[Activity], str | None]:
    """Recent reviews and skips, newest first, and the next cursor (three queries)."""
    key = cursors.decode(after, salt=ACTIVITY_SALT, identity="activity", size=3) if after else None
    if key is not None and key[1] not in _RANK.values():
        raise BadRequest("That cursor is malformed. Start again from the first page.")
    reviews = Review.objects.select_related("reviewer", "page__document__member__party", "assignment")
    skips = Skip.objects.select_related("reviewer", "page__document__member__party")
    if filters.assignment is not None:
        reviews = reviews.filter(assignment=filters.assignment)
        # A skip records no assignment: the skips of the assignment's pages stand in for it.
        skips = skips.filter(_scope_q(Scope(ScopeKind.ASSIGNMENT, filters.assignment)))
    if filters.tag is not None:
        reviews = reviews.filter(tags=filters.tag)
        skips = skips.none()  # a skip carries no tags
    if filters.member is not None:
        reviews = reviews.filter(page__document__member=filters.member)
        skips = skips.filter(page__document__member=filters.member)
    if filters.party is not None:
        reviews = reviews.filter(page__document__member__party=filters.party)
        skips = skips.filter(page__document__member__party=filters.party)
    if filters.reviewer is not None:
        reviews = reviews.filter(reviewer=filters.reviewer)
        skips = skips.filter(reviewer=filters.reviewer)
    reviews = _activity_before(reviews, rank=_RANK["review"], key=key).order_by("-created", "-id")
    skips = _activity_before(skips, rank=_RANK["skip"], key=key).order_by("-created", "-id")
    items = [
        Activity("review", r.pk, r.created, r.reviewer, r.page, r.assignment, list(r.tags.all()))
        for r in reviews.prefetch_related("tags")[: limit + 1]
    ]
    items.extend(Activity("skip", s.pk, s.created, s.reviewer, s.page, None, []) for s in skips[: limit + 1])
    items.sort(key=lambda a: (a.created, _RANK[a.kind], a.id), reverse=True)
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        last = items[-1]
        next_cursor = cursors.encode(
            salt=ACTIVITY_SALT,
            identity="activity",
            key=[cursors.micros(last.created), _RANK[last.kind], last.id],
        )
    return items, next_cursor
