"""Reads of contributors' credit (no writes here): leaderboard tables, the 48-hour table,
profile buckets, discoveries by owner and the triage inbox.

Tables read Redis (one round trip: the built marker and a script) and fall back, when Redis is
down or the family is not built yet, to a Postgres query bounded by a statement timeout; when
that too cannot answer in time the table is hidden with a short note. Never an error.
Reviewers' names come from Postgres, one query per table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import redis
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from psycopg import sql

from assignments import scope, visibility
from catalogue.models import Page, Tag
from contributors import leaderboards, recent
from contributors.clock import clock
from contributors.models import TriageDecision
from denorm.operations import queue_rebuild
from lib import keys
from lib.log_throttle import warn_throttled
from lib.redis_client import get_redis
from lib.redis_scripts import LuaScript, execute, load_script
from lib.sql_names import compose
from lib.web import is_staff
from results.selectors import public_discoveries
from reviews.models import Discovery, PageTag, Review
from reviews.selectors import hide_quarantined_credit

TABLES = {
    "review": Review,
    "review_tags": Review.tags.through,
    "page": Page,
    "pagetag": PageTag,
    "tag": Tag,
    "triagedecision": TriageDecision,
    "discovery": Discovery,
}

log = logging.getLogger("crowd.contributors")

BOARD_READ_LUA = load_script("contributors", "lua/board_read.lua")
RECENT_READ_LUA = load_script("contributors", "lua/recent_read.lua")
TOP = 10
FALLBACK_TIMEOUT_MS = 250


@dataclass
class Standing:
    rank: int
    user_id: int
    username: str
    count: int
    shared: bool = False  # another reviewer has the same rank ("=3")
    is_staff: bool = False  # names show a staff badge (reviews.templatetags.reviewer_names)


@dataclass
class Table:
    """A leaderboard as shown: its rows, the viewer's place, and where it came from."""

    rows: list[Standing] = field(default_factory=list)
    source: str = "redis"  # "redis", "postgres" (fallback) or "hidden"
    viewer: Standing | None = None

    @property
    def hidden(self) -> bool:
        return self.source == "hidden"

    @property
    def note(self) -> str:
        if self.source == "postgres":
            return "Counted straight from the database while our fast store catches up."
        if self.source == "hidden":
            return "This table is resting for a moment; it will be back shortly."
        return ""


# --- Tables -------------------------------------------------------------------------------------


def board_table(board: leaderboards.Board, *, viewer=None, limit: int = TOP) -> Table:
    """A board's top ``limit`` and the viewer's rank ("you are #N")."""
    viewer_id = _viewer_id(viewer)
    raw = _read(board.family, BOARD_READ_LUA, [board.key], [limit, viewer_id or ""])
    if raw is None:
        if limit == 0:  # only the viewer's rank was wanted: not worth a Postgres count
            return Table(source="hidden")
        sql, params = leaderboards.top_sql(board, limit)
        return _fallback(sql, params)
    return _table(raw, viewer)


def recent_table(*, viewer=None, limit: int = TOP) -> Table:
    """The most active reviewers of the past 48 hours."""
    viewer_id = _viewer_id(viewer)
    now = clock.now()
    hour = recent.hour_of(now)
    script_keys = [
        keys.recent_reviewers_window(hour),
        *(keys.recent_reviewers_hour(h) for h in recent.window_hours(now)),
    ]
    raw = _read(
        recent.FAMILY_NAME,
        RECENT_READ_LUA,
        script_keys,
        [recent.seconds_left_in_hour(now), limit, viewer_id or ""],
    )
    if raw is None:
        sql, params = recent.top_sql(limit, now)
        return _fallback(sql, params)
    return _table(raw, viewer)


def _viewer_id(viewer) -> int | None:
    return viewer.pk if viewer is not None and viewer.is_authenticated else None


