"""Progress you can see: small charts drawn on the server as SVG (no script), each with a text
alternative (a title, a one-sentence summary and the numbers in a table).

What is charted, and from what (Postgres, the source of truth, read when the page renders):

- an assignment's page: reviews per hour over its life (reviews filed under it, quarantined ones
  left out) and pages completed over time (a page is complete when its ``threshold``-th counted
  review arrived, whatever assignment that review was filed under: the rule of
  ``Assignment.completed_count``);
- ``/staff/activity/``: reviews per minute in the last hour and per hour in the last 48 hours,
  one line per assignment (the busiest five, the rest together);
- the home page: the release's overall progress (public pages looked at at least once, from the
  ``Page.review_count`` counters) and its reviews per hour over the last 48 hours.

Caching: nothing here keeps a copy. A chart is part of the HTML of its page and is cached with
it: the home page under the ``counts`` generation that every review bumps (so it is as fresh as
the progress bar beside it: ``PAGE_CACHE_SOFT_SECONDS``); an assignment's charts as a part of its
(otherwise uncached) page, under the same generations (``pagecache.fragments``, used by
``results.templatetags.charts``); staff pages are never cached. Time alone moves a chart's window; every chart names its window's end in words
("to 14:00 UTC"), so a cached copy is true as of the time it says (docs/caching.md, Charts).

Cost: one or two grouped queries per chart, on the ``(assignment, created)`` and ``created``
indexes of reviews; the completions chart reads the reviews of the assignment's pages once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber, Trunc
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from psycopg import sql

from assignments import visibility
from assignments.models import Assignment
from catalogue.models import Page
from lib.sql_names import compose
from reviews.models import Review

HOURLY_MAX_SPAN = timedelta(days=14)  # longer lives are charted per day (as an hourly average)
TOP_ASSIGNMENTS = 5  # named lines on the staff charts; the rest are one "other" line
# Line colours, each at least 4.5:1 on white, told apart by dash pattern too (not by colour alone).
PALETTE = [
    ("#0a58a8", ""),
    ("#1a6b3c", "6 3"),
    ("#a4161a", "2 3"),
    ("#6b3fa0", "8 3 2 3"),
    ("#7a5a00", "4 4"),
    ("#4f5963", "1 2"),
]


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


@dataclass(frozen=True)
class Chart:
    key: str  # unique on its page: the id of the SVG's title and description
    title: str
    unit: str  # what a value counts, for the table's heading: "reviews per hour"
    buckets: list[datetime]  # the start of each point's interval, UTC
    bucket_label: str  # "%H:%M" or "%d %b"
    series: list[Series] = field(default_factory=list)
    legend: bool = False  # name each line below the chart (even a single one)

    @property
    def end(self) -> datetime:
        return self.buckets[-1] if self.buckets else timezone.now()

    @property
    def total(self) -> float:
        return sum(sum(s.values) for s in self.series)

    @property
    def rows(self) -> list[tuple[str, list[str]]]:
        return [
            (b.strftime(self.bucket_label), [_number(s.values[i]) for s in self.series])
            for i, b in enumerate(self.buckets)
        ]

    @property
    def summary(self) -> str:
        if not self.buckets or not self.series:
            return "No reviews in this time."
        start, end = self.buckets[0].strftime(self.bucket_label), self.end.strftime(self.bucket_label)
        peaks = ", ".join(f"{s.name}: highest {_number(max(s.values, default=0))}" for s in self.series)
        return f"{self.title}, {start} to {end} UTC. {peaks}."

    def svg(self) -> SafeString:
        return render_svg(self)

    def legend_items(self) -> SafeString:
        return legend(self)


def _number(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0") if value != int(value) else f"{int(value):,}"


def _buckets(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    out, at = [], start
    while at <= end:
        out.append(at)
        at += step
    return out


def _floor(moment: datetime, kind: str) -> datetime:
    moment = moment.astimezone(UTC)
    if kind == "minute":
        return moment.replace(second=0, microsecond=0)
    if kind == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


_STEP = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_LABEL = {"minute": "%H:%M", "hour": "%d %b %H:00", "day": "%d %b"}


# --- An assignment's life ----------------------------------------------------------------------


def assignment_charts(assignment: Assignment, *, now: datetime | None = None) -> tuple[Chart, Chart]:
    """Reviews per hour over the assignment's life, and pages completed over time (cumulative)."""
    now = now or timezone.now()
    span = now - assignment.created
    kind = "hour" if span <= HOURLY_MAX_SPAN else "day"
    buckets = _buckets(_floor(assignment.created, kind), _floor(now, kind), _STEP[kind])
    per_hour = 1 if kind == "hour" else 24  # a day's count shown as its hourly average

    counted = (
        Review.objects.filter(assignment_id=assignment.pk, quarantined=False)
        .annotate(at=Trunc("created", kind, tzinfo=UTC))
        .values("at")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_bucket = {row["at"]: row["n"] for row in counted}
    rate = Chart(
        key=f"rate-{assignment.pk}",
        title="Reviews per hour" + (" (averaged over each day)" if per_hour > 1 else ""),
        unit="reviews per hour",
        buckets=buckets,
        bucket_label=_LABEL[kind],
        series=[Series("Reviews", [by_bucket.get(b, 0) / per_hour for b in buckets])],
    )

    completed_at = completion_times(assignment)
    done, values, times = 0, [], sorted(completed_at)
    i = 0
    for b in buckets:
        end = b + _STEP[kind]
        while i < len(times) and times[i] < end:
            done, i = done + 1, i + 1
        values.append(done)
    completed = Chart(
        key=f"completed-{assignment.pk}",
        title=f"Pages completed, of {assignment.page_count:,}",
        unit="pages completed",
        buckets=buckets,
        bucket_label=_LABEL[kind],
        series=[Series("Pages completed", values)],
    )
    return rate, completed


def completion_times(assignment: Assignment) -> list[datetime]:
    """When each completed page of the assignment got its ``threshold``-th counted review. Only
    the reviews of pages whose counter says they are complete are read (``Page.review_count``,
    a registered, checked denormalisation): an unfinished page cannot have a completion time."""
    complete = assignment.pages().filter(review_count__gte=assignment.threshold).values("pk")
    ranked = (
        Review.objects.filter(page__in=complete, quarantined=False)
        .annotate(
            n=Window(RowNumber(), partition_by=[F("page_id")], order_by=[F("created").asc(), F("pk").asc()])
        )
        .filter(n=assignment.threshold)
        .values_list("created", flat=True)
    )
    return list(ranked)


# --- Staff: the last hour and the last two days -------------------------------------------------


def recent_activity_charts(*, now: datetime | None = None) -> tuple[Chart, Chart]:
    now = now or timezone.now()
    return (
        _split_by_assignment(
            key="per-minute", title="Reviews per minute, the last hour", kind="minute", points=60, now=now
        ),
        _split_by_assignment(
            key="per-hour", title="Reviews per hour, the last 48 hours", kind="hour", points=48, now=now
        ),
    )


def _split_by_assignment(*, key: str, title: str, kind: str, points: int, now: datetime) -> Chart:
    end = _floor(now, kind)
    start = end - _STEP[kind] * (points - 1)
    rows = (
        Review.objects.filter(created__gte=start, quarantined=False)
        .annotate(at=Trunc("created", kind, tzinfo=UTC))
        .values("assignment_id", "at")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[int | None, dict[datetime, int]] = {}
    for row in rows:
        counts.setdefault(row["assignment_id"], {})[row["at"]] = row["n"]
    busiest = sorted(counts, key=lambda a: (-sum(counts[a].values()), a or 0))
    named = [a for a in busiest if a is not None][:TOP_ASSIGNMENTS]
    titles = dict(Assignment.objects.filter(pk__in=named).values_list("pk", "title"))
    buckets = _buckets(start, end, _STEP[kind])
    series = [Series(titles.get(a, f"Assignment {a}"), [counts[a].get(b, 0) for b in buckets]) for a in named]
    rest = [a for a in busiest if a not in named]
    if rest:
        name = "Other assignments" if any(a is not None for a in rest) else "No assignment"
        series.append(Series(name, [sum(counts[a].get(b, 0) for a in rest) for b in buckets]))
    return Chart(
        key=key,
        title=title,
        unit="reviews",
        buckets=buckets,
        bucket_label=_LABEL["minute" if kind == "minute" else "hour"],
        series=series,
        legend=True,
    )


# --- The release, for the home page ---------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseProgress:
    pages: int
    looked_at: int
    chart: Chart

    @property
    def percent(self) -> float:
        return 100.0 * self.looked_at / self.pages if self.pages else 0.0


def release_progress(*, now: datetime | None = None) -> ReleaseProgress:
    """Public pages looked at by at least one reviewer (the ``Page.review_count`` counters), and
    the release's reviews per hour over the last 48 hours: one query (the home page counts its
    queries: tests/contributors/test_home_and_profile_queries.py)."""
    now = now or timezone.now()
    end = _floor(now, "hour")
    buckets = _buckets(end - timedelta(hours=47), end, _STEP["hour"])
    with connection.cursor() as cursor:
        cursor.execute(_RELEASE_SQL, {"since": buckets[0]})
        pages, looked_at, hours, counts = cursor.fetchone()
    by_bucket = {h.astimezone(UTC): n for h, n in zip(hours or [], counts or [], strict=True)}
    chart = Chart(
        key="release-rate",
        title="Reviews per hour, the last 48 hours",
        unit="reviews per hour",
        buckets=buckets,
        bucket_label=_LABEL["hour"],
        series=[Series("Reviews", [by_bucket.get(b, 0) for b in buckets])],
    )
    return ReleaseProgress(pages=pages, looked_at=looked_at, chart=chart)


# The public-page rule is assignments.visibility's SQL form (the ORM's public_page_q).
_RELEASE_SQL = compose(
    """
WITH hourly AS (
  SELECT date_trunc('hour', r.created) AS h, count(*) AS n
    FROM {review} r
   WHERE r.created >= %(since)s AND NOT r.quarantined
   GROUP BY 1
)
SELECT count(*), count(*) FILTER (WHERE p.review_count > 0),
       (SELECT array_agg(h ORDER BY h) FROM hourly), (SELECT array_agg(n ORDER BY h) FROM hourly)
  FROM {page} p
 WHERE {public_p}
""",
    public_p=sql.SQL(visibility.public_page_sql("p")),
    review=Review,
    page=Page,
)


# --- Drawing --------------------------------------------------------------------------------------

# Small: a phone shows it at about 360 px, so that its 15-unit text stays readable there.
WIDTH, HEIGHT = 480, 170
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28


def _nice_ceiling(value: float) -> float:
    if value <= 1:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def render_svg(chart: Chart) -> SafeString:
    """The chart as an inline SVG: axes, three grid lines, a line per series (a dot when there is
    one point). Only numbers and escaped text go in; no style attribute (the CSP forbids them)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_ceiling(max((max(s.values, default=0) for s in chart.series), default=0))
    n = len(chart.buckets)

    # Coordinates as text with one decimal (format_html escapes its arguments into strings).
    def x(i: int) -> str:
        return f"{LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2):.1f}"

    def y(v: float) -> str:
        return f"{TOP + plot_h - plot_h * v / top:.1f}"

    parts = [
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#c9d1d9"/>'
            '<text x="{}" y="{}" text-anchor="end" font-size="15" fill="#4f5963">{}</text>',
            LEFT,
            y(v),
            WIDTH - RIGHT,
            y(v),
            LEFT - 6,
            f"{float(y(v)) + 4:.1f}",
            _number(v),
        )
        for v in (0, top / 2, top)
    ]
    if n:
        for i in sorted({0, n // 2, n - 1}):
            anchor = "start" if i == 0 else "end" if i == n - 1 else "middle"
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="{}" font-size="15" fill="#4f5963">{}</text>',
                    x(i),
                    HEIGHT - 6,
                    anchor,
                    chart.buckets[i].strftime(chart.bucket_label),
                )
            )
    for (colour, dash), series in zip(PALETTE, chart.series, strict=False):
        if n == 1:
            parts.append(
                format_html('<circle cx="{}" cy="{}" r="3" fill="{}"/>', x(0), y(series.values[0]), colour)
            )
            continue
        points = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(series.values))
        parts.append(
            format_html(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{}/>',
                points,
                colour,
                format_html(' stroke-dasharray="{}"', dash) if dash else "",
            )
        )
    return format_html(
        '<svg class="chart__svg" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc" '
        'data-values="{}" focusable="false"><title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        WIDTH,
        HEIGHT,
        chart.key,
        chart.key,
        ";".join(",".join(_number(v) for v in s.values) for s in chart.series),
        chart.key,
        chart.title,
        chart.key,
        chart.summary,
        mark_safe("".join(parts)),  # noqa: S308 - each part is built by format_html above
    )


def legend(chart: Chart) -> SafeString:
    return format_html_join(
        "",
        '<li><svg width="28" height="10" aria-hidden="true" focusable="false"><line x1="0" y1="5" x2="28" y2="5" '
        'stroke="{}" stroke-width="2" stroke-dasharray="{}"/></svg> {}</li>',
        ((colour, dash or "none", s.name) for (colour, dash), s in zip(PALETTE, chart.series, strict=False)),
    )
