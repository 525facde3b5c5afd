"""The next page under load (issue 21): scaling with the number of active assignments, and the
liveness of new visitors arriving at once. Part of ``make bench`` (after the load benchmark,
while the bench's private Redis is up); ``python -m bench --picker-load-only`` runs it alone.

- **Scaling**: 16 reviewers looping without pauses (with scripts) on the main assignment, with
  1, 10 and 100 active assignments (the others each over a document of their own). Reported:
  review cycles per second, and Redis commands per cycle from the server's ``INFO
  commandstats`` (commands run inside scripts included) and script calls per cycle, measured in
  rounds that take each count in turn. Targets:
  cycles per second within 10% of the one-assignment figure, commands per cycle within 20%.
- **Liveness**: 64 new visitors at once (each with its own cookies and address) on an assignment
  of 16 pages at threshold 4, reviewing until it is done for them (the done page, or the site
  moving them to an assignment with work once every page left is held by others): the time
  until all 64 reviews are in (target under 5 s) and the busy answers (target 0).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import load_bench
from bench.visitors import visit_all

HEADING = "## The next page under load: assignments and new visitors"
SCALING_COUNTS = (1, 10, 100)
SCALING_REVIEWERS = 16
SCALING_SECONDS = 8.0
SCALING_WARMUP = 1.0  # per block, after the active assignments changed
SCALING_ROUNDS = 4
# Before the first scenario: every gunicorn worker serves its first requests (code, templates and
# connection pools loaded on first use), or the one-assignment figure pays for it alone.
SERVER_WARMUP = 6.0
LIVENESS_VISITORS = 64
LIVENESS_PAGES = 16
LIVENESS_THRESHOLD = 4
TARGET_CYCLES_RATIO = 0.9
TARGET_COMMANDS_RATIO = 1.2
TARGET_LIVENESS_SECONDS = 5.0


@dataclass
class ScalingRow:
    assignments: int
    cycles_per_second: float
    commands_per_cycle: float
    scripts_per_cycle: float
    errors: int


@dataclass
class PickerLoadReport:
    when: str = ""
    scaling: list[ScalingRow] = field(default_factory=list)
    liveness_seconds: float = 0.0
    liveness_reviews: int = 0
    liveness_busy: int = 0
    liveness_errors: int = 0
    liveness_done: int = 0

    def targets(self) -> list[tuple[str, str, bool]]:
        base = self.scaling[0]
        rows = []
        for row in self.scaling[1:]:
            ratio = row.cycles_per_second / base.cycles_per_second if base.cycles_per_second else 0.0
            rows.append(
                (
                    f"cycles/s with {row.assignments} active assignments vs 1 (>= {TARGET_CYCLES_RATIO:.0%})",
                    f"{ratio:.0%}",
                    ratio >= TARGET_CYCLES_RATIO,
                )
            )
            cratio = row.commands_per_cycle / base.commands_per_cycle if base.commands_per_cycle else 0.0
            rows.append(
                (
                    f"Redis commands per cycle with {row.assignments} vs 1 (<= {TARGET_COMMANDS_RATIO:.0%})",
                    f"{cratio:.0%}",
                    cratio <= TARGET_COMMANDS_RATIO,
                )
            )
        rows.append(
            (
                f"{LIVENESS_VISITORS} new visitors on {LIVENESS_PAGES} pages at threshold "
                f"{LIVENESS_THRESHOLD}: all reviews in (< {TARGET_LIVENESS_SECONDS:.0f} s)",
                f"{self.liveness_seconds:.2f} s, {self.liveness_reviews} reviews",
                self.liveness_seconds < TARGET_LIVENESS_SECONDS
                and self.liveness_reviews == LIVENESS_PAGES * LIVENESS_THRESHOLD,
            )
        )
        rows.append(("busy answers in that run (0)", str(self.liveness_busy), self.liveness_busy == 0))
        return rows

    def targets_met(self) -> bool:
        return all(ok for _, _, ok in self.targets())

    def summary(self) -> str:
        lines = ["picker under load:"]
        for row in self.scaling:
            lines.append(
                f"  {row.assignments:>3} active assignments: {row.cycles_per_second:6.1f} cycles/s, "
                f"{row.commands_per_cycle:5.1f} Redis commands/cycle, {row.scripts_per_cycle:4.2f} scripts/cycle, "
                f"{row.errors} errors"
            )
        lines.append(
            f"  liveness: {self.liveness_reviews} reviews in {self.liveness_seconds:.2f} s, "
            f"{self.liveness_busy} busy, {self.liveness_done}/{LIVENESS_VISITORS} finished (done or moved on), "
            f"{self.liveness_errors} errors"
        )
        lines += [f"  {'met' if ok else 'MISSED'}: {what}: {value}" for what, value, ok in self.targets()]
        return "\n".join(lines)

    def markdown(self) -> list[str]:
        lines = [
            HEADING,
            "",
            f"Run {self.when} UTC by `bench/picker_load.py` against gunicorn as `make run` serves it, over "
            "loopback, on the bench's private Redis (its `INFO commandstats` counts every command, those "
            "run inside the picker's scripts included).",
            "",
            f"Scaling: {SCALING_REVIEWERS} reviewers with scripts, looping without pauses for "
            f"{SCALING_SECONDS:.0f} s per row on the main assignment, in {SCALING_ROUNDS} rounds of "
            f"{SCALING_SECONDS / SCALING_ROUNDS:.0f} s blocks that take 1, 10 and 100 active assignments in "
            "turn (so a busy moment of the machine falls on every row alike); the other active "
            "assignments each cover a document of their own.",
            "",
            "| active assignments | cycles/s | Redis commands per cycle | script calls per cycle | errors |",
            "|---:|---:|---:|---:|---:|",
        ]
        for row in self.scaling:
            lines.append(
                f"| {row.assignments} | {row.cycles_per_second:.1f} | {row.commands_per_cycle:.1f} | "
                f"{row.scripts_per_cycle:.2f} | {row.errors} |"
            )
        lines += [
            "",
            f"Liveness: {LIVENESS_VISITORS} new visitors at once (own cookies, own addresses through a "
            f"trusted proxy header) on {LIVENESS_PAGES} pages at threshold {LIVENESS_THRESHOLD}: "
            f"{self.liveness_reviews} reviews in {self.liveness_seconds:.2f} s, {self.liveness_busy} busy "
            f"answers, {self.liveness_done} of {LIVENESS_VISITORS} visitors finished (the done page, or moved "
            "to the load bench's main assignment once every page left was held by others).",
            "",
            "| target | measured | |",
            "|---|---|---|",
        ]
        lines += [f"| {what} | {value} | {'met' if ok else 'missed'} |" for what, value, ok in self.targets()]
        return lines


def _redis_calls() -> tuple[int, int]:
    from lib.redis_client import get_redis

    stats = get_redis().info("commandstats")
    total = sum(int(v["calls"]) for name, v in stats.items() if not name.startswith("cmdstat_info"))
    scripts = sum(int(v["calls"]) for name, v in stats.items() if name in ("cmdstat_evalsha", "cmdstat_eval"))
    return total, scripts


def _other_member():
    """A member outside the load bench's main assignment: documents added for other assignments
    must not join it."""
    from catalogue.models import Member

    return Member.objects.exclude(assignments__slug="load-bench").order_by("pk").first()


def _add_assignments(count: int, *, first_document: int) -> None:
    """``count`` more active assignments, each over a new three-page document of its own."""
    from django.db import connection

    from assignments import actions as assignment_actions

    member = _other_member()
    for n in range(count):
        doc = first_document + n
        with connection.cursor() as c:
            c.execute(
                "INSERT INTO reviews_document (id, title, member_id, source, sha256, page_count, status, "
                "error, created, public) VALUES (%s, %s, %s, %s, md5(%s) || md5(%s), 3, 'imported', '', now(), true)",
                [doc, f"Other document {doc}", member.pk, f"sources/other-{doc}.pdf", str(doc), f"o{doc}"],
            )
            c.execute(
                "INSERT INTO reviews_page (document_id, number, image, thumbnail, width, height, review_count, public) "
                "SELECT %s, n, 'pages/' || %s || '-other-' || n || '.jpg', "
                "'thumbs/' || %s || '-other-' || n || '.jpg', 1400, 1980, 0, true FROM generate_series(1, 3) AS n",
                [doc, doc, doc],
            )
        assignment_actions.create_assignment(
            title=f"Other {doc}", slug=f"other-{doc}", threshold=2, documents=[doc]
        )


def _liveness_assignment(first_document: int) -> str:
    from django.db import connection

    from assignments import actions as assignment_actions

    member = _other_member()
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO reviews_document (id, title, member_id, source, sha256, page_count, status, "
            "error, created, public) VALUES (%s, 'Liveness', %s, 'sources/liveness.pdf', "
            "md5('live') || md5('ness'), %s, 'imported', '', now(), true)",
            [first_document, member.pk, LIVENESS_PAGES],
        )
        c.execute(
            "INSERT INTO reviews_page (document_id, number, image, thumbnail, width, height, review_count, "
            "public) SELECT %s, n, 'pages/' || %s || '-live-' || n || '.jpg', "
            "'thumbs/' || %s || '-live-' || n || '.jpg', 1400, 1980, 0, true FROM generate_series(1, %s) AS n",
            [first_document, first_document, first_document, LIVENESS_PAGES],
        )
    assignment_actions.create_assignment(
        title="Liveness", slug="liveness", threshold=LIVENESS_THRESHOLD, documents=[first_document]
    )
    return "liveness"


def run(*, seed: bool = True) -> PickerLoadReport:
    """Seed (unless the load bench just did), start gunicorn, run both scenarios, stop it."""
    import io

    from django.core.management import call_command
    from django.db import connection

    from reviews.models import Review

    report = PickerLoadReport(when=f"{datetime.now(UTC):%Y-%m-%d %H:%M}")
    if seed:
        print("picker load: seeding ...", flush=True)
        load_bench.seed()
    with connection.cursor() as c:
        c.execute("SELECT COALESCE(MAX(id), 0) FROM reviews_document")
        next_document = c.fetchone()[0] + 1
    workdir = Path(tempfile.mkdtemp(prefix="crowd-picker-load-", dir="/tmp"))
    port = load_bench.free_port()
    gunicorn = None
    previous = os.environ.get("TRUSTED_PROXIES")
    os.environ["TRUSTED_PROXIES"] = "127.0.0.1"  # the visitors' addresses come as X-Forwarded-For
    try:
        gunicorn = load_bench.start_gunicorn(workdir, port)
        extra = max(SCALING_COUNTS) - 1
        _add_assignments(extra, first_document=next_document)
        others = list(range(next_document, next_document + extra))
        next_document += extra
        call_command("rebuild_denormalisations", verbosity=0, stdout=io.StringIO())
        _warm_up(port)
        # In rounds, each count in turn (ROUNDS blocks of SCALING_SECONDS / ROUNDS each): a busy
        # moment of a shared 2-core machine then falls on every count alike, instead of on
        # whichever ran during it (single 8 s runs in a row gave 64-113% for the same code).
        blocks: dict[int, list[_Block]] = {count: [] for count in SCALING_COUNTS}
        for round_ in range(SCALING_ROUNDS):
            # Forwards, then backwards: no count always runs first after the others' changes.
            for count in SCALING_COUNTS if round_ % 2 == 0 else reversed(SCALING_COUNTS):
                _activate_others(others, count - 1)
                blocks[count].append(_scaling_block(port))
        for count in SCALING_COUNTS:
            report.scaling.append(_row(count, blocks[count]))
            print(
                f"picker load: {count} active: {report.scaling[-1].cycles_per_second:.1f} cycles/s, "
                f"{report.scaling[-1].commands_per_cycle:.1f} commands/cycle",
                flush=True,
            )
        _activate_others(others, 0)
        slug = _liveness_assignment(next_document)
        call_command("rebuild_denormalisations", verbosity=0, stdout=io.StringIO())
        before = Review.objects.filter(page__document_id=next_document).count()
        started = time.monotonic()
        visits = asyncio.run(
            visit_all(
                "127.0.0.1",
                port,
                LIVENESS_VISITORS,
                address_of=lambda i: f"198.18.{i // 250}.{i % 250 + 1}",
                in_flight=LIVENESS_VISITORS,
                start=f"/assignments/{slug}/start/",
                max_steps=200,
                busy_wait=0.05,
                stop_when_moved=True,
            )
        )
        report.liveness_seconds = time.monotonic() - started
        report.liveness_reviews = Review.objects.filter(page__document_id=next_document).count() - before
        report.liveness_busy = sum(v.busy for v in visits)
        report.liveness_errors = sum(len(v.errors) for v in visits)
        report.liveness_done = sum(v.done or v.moved for v in visits)
    finally:
        load_bench.stop(gunicorn)
        shutil.rmtree(workdir, ignore_errors=True)
        if previous is None:
            os.environ.pop("TRUSTED_PROXIES", None)
        else:
            os.environ["TRUSTED_PROXIES"] = previous
    return report


@dataclass
class _Block:
    cycles: int
    seconds: float
    commands: int
    scripts: int
    errors: int


def _warm_up(port: int) -> None:
    """Every gunicorn worker serves its first requests (code, templates and connection pools are
    loaded on first use) before anything is measured."""
    totals = load_bench.Totals()

    async def loop():
        _, browsers = await load_bench.closed_loop(
            "127.0.0.1", port, reviewers=SCALING_REVIEWERS, seconds=0.0, warmup=SERVER_WARMUP, totals=totals
        )
        for b in browsers:
            b.close()

    asyncio.run(loop())


def _activate_others(document_ids: list[int], count: int) -> None:
    """The first ``count`` of the extra assignments (one per document) active, the rest not."""
    from assignments import actions as assignment_actions
    from assignments.models import Assignment

    wanted = {f"other-{doc}" for doc in document_ids[:count]}
    for pk, slug, active in Assignment.objects.filter(
        slug__in=[f"other-{d}" for d in document_ids]
    ).values_list("pk", "slug", "active"):
        if active != (slug in wanted):
            assignment_actions.set_assignment_active(assignment_id=pk, active=slug in wanted)


def _scaling_block(port: int) -> _Block:
    totals = load_bench.Totals()

    async def loop():
        warm, browsers = await load_bench.closed_loop(
            "127.0.0.1", port, reviewers=SCALING_REVIEWERS, seconds=0.0, warmup=SCALING_WARMUP, totals=totals
        )
        for b in browsers:
            b.close()
        before = _redis_calls()
        recorder, browsers = await load_bench.closed_loop(
            "127.0.0.1",
            port,
            reviewers=SCALING_REVIEWERS,
            seconds=SCALING_SECONDS / SCALING_ROUNDS,
            warmup=0.0,
            totals=totals,
        )
        after = _redis_calls()
        for b in browsers:
            b.close()
        return recorder, before, after

    recorder, before, after = asyncio.run(loop())
    return _Block(
        cycles=recorder.cycles,
        seconds=recorder.seconds,
        commands=after[0] - before[0],
        scripts=after[1] - before[1],
        errors=sum(recorder.errors.values()),
    )


def _row(assignments: int, blocks: list[_Block]) -> ScalingRow:
    cycles = sum(b.cycles for b in blocks)
    seconds = sum(b.seconds for b in blocks)
    return ScalingRow(
        assignments=assignments,
        cycles_per_second=cycles / seconds if seconds else 0.0,
        commands_per_cycle=sum(b.commands for b in blocks) / max(cycles, 1),
        scripts_per_cycle=sum(b.scripts for b in blocks) / max(cycles, 1),
        errors=sum(b.errors for b in blocks),
    )
