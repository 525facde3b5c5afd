"""Reads for moderation: the candidates on ``/staff/suspicious/`` and the quarantined reviewers.

Three simple signals, each entry carrying the numbers that put it there (no model, no score an
editor cannot check by hand; the editor decides):

- **bursts**: at least ``burst_accounts`` new accounts from one address range (the /24 or /48
  stored at creation, ``Reviewer.created_from``) created within ``burst_window`` of each other,
  with where their reviews went (the member most of them reviewed);
- **disagreement**: reviewers who, on pages with at least ``min_others`` other (counted)
  reviewers, disagree with those others' majority on at least ``disagreement_rate`` of at least
  ``min_compared`` pages. Disagreeing on a page: applying a tag most of the others did not, or
  leaving out one most of them applied;
- **concentration**: reviewers with at least ``min_reviews`` reviews of which at least
  ``concentration_share`` are of one member's (or one party's) pages, and at least
  ``concentration_lift`` times that member's share of everyone else's reviews (a featured
  assignment on one member makes everyone concentrated on them: that is no signal).

Only reviews and accounts of the last ``lookback`` are read (bounded work), and quarantined
reviewers are listed apart with their records, not as candidates.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count
from django.utils import timezone
from psycopg import sql

from catalogue.models import Document, Member, Page, Party, Tag
from lib.sql_names import compose
from moderation.models import Quarantine
from reviews.models import Review, Reviewer

TABLES = {
    "review": Review,
    "review_tags": Review.tags.through,
    "reviewer": Reviewer,
    "page": Page,
    "document": Document,
    "member": Member,
    "tag": Tag,
}

LIMIT = 50


@dataclass(frozen=True)
class Thresholds:
    lookback: timedelta = timedelta(days=14)
    burst_accounts: int = 5
    burst_window: timedelta = timedelta(hours=1)
    min_others: int = 2
    min_compared: int = 5
    disagreement_rate: float = 0.6
    min_reviews: int = 10
    concentration_share: float = 0.8
    concentration_lift: float = 1.5

    @property
    def burst_minutes(self) -> int:
        return round(self.burst_window.total_seconds() / 60)


@dataclass
class Account:
    user_id: int
    username: str
    created: datetime
    review_count: int  # every review, quarantined or not
    quarantined: bool

    @property
    def user_ids(self) -> list[int]:
        return [self.user_id]


@dataclass
class Burst:
    address_range: str
    accounts: list[Account]
    first: datetime
    last: datetime
    top_member: str | None = None
    top_member_reviews: int = 0
    reviews: int = 0

    @property
    def reason(self) -> str:
        minutes = max(1, round((self.last - self.first).total_seconds() / 60))
        text = (
            f"{len(self.accounts)} new accounts from {self.address_range} created within {minutes} "
            f"minute{'s' if minutes != 1 else ''}"
        )
        if self.reviews:
            text += f"; {self.reviews} reviews between them"
            if self.top_member:
                text += f", {self.top_member_reviews} of them of {self.top_member}'s pages"
        return text

    @property
    def user_ids(self) -> list[int]:
        return [a.user_id for a in self.accounts if not a.quarantined]


@dataclass
class Disagreement:
    user_id: int
    username: str
    compared: int
    disagreed: int
    example: str

    @property
    def user_ids(self) -> list[int]:
        return [self.user_id]

    @property
    def rate(self) -> float:
        return self.disagreed / self.compared if self.compared else 0.0

    @property
    def reason(self) -> str:
        return (
            f"disagreed with the other reviewers' majority on {self.disagreed} of {self.compared} pages "
            f"({self.rate:.0%}) that others reviewed too{self.example}"
        )


@dataclass
class Concentration:
    user_id: int
    username: str
    kind: str  # "member" or "party"
    owner: str
    reviews_on_owner: int
    reviews: int
    others_share: float  # the owner's share of everyone else's reviews

    @property
    def user_ids(self) -> list[int]:
        return [self.user_id]

    @property
    def share(self) -> float:
        return self.reviews_on_owner / self.reviews if self.reviews else 0.0

    @property
    def reason(self) -> str:
        return (
            f"{self.reviews_on_owner} of their {self.reviews} reviews ({self.share:.0%}) are of "
            f"{self.kind} {self.owner}'s pages, against {self.others_share:.0%} of everyone else's"
        )


@dataclass
class Suspicious:
    thresholds: Thresholds
    bursts: list[Burst] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    concentrations: list[Concentration] = field(default_factory=list)


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def suspicious(thresholds: Thresholds | None = None, *, now: datetime | None = None) -> Suspicious:
    t = thresholds or Thresholds()
    since = (now or timezone.now()) - t.lookback
    return Suspicious(
        thresholds=t,
        bursts=bursts(t, since=since),
        disagreements=disagreements(t, since=since),
        concentrations=concentrations(t, since=since),
    )


# --- Bursts -----------------------------------------------------------------------------------

_ACCOUNTS_SQL = compose(
    """