def _read(family: str, script: LuaScript, script_keys: list[str], argv: list) -> list | None:
    """The script's reply, or None when the family cannot be trusted (not built: a rebuild is
    queued) or Redis is down."""
    try:
        client = get_redis()
        pipe = client.pipeline(transaction=False)
        pipe.exists(keys.built_marker(family))
        script.queue(pipe, script_keys, argv)
        built, reply = execute(pipe, client)
        if built:
            return reply
        warn_throttled(
            log, f"unbuilt-{family}", "denormalisation %s is not built: read from Postgres", family
        )
        queue_rebuild(family)
    except redis.RedisError as exc:
        warn_throttled(
            log, f"table-{family}", "leaderboard %s read from Postgres, Redis unavailable: %r", family, exc
        )
    return None


def _table(raw: list, viewer) -> Table:
    top, score, above = raw
    pairs = [(int(top[i]), int(float(top[i + 1]))) for i in range(0, len(top), 2)]
    table = Table(rows=_standings(pairs), source="redis")
    if score is not None and score is not False:
        table.viewer = Standing(
            rank=int(above) + 1,
            user_id=viewer.pk,
            username=viewer.get_username(),
            count=int(float(score)),
            is_staff=is_staff(viewer),
        )
    return table


def _standings(pairs: list[tuple[int, int]]) -> list[Standing]:
    """Rows with competition ranks (equal counts share a rank), ties listed by name; names from
    Postgres in one query (accounts deleted meanwhile are left out)."""
    found = get_user_model().objects.filter(pk__in=[u for u, _ in pairs], is_active=True)
    staff = set()
    names = {}
    for pk, username, staff_flag in found.values_list("pk", "username", "is_staff"):
        names[pk] = username
        if staff_flag:
            staff.add(pk)
    rows = sorted(
        ((user, count) for user, count in pairs if user in names),
        key=lambda uc: (-uc[1], names[uc[0]].casefold()),
    )
    standings: list[Standing] = []
    for position, (user, count) in enumerate(rows, start=1):
        rank = standings[-1].rank if standings and standings[-1].count == count else position
        standings.append(
            Standing(rank=rank, user_id=user, username=names[user], count=count, is_staff=user in staff)
        )
    for i, row in enumerate(standings):
        row.shared = any(o.rank == row.rank for j, o in enumerate(standings) if j != i)
    return standings


def _fallback(sql: str, params: dict) -> Table:
    rows = bounded_rows(sql, params, timeout_ms=FALLBACK_TIMEOUT_MS)
    if rows is None:
        return Table(source="hidden")
    return Table(rows=_standings([(user, count) for _, user, count in rows]), source="postgres")


