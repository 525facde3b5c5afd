"""Tag listing timings at two table sizes, and the query plans behind them.

    python -m bench.listing_bench                         # 40,000 and 4,000,000 tagged pages
    python -m bench.listing_bench --sizes 40000,400000    # quicker

Builds its own database ``crowd_listing_bench`` on the embedded PostgreSQL (or the server of
``DATABASE_URL``), fills it with set-based ``INSERT ... SELECT generate_series`` (pages, and one
``PageTag`` row of tag 1 per page, half of them tag 2 as well), then times
``results.selectors.listing_page`` (the code the views run) for: the most-tagged first page, the
in-order first page, an in-order page from a cursor half-way through, a party + tag in-order
page, and the same with ``min_agreement=0.5``. Prints a table and the plan of the deep in-order
page. Not yet wired into ``make bench`` (which writes docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE = "crowd_listing_bench"
PAGES_PER_DOCUMENT = 100
DOCUMENTS_PER_MEMBER = 10
PARTIES = 5


def _prepare() -> None:
    sys.path.insert(0, str(BASE_DIR))
    from bench.__main__ import _create_database_via
    from lib import services

    if os.environ.get("DATABASE_URL"):
        from urllib.parse import urlsplit, urlunsplit

        url = urlsplit(os.environ["DATABASE_URL"])
        os.environ["DATABASE_URL"] = urlunsplit(url._replace(path=f"/{DATABASE}"))
    else:
        pg = services.ensure_postgres(services.data_dir(BASE_DIR))
        os.environ["DATABASE_URL"] = f"postgres://postgres@{quote(pg['HOST'], safe='')}/{DATABASE}"
    _create_database_via(os.environ["DATABASE_URL"])
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.pop("CROWD_TESTING", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _build(pages: int) -> None:
    """Replace the data with ``pages`` tagged pages (set-based, one statement per table)."""
    from django.db import connection

    documents = max(1, pages // PAGES_PER_DOCUMENT)
    members = max(1, documents // DOCUMENTS_PER_MEMBER)
    with connection.cursor() as c:
        c.execute(
            "TRUNCATE reviews_pagetag, reviews_page, reviews_document, reviews_member, reviews_party, "
            "reviews_tag RESTART IDENTITY CASCADE"
        )
        c.execute(
            'INSERT INTO reviews_tag (name, slug, description, "order", key, active, highlights) VALUES '
            "('Receipt', 'receipt', '', 1, 'r', true, false), ('Claim', 'claim', '', 2, 'c', true, false)"
        )
        c.execute(
            "INSERT INTO reviews_party (name, slug) SELECT 'Party ' || n, 'party-' || n "
            "FROM generate_series(1, %s) n",
            [PARTIES],
        )
        c.execute(
            "INSERT INTO reviews_member (name, slug, party_id, constituency) "
            "SELECT 'Member ' || n, 'member-' || n, 1 + n %% %s, '' FROM generate_series(1, %s) n",
            [PARTIES, members],
        )
        c.execute(
            "INSERT INTO reviews_document (title, member_id, source, sha256, page_count, status, error, created) "
            "SELECT 'Document ' || d, 1 + d %% %s, 'sources/b-' || d || '.pdf', md5(d::text) || md5('x' || d), "
            "%s, 'imported', '', now() FROM generate_series(1, %s) d",
            [members, PAGES_PER_DOCUMENT, documents],
        )
        c.execute(
            "INSERT INTO reviews_page (document_id, number, image, thumbnail, width, height, review_count) "
            "SELECT 1 + (n - 1) / %s, 1 + (n - 1) %% %s, 'pages/b-' || n || '.png', 'thumbs/b-' || n || '.png', "
            "1400, 1980, 1 + n %% 5 FROM generate_series(1, %s) n",
            [PAGES_PER_DOCUMENT, PAGES_PER_DOCUMENT, pages],
        )
        # first_tagged_at: spread over 30 days in a scrambled order (not page order).
        c.execute(
            "INSERT INTO reviews_pagetag (page_id, tag_id, count, first_tagged_at) "
            "SELECT p.id, 1, 1 + (p.id * 7) %% p.review_count, "
            "now() - interval '30 days' + ((p.id * 7919) %% %s) * (interval '30 days' / %s) "
            "FROM reviews_page p",
            [pages, pages],
        )
        c.execute(
            "INSERT INTO reviews_pagetag (page_id, tag_id, count, first_tagged_at) "
            "SELECT p.id, 2, 1, now() - interval '20 days' FROM reviews_page p WHERE p.id % 2 = 0"
        )
        c.execute("ANALYZE")


def _time(fn, runs: int) -> float:
    fn()  # warm
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def _measure(runs: int) -> dict[str, float]:
    from results import cursors, selectors
    from results.params import Filters
    from results.selectors import Listing, Order, Scope, ScopeKind, Viewer
    from reviews.models import PageTag, Party, Tag

    viewer = Viewer(user_id=None, is_staff=False, public_threshold=1)
    tag = Tag.objects.get(slug="receipt")
    party = Party.objects.get(slug="party-1")
    middle = (
        PageTag.objects.filter(tag=tag)
        .order_by("first_tagged_at", "page_id")
        .values_list("first_tagged_at", "page_id")
    )
    total = PageTag.objects.filter(tag=tag).count()
    at, page_id = middle[total // 2]
    deep_in_order = cursors.encode(
        salt=selectors.CURSOR_SALT,
        identity=Listing(tag, Scope(), Order.IN_ORDER).identity,
        key=[cursors.micros(at), page_id],
    )
    most = Listing(tag, Scope(), Order.MOST_TAGGED)
    in_order = Listing(tag, Scope(), Order.IN_ORDER)
    party_in_order = Listing(tag, Scope(ScopeKind.PARTY, party), Order.IN_ORDER)
    half = Filters(min_agreement=Fraction(1, 2))
    cases = {
        "most-tagged, first page": lambda: selectors.listing_page(most, viewer=viewer, filters=Filters()),
        "in-order, first page": lambda: selectors.listing_page(in_order, viewer=viewer, filters=Filters()),
        "in-order, deep cursor (half-way)": lambda: selectors.listing_page(
            in_order, viewer=viewer, filters=Filters(), after=deep_in_order
        ),
        "party + tag in-order, first page": lambda: selectors.listing_page(
            party_in_order, viewer=viewer, filters=Filters()
        ),
        "in-order, min_agreement=0.5": lambda: selectors.listing_page(in_order, viewer=viewer, filters=half),
    }
    return {name: _time(fn, runs) for name, fn in cases.items()}, deep_in_order


def _plan(deep: str) -> str:
    from django.db import connection

    from results import selectors
    from results.params import Filters
    from results.selectors import Listing, Order, Scope, Viewer
    from reviews.models import Tag

    viewer = Viewer(user_id=None, is_staff=False, public_threshold=1)
    listing = Listing(Tag.objects.get(slug="receipt"), Scope(), Order.IN_ORDER)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        selectors.listing_page(listing, viewer=viewer, filters=Filters(), after=deep)
    sql = ctx.captured_queries[-1]["sql"]
    with connection.cursor() as c:
        c.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql)
        return "\n".join(r[0] for r in c.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="40000,4000000")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    _prepare()
    results = {}
    for size in sizes:
        start = time.perf_counter()
        _build(size)
        print(f"built {size:,} tagged pages in {time.perf_counter() - start:.0f} s", flush=True)
        results[size], deep = _measure(args.runs)
        print(_plan(deep), flush=True)
    names = list(results[sizes[0]])
    print(
        f"\n| listing (median of {args.runs}) | " + " | ".join(f"{s:,} pages" for s in sizes) + " | ratio |"
    )
    print("|---|" + "---|" * (len(sizes) + 1))
    for name in names:
        values = [results[s][name] for s in sizes]
        print(
            f"| {name} | " + " | ".join(f"{v:.2f} ms" for v in values) + f" | {values[-1] / values[0]:.2f}x |"
        )


if __name__ == "__main__":
    main()