SELECT rv.user_id, u.username, rv.created, rv.created_from, rv.quarantined_at IS NOT NULL,
       (SELECT count(*) FROM {review} r WHERE r.reviewer_id = rv.user_id)
FROM {reviewer} rv JOIN auth_user u ON u.id = rv.user_id
WHERE rv.created >= %(since)s AND rv.created_from <> '' AND NOT u.is_staff
ORDER BY rv.created_from, rv.created, rv.user_id
LIMIT 100000
""",
    **TABLES,
)

_BURST_MEMBERS_SQL = compose(
    """
SELECT r.reviewer_id, d.member_id, count(*) FROM {review} r
JOIN {page} p ON p.id = r.page_id JOIN {document} d ON d.id = p.document_id
WHERE r.reviewer_id = ANY(%(users)s) GROUP BY 1, 2
""",
    **TABLES,
)


def bursts(t: Thresholds, *, since: datetime) -> list[Burst]:
    """Accounts of one range that fall in some window of ``burst_window`` holding at least
    ``burst_accounts`` of them; overlapping windows make one burst. Newest burst first."""
    by_range: dict[str, list[Account]] = defaultdict(list)
    for user_id, username, created, address_range, quarantined, reviews in _rows(
        _ACCOUNTS_SQL, {"since": since}
    ):
        by_range[address_range].append(Account(user_id, username, created, reviews, quarantined))
    found: list[Burst] = []
    for address_range, accounts in by_range.items():
        in_burst = [False] * len(accounts)
        start = 0
        for end in range(len(accounts)):
            while accounts[end].created - accounts[start].created > t.burst_window:
                start += 1
            if end - start + 1 >= t.burst_accounts:
                for i in range(start, end + 1):
                    in_burst[i] = True
        current: list[Account] = []
        for account, flagged in zip(accounts, in_burst, strict=True):
            if flagged and current and account.created - current[-1].created > t.burst_window:
                found.append(_burst(address_range, current))
                current = []
            if flagged:
                current.append(account)
            elif current:
                found.append(_burst(address_range, current))
                current = []
        if current:
            found.append(_burst(address_range, current))
    found.sort(key=lambda b: b.last, reverse=True)
    found = found[:LIMIT]
    _describe_targets(found)
    return found


def _burst(address_range: str, accounts: list[Account]) -> Burst:
    return Burst(address_range, list(accounts), accounts[0].created, accounts[-1].created)


def _describe_targets(found: list[Burst]) -> None:
    """Where each burst's reviews went: the member whose pages they reviewed most (one query)."""
    users = [a.user_id for b in found for a in b.accounts]
    if not users:
        return
    per_user: dict[int, dict[int | None, int]] = defaultdict(dict)
    for user_id, member_id, count in _rows(_BURST_MEMBERS_SQL, {"users": users}):
        per_user[user_id][member_id] = count
    names = dict(Member.objects.values_list("pk", "name"))
    for burst in found:
        totals: dict[int | None, int] = defaultdict(int)
        for account in burst.accounts:
            for member_id, count in per_user.get(account.user_id, {}).items():
                totals[member_id] += count
        burst.reviews = sum(totals.values())
        members = {m: n for m, n in totals.items() if m is not None}
        if members:
            top = max(members, key=lambda m: (members[m], -m))
            burst.top_member, burst.top_member_reviews = names.get(top), members[top]


# --- Disagreement -----------------------------------------------------------------------------

