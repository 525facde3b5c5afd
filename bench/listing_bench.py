"""Tag listing timings at two sizes of the tagged-page table, and the query plans behind them.

Run by ``python -m bench`` after the picker's figures, on the same database: it reuses the
picker bench's pages (ids 1..N in documents of 100) instead of building another 4,000,000 rows.
It spreads the documents over 200 members in 5 parties, makes two tags, and tags pages
1..n (tag 1 on every page, tag 2 on every other one) for the smaller n, times, then tags the
rest up to the larger n and times again. Rows are made with set-based ``INSERT ... SELECT``;
``first_tagged_at`` is spread over 30 days in a scrambled order (not page order), and
``listed_at`` (when the page became public) follows it by up to an hour for pages at the public
threshold (the bench assignments' 3), NULL below it.

What is timed is ``results.selectors.listing_page``, the code the views, feeds and API run, for
the public (and once for staff): first pages and pages from a cursor half-way through the
listing. Medians of ``RUNS`` runs after a warm-up.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from fractions import Fraction

from django.db import connection

RUNS = 50
MEMBERS = 200
PARTIES = 5
TARGET_RATIO = 1.5


@dataclass
class ListingReport:
    sizes: tuple[int, int]
    medians: dict[int, dict[str, float]] = field(default_factory=dict)  # size -> case -> ms
    queries: dict[str, int] = field(default_factory=dict)  # case -> queries per call
    plans: dict[int, dict[str, str]] = field(default_factory=dict)  # size -> case -> EXPLAIN ANALYZE
    build_seconds: dict[int, float] = field(default_factory=dict)

    def ratio(self, case: str) -> float:
        small, large = self.sizes
        return self.medians[large][case] / self.medians[small][case]

    def worst(self) -> tuple[str, float]:
        return max(((case, self.ratio(case)) for case in self.medians[self.sizes[0]]), key=lambda x: x[1])

    def targets_met(self) -> bool:
        return self.worst()[1] <= TARGET_RATIO

    def summary(self) -> str:
        small, large = self.sizes
        lines = [f"listings (median ms)           {small:>12,} {large:>12,}  ratio"]
        for case in self.medians[small]:
            lines.append(
                f"  {case:<42} {self.medians[small][case]:8.2f} {self.medians[large][case]:8.2f}"
                f"  {self.ratio(case):.2f}x"
            )
        return "\n".join(lines)

    def target_rows(self) -> list[str]:
        small, large = self.sizes
        case, worst = self.worst()
        return [
            f"| a tag listing costs the same at {small:,} and {large:,} tagged pages, first page and a "
            f"deep cursor page alike (ratio <= {TARGET_RATIO}) | worst {worst:.2f}x ({case}) | "
            f"{'met' if worst <= TARGET_RATIO else '**missed**'} |"
        ]

    def markdown(self) -> list[str]:
        small, large = self.sizes
        out = [
            "## Tag listings",
            "",
            "Cost of one `results.selectors.listing_page(...)` call (the query the listing views, "
            "feeds and API run: one query per page of 50 rows, with page, document, member and party), "
            f"median of {RUNS} runs after a warm-up, measured in process.",
            "",
            f"| listing | {small:,} tagged pages | {large:,} tagged pages | ratio | queries |",
            "|---|---:|---:|---:|---:|",
        ]
        for case in self.medians[small]:
            out.append(
                f"| {case} | {self.medians[small][case]:.2f} ms | {self.medians[large][case]:.2f} ms "
                f"| {self.ratio(case):.2f}x | {self.queries.get(case, '?')} |"
            )
        out += [
            "",
            "### Method",
            "",
            f"- The picker bench's `reviews_page` table ({large:,} pages) is reused: its documents are "
            f"spread over {MEMBERS} members in {PARTIES} parties; tags 1 and 2 are applied to pages "
            f"1..{small:,} (tag 1 on every page, tag 2 on every other one), timed, then to the rest up to "
            f"{large:,} and timed again. So `reviews_pagetag` grows from {small * 3 // 2:,} to "
            f"{large * 3 // 2:,} rows between the two columns; `reviews_page` holds {large:,} rows in both.",
            "- `first_tagged_at` spread over 30 days in a scrambled order; `review_count` 1 to 5; "
            "`listed_at` set (up to an hour after `first_tagged_at`) for pages at the public threshold "
            "(3, the bench assignments' threshold), NULL below it: 60% of the pages are public.",
            "- Public listings are what an anonymous reader gets (pages at the threshold, in-order by "
            "`listed_at`); the staff listing is in-order by `first_tagged_at` over every page. A deep "
            "cursor is the position half-way through that listing.",
            "- Building the tags took " + ", ".join(f"{s:.0f} s" for s in self.build_seconds.values()) + ".",
            "",
            f"### Query plans at {large:,} tagged pages",
            "",
        ]
        for case, plan in self.plans.get(large, {}).items():
            out += [f"{case}:", "", "```", plan, "```", ""]
        return out


def _owners(documents: int) -> None:
    """Parties, members and tags; every document given to one of the members."""
    with connection.cursor() as c:
        c.execute("TRUNCATE reviews_pagetag, reviews_tag RESTART IDENTITY CASCADE")
        c.execute(
            'INSERT INTO reviews_tag (name, slug, description, "order", key, active, highlights) VALUES '
            "('Receipt', 'receipt', '', 1, 'r', true, false), ('Claim', 'claim', '', 2, 'c', true, false)"
        )
        c.execute(
            "INSERT INTO reviews_party (name, slug) SELECT 'Party ' || n, 'party-' || n "
            "FROM generate_series(1, %s) n RETURNING id",
            [PARTIES],
        )
        parties = [row[0] for row in c.fetchall()]
        c.execute(
            "INSERT INTO reviews_member (name, slug, party_id, constituency) "
            "SELECT 'Listing MP ' || n, 'listing-mp-' || n, (%s::bigint[])[1 + n %% %s], '' "
            "FROM generate_series(1, %s) n RETURNING id",
            [parties, PARTIES, MEMBERS],
        )
        members = sorted(row[0] for row in c.fetchall())
        c.execute(
            "UPDATE reviews_document SET member_id = (%s::bigint[])[1 + id %% %s] WHERE id <= %s",
            [members, MEMBERS, documents],
        )
        c.execute("VACUUM (ANALYZE) reviews_document")
        c.execute("ANALYZE reviews_member")
        c.execute("ANALYZE reviews_party")


def _tag_pages(first: int, last: int) -> None:
    """Tag pages first..last (see the module docstring); their review counts set to match."""
    with connection.cursor() as c:
        c.execute(
            "UPDATE reviews_page SET review_count = 1 + id %% 5 WHERE id BETWEEN %s AND %s", [first, last]
        )
        span = {"first": first, "last": last, "n": last - first + 1}
        for tag, every in ((1, 1), (2, 2)):
            c.execute(
                "INSERT INTO reviews_pagetag (page_id, tag_id, count, first_tagged_at, listed_at) "
                "SELECT p.id, %(tag)s, 1 + (p.id * 7) %% p.review_count, t.at, "
                "CASE WHEN p.review_count >= 3 THEN t.at + ((p.id * 31) %% 3600) * interval '1 second' END "
                "FROM reviews_page p CROSS JOIN LATERAL (SELECT now() - interval '30 days' "
                "+ ((p.id * 7919) %% %(n)s) * (interval '29 days' / %(n)s) AS at) t "
                "WHERE p.id BETWEEN %(first)s AND %(last)s AND p.id %% %(every)s = 0",
                {**span, "tag": tag, "every": every},
            )
        c.execute("VACUUM (ANALYZE) reviews_page")
        c.execute("VACUUM (ANALYZE) reviews_pagetag")
        c.execute("CHECKPOINT")


def _middle(tag, *, at: str, party=None) -> list[int]:
    """The keyset of the row half-way through a listing: [micros, page id]."""
    from results import cursors
    from reviews.models import PageTag

    qs = PageTag.objects.filter(tag=tag, **{f"{at}__isnull": False})
    if at == "listed_at":
        qs = qs.filter(page__review_count__gte=3)
    if party is not None:
        qs = qs.filter(page__document__member__party=party)
    moment, page_id = qs.order_by(at, "page_id").values_list(at, "page_id")[qs.count() // 2]
    return [cursors.micros(moment), page_id]


def _cases() -> dict:
    from catalogue.models import Party, Tag
    from results import cursors, selectors
    from results.params import Filters
    from results.selectors import Listing, Order, Scope, ScopeKind, Viewer

    public = Viewer(user_id=None, is_staff=False)
    staff = Viewer(user_id=None, is_staff=True)
    tag = Tag.objects.get(slug="receipt")
    party = Party.objects.get(slug="party-1")
    most = Listing(tag, Scope(), Order.MOST_TAGGED)
    in_order = Listing(tag, Scope(), Order.IN_ORDER)
    party_in_order = Listing(tag, Scope(ScopeKind.PARTY, party), Order.IN_ORDER)

    def cursor(listing, key, *, public_listing=True):
        identity = listing.identity + ("|public" if public_listing else "")
        return cursors.encode(salt=selectors.CURSOR_SALT, identity=identity, key=key)

    deep = cursor(in_order, _middle(tag, at="listed_at"))
    deep_party = cursor(party_in_order, _middle(tag, at="listed_at", party=party))
    deep_staff = cursor(in_order, _middle(tag, at="first_tagged_at"), public_listing=False)
    half = Filters(min_agreement=Fraction(1, 2))
    none = Filters()

    def page(listing, viewer=public, filters=none, after=None):
        return lambda: selectors.listing_page(listing, viewer=viewer, filters=filters, after=after)

    return {
        "most-tagged, first page": page(most),
        "in-order, first page": page(in_order),
        "in-order, deep cursor (half-way)": page(in_order, after=deep),
        "party + tag in-order, first page": page(party_in_order),
        "party + tag in-order, deep cursor": page(party_in_order, after=deep_party),
        "in-order, min_agreement=0.5": page(in_order, filters=half),
        "staff in-order, deep cursor": page(in_order, viewer=staff, after=deep_staff),
    }


PLANNED = ("in-order, deep cursor (half-way)", "party + tag in-order, first page")


def _plan(fn) -> str:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    sql = ctx.captured_queries[-1]["sql"]
    with connection.cursor() as c:
        c.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) " + sql)
        return "\n".join(r[0] for r in c.fetchall())


def _measure(report: ListingReport, size: int) -> None:
    from django.test.utils import CaptureQueriesContext

    cases = _cases()
    for fn in cases.values():
        fn()  # warm
    # Round robin over the cases, so a busy moment of the (shared) machine hits them alike.
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(RUNS):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    report.medians[size] = {name: statistics.median(v) * 1000 for name, v in samples.items()}
    for name, fn in cases.items():
        with CaptureQueriesContext(connection) as ctx:
            fn()
        report.queries[name] = len(ctx.captured_queries)
    report.plans[size] = {name: _plan(cases[name]) for name in PLANNED}


def run(*, sizes: tuple[int, int], documents: int) -> ListingReport:
    """Time the listings with ``sizes[0]`` then ``sizes[1]`` tagged pages (pages 1..sizes[1] must
    exist, in ``documents`` documents: the picker bench's table)."""
    small, large = sizes
    report = ListingReport(sizes=(small, large))
    _owners(documents)
    for first, last in ((1, small), (small + 1, large)):
        print(f"tagging pages {first:,}..{last:,} for the listing timings ...", flush=True)
        t0 = time.monotonic()
        _tag_pages(first, last)
        report.build_seconds[last] = time.monotonic() - t0
        _measure(report, last)
        for case, plan in report.plans[last].items():
            print(f"plan at {last:,} tagged pages, {case}:\n{plan}", flush=True)
    return report