def bounded_rows(sql: str, params: dict, *, timeout_ms: int) -> list[tuple] | None:
    """Rows of a read query given at most ``timeout_ms`` (a savepoint with a local statement
    timeout, restored after); None when it ran out of time or failed."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout')")
            before = cursor.fetchone()[0]
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{int(timeout_ms)}ms"])
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [before])
            return rows
    except DatabaseError as exc:
        warn_throttled(log, "table-fallback", "leaderboard fallback query gave up: %r", exc)
        return None


# --- Discoveries --------------------------------------------------------------------------------


def discoveries_for(
    *, member=None, party=None, document=None, credited=None, limit: int = 10
) -> list[Discovery]:
    """The latest discoveries of a member's, party's or document's pages, or credited to a
    reviewer (one query)."""
    qs = public_discoveries().select_related("page__document__member", "credited__reviewer")
    if member is not None:
        qs = qs.filter(page__document__member=member)
    if party is not None:
        qs = qs.filter(page__document__member__party=party)
    if document is not None:
        qs = qs.filter(page__document=document)
    if credited is not None:
        qs = qs.filter(credited=credited)
    return hide_quarantined_credit(list(qs.order_by("-created", "-id")[:limit]))


def page_discovery(page_id: int) -> Discovery | None:
    found = (
        Discovery.objects.select_related("credited__reviewer", "created_by").filter(page_id=page_id).first()
    )
    return hide_quarantined_credit([found])[0] if found is not None else None


# --- Profiles -----------------------------------------------------------------------------------

THUMBS_PER_BUCKET = 4


@dataclass
class ProfileBucket:
    tag: Tag | None  # None: "nothing of note"
    count: int
    pages: list[Page]
    url: str | None  # the bucket's listing, /users/<name>/tags/<tag>/

    @property
    def title(self) -> str:
        return self.tag.name if self.tag is not None else "Nothing of note"


@dataclass
class Profile:
    user: object
    review_count: int
    reviewer: object | None
    buckets: list[ProfileBucket]
    hidden: int  # reviews of pages whose tags this viewer may not see yet
    discoveries: list[Discovery]
    rank: Standing | None
    rank_source: str
    sees_everything: bool


def profile(username: str, *, viewer) -> Profile | None:
    """A reviewer's profile as ``viewer`` may see it.

    Visibility (issue 14: hidden answers must not leak through profiles): the reviewer and staff
    see every bucket; anyone else sees only the reviews of pages whose tags are public, by the
    rule of ``/pages/<id>/`` and of the listings each bucket links to (the page reached its
    public threshold, the lowest threshold of the open assignments containing it), and how many
    more are still hidden. Constant queries, whatever the count.
    """
    user = (
        get_user_model().objects.select_related("reviewer").filter(username=username, is_active=True).first()
    )
    if user is None:
        return None
    reviewer = getattr(user, "reviewer", None)
    sees_everything = bool(
        viewer is not None and viewer.is_authenticated and (viewer.pk == user.pk or is_staff(viewer))
    )
    buckets, hidden = _buckets(user, sees_everything, counted_only=not sees_everything)
    rank = board_table(leaderboards.OVERALL, viewer=user, limit=0)
    # The reviewer's own count (and staff's view of it) leaves out nothing: a quarantine and the
    # known-answer pages are not to be noticed; the public's counts only reviews that count.
    review_count = (reviewer.reviews_made if sees_everything else reviewer.review_count) if reviewer else 0
    return Profile(
        user=user,
        review_count=review_count,
        reviewer=reviewer,
        buckets=buckets,
        hidden=hidden,
        discoveries=(
            discoveries_for(credited=user, limit=20)
            if sees_everything or reviewer is None or reviewer.quarantined_at is None
            else []
        ),
        rank=rank.viewer,
        rank_source=rank.source,
        sees_everything=sees_everything,
    )


# A review's page is public when it reached its public threshold (``assignments.scope``: the
# lowest threshold of the open assignments containing it), computed once per document the
# reviewer reviewed, not once per review. ``{public}`` is that condition, or ``true`` for a viewer
# who sees everything (no threshold needed, no join).
_REVIEWED_DOCUMENTS = compose(
    "pth_doc.id IN (SELECT p2.document_id FROM {review} r2"
    " JOIN {page} p2 ON p2.id = r2.page_id WHERE r2.reviewer_id = %(user)s)",
    **TABLES,
)

_BUCKET_COUNTS_SQL = """
SELECT CASE WHEN {public} THEN coalesce(rt.tag_id, 0) ELSE -1 END, count(DISTINCT r.id)
FROM {review} r JOIN {page} p ON p.id = r.page_id {thresholds}
LEFT JOIN {review_tags} rt ON rt.review_id = r.id
WHERE r.reviewer_id = %(user)s AND {visible} AND (NOT r.quarantined OR NOT %(counted_only)s)
GROUP BY 1
"""

_BUCKET_PAGES_SQL = """
SELECT tag_id, page_id FROM (
  SELECT coalesce(rt.tag_id, 0) AS tag_id, r.page_id,
         row_number() OVER (PARTITION BY coalesce(rt.tag_id, 0) ORDER BY r.created DESC, r.id DESC) AS n
  FROM {review} r JOIN {page} p ON p.id = r.page_id {thresholds}
  LEFT JOIN {review_tags} rt ON rt.review_id = r.id
  WHERE r.reviewer_id = %(user)s AND {public} AND {visible}
    AND (NOT r.quarantined OR NOT %(counted_only)s)
) x WHERE n <= %(n)s ORDER BY tag_id, n
"""


def _buckets(user, sees_everything: bool, *, counted_only: bool) -> tuple[list[ProfileBucket], int]:
    """``counted_only``: leave out quarantined reviews (everyone but the reviewer and staff)."""
    params = {"user": user.pk, "n": THUMBS_PER_BUCKET, "counted_only": counted_only}
    if sees_everything:
        # Staff and the reviewer: every page not withdrawn (an embargoed one they reviewed too).
        parts = {"public": "true", "thresholds": "", "visible": "p.withdrawn_at IS NULL"}
    else:
        thresholds = scope.document_public_thresholds_sql(_REVIEWED_DOCUMENTS)
        parts = {
            # At its public threshold, or retired early by an active assignment (issue 25).
            "public": f"(p.review_count >= dt.threshold OR {scope.retired_publicly_sql('p.id')})",
            "thresholds": f"JOIN {thresholds} dt ON dt.document_id = p.document_id",
            "visible": visibility.public_page_sql("p"),  # not embargoed, not withdrawn
        }
    fragments = {name: sql.SQL(text) for name, text in parts.items()}
    with connection.cursor() as cursor:
        cursor.execute(compose(_BUCKET_COUNTS_SQL, **fragments, **TABLES), params)
        counts = dict(cursor.fetchall())
        hidden = counts.pop(-1, 0)
        if not counts:
            return [], hidden
        cursor.execute(compose(_BUCKET_PAGES_SQL, **fragments, **TABLES), params)
        page_rows = cursor.fetchall()
    tags = Tag.objects.filter(pk__in=[t for t in counts if t], active=True).in_bulk()
    pages = Page.objects.select_related("document").in_bulk([p for _, p in page_rows])
    by_tag: dict[int, list[Page]] = {}
    for tag_id, page_id in page_rows:
        if page_id in pages:
            by_tag.setdefault(tag_id, []).append(pages[page_id])
    buckets = [
        ProfileBucket(
            tag=tags[tag_id],
            count=counts[tag_id],
            pages=by_tag.get(tag_id, []),
            url=reverse("user-tag", args=[user.get_username(), tags[tag_id].slug]),
        )
        for tag_id in sorted((t for t in counts if t in tags), key=lambda t: (tags[t].order, tags[t].name))
    ]
    if counts.get(0):
        buckets.append(ProfileBucket(tag=None, count=counts[0], pages=by_tag.get(0, []), url=None))
    return buckets, hidden


# --- The triage inbox ---------------------------------------------------------------------------

INBOX_LIMIT = 50


@dataclass
class TriageItem:
    page: Page
    highlighters: int  # reviewers who gave the page a highlighting tag
    reviews: int  # reviewers who reviewed it
    score: float  # the lower bound of the 95% Wilson interval of highlighters / reviews
    confidence: float | None  # of the highlighting tag (consensus), None until computed
    first_highlighted_at: object
    more_eyes_at: object | None  # an earlier "needs more eyes", if any

    @property
    def share(self) -> float:
        return self.highlighters / self.reviews if self.reviews else 0.0


# Pages with a highlighting tag that no editor has decided on: not a discovery, never
# dismissed, and not waiting for more eyes (a "needs more eyes" page comes back once it has more
# reviews than when it was asked). Ranked by the Wilson lower bound of the share of its reviewers
# who highlighted it: it grows with agreement and with how many looked (1 of 1 ranks below 4 of
# 5), then by highlighters, then the earliest highlight. First of all (issue 25) by the
# confidence of its highlighting tag (``PageTag.confidence``: reviewers weighted by
# reliability), a page whose confidence is not computed yet after those that have one.
_INBOX_OPEN = compose(
    """