# Per review of a candidate (a reviewer not quarantined, reviews of the lookback) on a page with
# enough other counted reviewers: whether it disagrees with their majority on any tag. The
# candidate's own review is counted in the page's figures (it is not quarantined), so the
# others' figures are the page's minus theirs.
_DISAGREEMENT_SQL = compose(
    """
WITH mine AS (
  SELECT r.id, r.reviewer_id, r.page_id FROM {review} r
  JOIN {reviewer} rv ON rv.user_id = r.reviewer_id AND rv.quarantined_at IS NULL
  JOIN auth_user u ON u.id = r.reviewer_id AND NOT u.is_staff
  WHERE r.created >= %(since)s AND NOT r.quarantined
), pages AS (
  SELECT r.page_id, count(*) AS n FROM {review} r
  WHERE NOT r.quarantined AND r.page_id IN (SELECT page_id FROM mine) GROUP BY 1
), page_tags AS (
  SELECT r.page_id, rt.tag_id, count(*) AS k FROM {review} r
  JOIN {review_tags} rt ON rt.review_id = r.id
  WHERE NOT r.quarantined AND r.page_id IN (SELECT page_id FROM mine) GROUP BY 1, 2
), compared AS (
  SELECT m.id, m.reviewer_id, m.page_id, p.n - 1 AS others
  FROM mine m JOIN pages p ON p.page_id = m.page_id WHERE p.n - 1 >= %(min_others)s
), verdicts AS (
  SELECT c.id, c.reviewer_id, c.page_id, c.others, pt.tag_id, rt.tag_id IS NOT NULL AS mine,
         pt.k - (rt.tag_id IS NOT NULL)::int AS others_k
  FROM compared c JOIN page_tags pt ON pt.page_id = c.page_id
  LEFT JOIN {review_tags} rt ON rt.review_id = c.id AND rt.tag_id = pt.tag_id
), disagreeing AS (
  SELECT DISTINCT ON (id) id, reviewer_id, page_id, others, tag_id, mine, others_k FROM verdicts
  WHERE mine <> (others_k * 2 > others) ORDER BY id, tag_id
), per_reviewer AS (
  SELECT c.reviewer_id, count(*) AS compared, count(d.id) AS disagreed,
         (array_agg(ARRAY[d.page_id, d.tag_id, d.mine::int, d.others_k, d.others] ORDER BY d.id)
           FILTER (WHERE d.id IS NOT NULL))[1:1] AS example
  FROM compared c LEFT JOIN disagreeing d ON d.id = c.id GROUP BY c.reviewer_id
)
SELECT pr.reviewer_id, u.username, pr.compared, pr.disagreed, pr.example
FROM per_reviewer pr JOIN auth_user u ON u.id = pr.reviewer_id
WHERE pr.compared >= %(min_compared)s AND pr.disagreed >= %(rate)s * pr.compared
ORDER BY pr.disagreed::float / pr.compared DESC, pr.compared DESC, pr.reviewer_id
LIMIT %(limit)s
""",
    **TABLES,
)


def disagreements(t: Thresholds, *, since: datetime) -> list[Disagreement]:
    rows = _rows(
        _DISAGREEMENT_SQL,
        {
            "since": since,
            "min_others": t.min_others,
            "min_compared": t.min_compared,
            "rate": t.disagreement_rate,
            "limit": LIMIT,
        },
    )
    tags = dict(Tag.objects.values_list("pk", "name"))
    found = []
    for user_id, username, compared, disagreed, example in rows:
        text = ""
        if example:
            page_id, tag_id, mine, others_k, others = example[0]
            tag = tags.get(tag_id, f"tag {tag_id}")
            if mine:
                text = f"; e.g. tagged page {page_id} “{tag}” where {others_k} of {others} others did"
            else:
                text = f"; e.g. left out “{tag}” on page {page_id} where {others_k} of {others} others applied it"
        found.append(Disagreement(user_id, username, compared, disagreed, text))
    return found


# --- Concentration ----------------------------------------------------------------------------

