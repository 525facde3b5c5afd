"""The picker benchmark's report: the timings, the targets and ``docs/benchmarks.md`` (the picker's
sections; the listing, load and other benches' sections are spliced in by ``bench.__main__``)."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection

from bench.picker_config import (
    COVERAGE_PAGES,
    PAGES_PER_DOCUMENT,
    RANDOM_RUNS,
    REVIEWED_BY_BENCH_REVIEWER,
    TARGET_RANDOM_RATIO,
    TARGET_SIZE_RATIO,
    THRESHOLD,
)

if TYPE_CHECKING:
    from bench.listing_bench import ListingReport
    from bench.load_report import LoadReport


@dataclass
class Timing:
    label: str
    samples: list[float]  # seconds
    note: str = ""

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.samples) * 1000

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


@dataclass
class Report:
    sizes: tuple[int, ...]
    picker: dict[int, Timing] = field(default_factory=dict)
    sources: dict[int, dict[str, int]] = field(default_factory=dict)
    random_timing: Timing | None = None
    random_serial: Timing | None = None  # the same query with parallel workers off
    random_size: int = 0
    pool: Timing | None = None
    postgres: Timing | None = None
    fallback_size: int = 0
    build_seconds: dict[int, float] = field(default_factory=dict)
    total_seconds: float = 0.0
    queries_per_pick: float = 0.0
    # order -> [(reviews, pages with at least one review, pages with none)]
    coverage: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)
    load_before: str = ""  # the load average when the run started (machine_info)
    redis_version: str = ""
    listing: ListingReport | None = None  # measured on the same data
    load: LoadReport | None = None  # measured first on the same database

    @property
    def listing_rows(self) -> list[str]:
        return self.listing.target_rows() if self.listing is not None else []

    @property
    def listing_section(self) -> list[str]:
        return self.listing.markdown() if self.listing is not None else []

    @property
    def load_section(self) -> list[str]:
        return self.load.markdown() if self.load is not None else []

    def size_ratio(self) -> float:
        return self.picker[self.sizes[-1]].median_ms / self.picker[self.sizes[0]].median_ms

    def random_ratio(self) -> float | None:
        if self.random_timing is None:
            return None
        return self.random_timing.median_ms / self.picker[self.random_size].median_ms

    def random_serial_ratio(self) -> float | None:
        if self.random_serial is None:
            return None
        return self.random_serial.median_ms / self.picker[self.random_size].median_ms

    def targets_met(self) -> bool:
        ratio = self.random_ratio()
        return self.size_ratio() <= TARGET_SIZE_RATIO and (ratio is None or ratio >= TARGET_RANDOM_RATIO)

    def rows(self) -> list[tuple[str, Timing]]:
        rows = [(f"picker (Redis), assignment of {n:,} pages", self.picker[n]) for n in self.sizes]
        if self.random_timing:
            rows.append((f"ORDER BY random(), assignment of {self.random_size:,} pages", self.random_timing))
        if self.random_serial:
            rows.append(
                (f"ORDER BY random(), same, parallel workers off ({self.random_size:,})", self.random_serial)
            )
        if self.pool:
            rows.append((f"picker, Redis stopped (memcached pool), {self.fallback_size:,} pages", self.pool))
        if self.postgres:
            rows.append(
                (
                    f"picker, Redis and memcached stopped (Postgres), {self.fallback_size:,} pages",
                    self.postgres,
                )
            )
        return rows

    def summary(self) -> str:
        lines = [f"{'what':<72} {'median ms':>10} {'mean ms':>9} {'p99 ms':>9} {'n':>6}"]
        for label, t in self.rows():
            lines.append(
                f"{label:<72} {t.median_ms:>10.3f} {t.mean_ms:>9.3f} {t.p99_ms:>9.3f} {len(t.samples):>6}"
            )
        lines.append(
            f"picker cost at {self.sizes[-1]:,} / at {self.sizes[0]:,} pages: {self.size_ratio():.2f}x "
            f"(target <= {TARGET_SIZE_RATIO}x): {'met' if self.size_ratio() <= TARGET_SIZE_RATIO else 'MISSED'}"
        )
        ratio = self.random_ratio()
        if ratio is not None:
            lines.append(
                f"ORDER BY random() / picker at {self.random_size:,} pages: {ratio:.0f}x "
                f"(target >= {TARGET_RANDOM_RATIO:.0f}x): {'met' if ratio >= TARGET_RANDOM_RATIO else 'MISSED'}"
            )
        serial = self.random_serial_ratio()
        if serial is not None:
            lines.append(
                f"  (with Postgres' parallel workers off, one process doing the sort: {serial:.0f}x)"
            )
        for order, rows in self.coverage.items():
            lines.append(
                f"coverage, {order} order, {COVERAGE_PAGES:,} pages, threshold {THRESHOLD}: "
                + "; ".join(f"after {n:,} reviews {none:,} pages unreviewed" for n, _, none in rows)
            )
        lines.append(f"total run time {self.total_seconds:.0f} s")
        return "\n".join(lines)

    def markdown(self) -> str:
        from catalogue.models import Document, Page

        # The tables the method names, from the models.
        PAGE_TABLE, DOCUMENT_TABLE = Page._meta.db_table, Document._meta.db_table  # noqa: N806
        info = machine_info(load_before=self.load_before, redis_version=self.redis_version)
        ratio = self.random_ratio()
        out = [
            "# Benchmarks",
            "",
            "Generated by `make bench` (`python -m bench`); do not edit by hand. "
            f"Last run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {self.total_seconds:.0f} s in all.",
            "",
            "## Machine",
            "",
            *[f"- {k}: {v}" for k, v in info.items()],
            "",
            "## Targets",
            "",
            "| target (PRODUCT.md) | measured | |",
            "|---|---|---|",
            f"| picking a next page costs the same at {self.sizes[0]:,} and {self.sizes[-1]:,} pages "
            f"(ratio <= {TARGET_SIZE_RATIO}) | {self.size_ratio():.2f}x | "
            f"{'met' if self.size_ratio() <= TARGET_SIZE_RATIO else '**missed**'} |",
        ]
        if ratio is not None:
            out.append(
                f"| at least {TARGET_RANDOM_RATIO:.0f}x cheaper than `ORDER BY random()` at "
                f"{self.random_size:,} pages | {ratio:,.0f}x | "
                f"{'met' if ratio >= TARGET_RANDOM_RATIO else '**missed**'} |"
            )
        serial = self.random_serial_ratio()
        if serial is not None:
            out.append(
                f"| the same, with Postgres' parallel workers off for `ORDER BY random()` (one process "
                f"doing the whole sort) | {serial:,.0f}x | "
                f"{'met' if serial >= TARGET_RANDOM_RATIO else '**missed**'} |"
            )
        out += self.listing_rows
        out += [
            "| review cycles under load, cached pages through Django and nginx | see "
            "[Full review cycle and cached pages](#full-review-cycle-and-cached-pages) | |",
            "",
            "## The next page",
            "",
            "Cost of one `pick_next_page(assignment=..., reviewer=...)` call, measured in process "
            "(Python, Redis round trips over a unix socket and the Postgres check included), "
            "with soft reservations on. Ratios use medians.",
            "",
            "| what | median ms | mean ms | p99 ms | picks |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, t in self.rows():
            out.append(
                f"| {label} | {t.median_ms:.3f} | {t.mean_ms:.3f} | {t.p99_ms:.3f} | {len(t.samples):,} |"
            )
        out += [
            "",
            f"Postgres queries per pick on the Redis path: {self.queries_per_pick:.2f}. "
            "Sources of the timed picks: "
            + "; ".join(
                f"{n:,} pages: " + ", ".join(f"{k} {v}" for k, v in sorted(s.items()))
                for n, s in self.sources.items()
            )
            + ".",
            "",
            "### Method",
            "",
            f"- A separate database (`{settings.DATABASES['default']['NAME']}`), a private redis-server "
            "and a private memcached on temporary unix sockets; the development data is never touched.",
            f"- One `{PAGE_TABLE}` table of {self.sizes[-1]:,} pages, built with set-based "
            f"`INSERT ... SELECT generate_series` ({PAGES_PER_DOCUMENT} pages per document), in slices owned "
            f"by {len(self.sizes)} members. The assignment of each size (threshold {THRESHOLD}) covers the "
            "members of every slice up to that size; its Redis needed and to-do sets are filled with "
            "pipelined `SADD`s (and the to-do set's sorted-set mirror, which the picker draws from by rank, "
            "made with `ZUNIONSTORE` as the rebuild does) and the built markers set as the registry's rebuild would. Then "
            "`VACUUM (ANALYZE)` and `CHECKPOINT`, so no autovacuum runs during the timings.",
            f"- The reviewer has already reviewed {REVIEWED_BY_BENCH_REVIEWER} pages of the smallest assignment "
            "(real `reviews_review` rows and the `reviewer-seen` set), so the seen-set and Postgres checks "
            "have something to find.",
            "- 200 warm-up picks per assignment, then the timed picks, interleaved round robin across the "
            "assignments (so a busy moment of the machine hits all sizes alike), one `time.perf_counter()` "
            "pair per pick. The picker reserves what it hands out, as in production, and copies each "
            "claim into the other two (overlapping) assignments' reservations with writes whose "
            "replies it reads at its next pick.",
            '- The assignments\' order is "fewest reviews first" (the default): each pick draws from '
            f"the lowest band of the to-do mirror, whose scores hold {THRESHOLD} tiers' worth of "
            f"free places (the bench reviewer's {REVIEWED_BY_BENCH_REVIEWER} reviewed pages need one "
            "review fewer: a second tier).",
            f"- `ORDER BY random()`: `SELECT p.id FROM {PAGE_TABLE} p JOIN {DOCUMENT_TABLE} d ... WHERE "
            f"d.member_id = ANY(...) AND p.review_count < {THRESHOLD} AND NOT EXISTS (the reviewer's review) "
            f"ORDER BY random() LIMIT 1`, the query of the Guardian's first site, over the "
            f"{self.random_size:,}-page assignment on the same table, {RANDOM_RUNS} runs after one warm-up, "
            "with Postgres' parallel workers on (the default) and off, on connections of their own. "
            "The runs are spread evenly among the timed picks, so that both sides of the ratio are "
            "measured under the same conditions of the machine.",
            f"- Fallbacks, on the {self.fallback_size:,}-page assignment: the private redis-server is stopped "
            "(the pool having been filled by the beat task's function just before), then the private "
            "memcached too. Every id served is still checked in Postgres.",
            "- Building the data took " + ", ".join(f"{s:.0f} s" for s in self.build_seconds.values()) + ".",
            "",
            *self.listing_section,
            *self.load_section,
        ]
        return "\n".join(out)


def machine_info(*, load_before: str, redis_version: str) -> dict[str, str]:
    cpu, memory = platform.processor() or "unknown", "unknown"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        cpu = next(
            (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")), cpu
        )
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        kib = next(int(ln.split()[1]) for ln in meminfo if ln.startswith("MemTotal"))
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        pg_version += f" (shared_buffers {cursor.fetchone()[0]})"
    try:
        memcached_version = subprocess.run(["memcached", "-V"], capture_output=True, text=True).stdout.strip()
    except OSError:
        memcached_version = "?"
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "memory": memory,
        "load average before the run": load_before or "?",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "PostgreSQL": pg_version,
        "Redis": redis_version or "?",
        "memcached": memcached_version,
    }