WITH candidates AS (
  SELECT DISTINCT pt.page_id FROM {pagetag} pt JOIN {tag} t ON t.id = pt.tag_id
  WHERE t.highlights AND pt.count > 0
), highlighted AS (
  SELECT r.page_id, count(DISTINCT r.reviewer_id) AS k, min(r.created) AS first_at
  FROM {review} r JOIN {review_tags} rt ON rt.review_id = r.id
  JOIN {tag} t ON t.id = rt.tag_id
  WHERE t.highlights AND NOT r.quarantined AND r.page_id IN (SELECT page_id FROM candidates)
  GROUP BY r.page_id
), open AS (
  SELECT h.page_id, h.k, greatest(p.review_count, h.k) AS n, h.first_at,
         (SELECT max(td.created) FROM {triagedecision} td
           WHERE td.page_id = h.page_id AND td.decision = 'more_eyes') AS more_eyes_at
  FROM highlighted h JOIN {page} p ON p.id = h.page_id
  WHERE p.withdrawn_at IS NULL AND NOT EXISTS (SELECT 1 FROM {discovery} d WHERE d.page_id = h.page_id)
    AND NOT EXISTS (SELECT 1 FROM {triagedecision} td WHERE td.page_id = h.page_id
                    AND (td.decision IN ('discovery', 'dismissed')
                         OR (td.decision = 'more_eyes' AND td.review_count >= p.review_count)))
)
""",
    **TABLES,
)
_INBOX_SQL = compose(
    """{inbox_open}