_CONCENTRATION_SQL = """
WITH r AS (
  SELECT r.reviewer_id, {owner} AS owner FROM {review} r
  JOIN {page} p ON p.id = r.page_id JOIN {document} d ON d.id = p.document_id
  LEFT JOIN {member} m ON m.id = d.member_id
  WHERE r.created >= %(since)s AND NOT r.quarantined
), totals AS (
  SELECT reviewer_id, count(*) AS n FROM r GROUP BY 1
), site AS (
  SELECT owner, count(*) AS k FROM r WHERE owner IS NOT NULL GROUP BY 1
), everyone AS (
  SELECT count(*) AS n FROM r
), per AS (
  SELECT r.reviewer_id, r.owner, count(*) AS k FROM r JOIN totals t USING (reviewer_id)
  WHERE t.n >= %(min_reviews)s AND r.owner IS NOT NULL GROUP BY 1, 2
), scored AS (
  SELECT per.reviewer_id, per.owner, per.k, t.n,
         coalesce((s.k - per.k)::float / nullif(e.n - t.n, 0), 0) AS others_share
  FROM per JOIN totals t USING (reviewer_id) JOIN site s USING (owner) CROSS JOIN everyone e
)
SELECT sc.reviewer_id, u.username, sc.owner, sc.k, sc.n, sc.others_share
FROM scored sc JOIN auth_user u ON u.id = sc.reviewer_id
JOIN {reviewer} rv ON rv.user_id = sc.reviewer_id AND rv.quarantined_at IS NULL
WHERE NOT u.is_staff AND sc.k >= %(share)s * sc.n AND sc.k::float / sc.n >= %(lift)s * sc.others_share
ORDER BY sc.k::float / sc.n DESC, sc.n DESC, sc.reviewer_id
LIMIT %(limit)s
"""


def concentrations(t: Thresholds, *, since: datetime) -> list[Concentration]:
    found = []
    for kind, column, model in (("member", "d.member_id", Member), ("party", "m.party_id", Party)):
        rows = _rows(
            compose(_CONCENTRATION_SQL, owner=sql.SQL(column), **TABLES),
            {
                "since": since,
                "min_reviews": t.min_reviews,
                "share": t.concentration_share,
                "lift": t.concentration_lift,
                "limit": LIMIT,
            },
        )
        names = model.objects.in_bulk({row[2] for row in rows})
        for user_id, username, owner, k, n, share in rows:
            name = names[owner].name if owner in names else f"#{owner}"
            found.append(Concentration(user_id, username, kind, name, k, n, share))
    return found


# --- Quarantined reviewers --------------------------------------------------------------------


@dataclass
class Quarantined:
    user_id: int
    username: str
    quarantined_at: datetime
    record: Quarantine | None
    reviews: int


def quarantined_reviewers(*, limit: int = 200) -> list[Quarantined]:
    """Reviewers now quarantined, latest first, with the record that says who and why."""
    reviewers = list(
        Reviewer.objects.filter(quarantined_at__isnull=False)
        .select_related("user")
        .order_by("-quarantined_at", "-user_id")[:limit]
    )
    ids = [r.user_id for r in reviewers]
    records: dict[int, Quarantine] = {}
    for record in (
        Quarantine.objects.filter(user_id__in=ids, released_at__isnull=True)
        .select_related("quarantined_by")
        .order_by("quarantined_at", "id")
    ):
        records[record.user_id] = record  # the latest open one wins
    counts = dict(
        Review.objects.filter(reviewer_id__in=ids)
        .values("reviewer_id")
        .annotate(n=Count("id"))
        .values_list("reviewer_id", "n")
    )
    return [
        Quarantined(
            r.user_id,
            r.user.get_username(),
            r.quarantined_at,
            records.get(r.user_id),
            counts.get(r.user_id, 0),
        )
        for r in reviewers
    ]


def recent_records(*, limit: int = 20, user=None) -> list[Quarantine]:
    """Quarantines and releases (of ``user`` only, if given), the latest decision first: the
    audit trail."""
    qs = Quarantine.objects.select_related("user", "quarantined_by", "released_by")
    if user is not None:
        qs = qs.filter(user=user)
    rows = list(qs.order_by("-quarantined_at", "-id")[:limit])
    rows.sort(key=lambda r: max(r.quarantined_at, r.released_at or r.quarantined_at), reverse=True)
    return rows