SELECT page_id, k, n, first_at, more_eyes_at,
  ((k::float / n) + 1.9208 / n - 1.96 * sqrt((k::float / n) * (1 - k::float / n) / n + 0.9604 / (n * n)))
  / (1 + 3.8416 / n) AS score,
  (SELECT max(pt.confidence) FROM {pagetag} pt JOIN {tag} t ON t.id = pt.tag_id
    WHERE t.highlights AND pt.page_id = open.page_id) AS confidence
FROM open ORDER BY confidence DESC NULLS LAST, score DESC, k DESC, first_at, page_id LIMIT %(limit)s
""",
    inbox_open=sql.SQL(_INBOX_OPEN),
    **TABLES,
)
# The staff navigation's "Triage (N)": the same rule as the inbox, counted (one query).
_INBOX_COUNT_SQL = compose("{inbox_open}SELECT count(*) FROM open", inbox_open=sql.SQL(_INBOX_OPEN))


def triage_inbox(*, limit: int = INBOX_LIMIT) -> list[TriageItem]:
    """The inbox, best first (two queries: the ranking, then the pages with their owners)."""
    with connection.cursor() as cursor:
        cursor.execute(_INBOX_SQL, {"limit": limit})
        rows = cursor.fetchall()
    pages = Page.objects.select_related("document__member__party").in_bulk([r[0] for r in rows])
    return [
        TriageItem(
            page=pages[page_id],
            highlighters=k,
            reviews=n,
            score=score,
            first_highlighted_at=first_at,
            more_eyes_at=more_eyes_at,
            confidence=confidence,
        )
        for page_id, k, n, first_at, more_eyes_at, score, confidence in rows
        if page_id in pages
    ]


def triage_waiting_count() -> int:
    """How many pages wait in the triage inbox (uncapped, unlike the inbox's list)."""
    with connection.cursor() as cursor:
        cursor.execute(_INBOX_COUNT_SQL)
        return cursor.fetchone()[0]


def recent_decisions(*, limit: int = 20) -> list[TriageDecision]:
    return list(TriageDecision.objects.select_related("page__document", "editor", "discovery")[:limit])


def credit_choices(page_id: int) -> list[tuple[int, str]]:
    """Reviewers an editor may credit instead: those who highlighted the page, first first."""
    rows = (
        get_user_model()
        .objects.filter(
            reviews__page_id=page_id,
            reviews__tags__highlights=True,
            reviews__quarantined=False,
            is_active=True,
        )
        .order_by("reviews__created")
        .values_list("pk", "username")
    )
    seen: dict[int, str] = {}
    for pk, name in rows:
        seen.setdefault(pk, name)
    return list(seen.items())
