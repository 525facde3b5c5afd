"""The load benchmark's report: the figures, the targets and the markdown of
``docs/benchmarks.md``'s section."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from bench.load_client import ReadResult, Recorder, percentile
from bench.load_config import (
    CLOSED_REVIEWERS,
    IMAGE_PATH,
    IMAGES_FIRST_FETCH,
    OPEN_RATE,
    OPEN_SECONDS,
    READ_CONNECTIONS,
    READ_SECONDS,
    SECTION_HEADING,
    SERVER_WARMUP_SECONDS,
    TARGET_ALONE_CYCLE_MS,
    TARGET_CYCLES,
    TARGET_DJANGO_RPS,
    TARGET_IMAGES_RPS,
    TARGET_NGINX_RPS,
    TARGET_OPEN_P99_MS,
    THRESHOLD,
    WARMUP_SECONDS,
)


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass
class LoadReport:
    pages: int = 0
    # With the review screen's script (one POST per cycle): what the targets are judged on.
    alone: Recorder | None = None
    closed: Recorder | None = None
    open: Recorder | None = None
    # Without it (review screen + submit per cycle), shown beside.
    nojs_alone: Recorder | None = None
    nojs_closed: Recorder | None = None
    reads: list[ReadResult] = field(default_factory=list)
    submitted: int = 0
    unknown: int = 0
    not_recorded: int = 0
    counted: int = 0
    load: dict[str, str] = field(default_factory=dict)  # moment -> load average
    nginx_missing: bool = False
    seconds: float = 0.0
    seed_seconds: float = 0.0
    when: str = ""

    @property
    def cycles_per_second(self) -> float:
        return self.closed.per_second if self.closed else 0.0

    def read(self, where: str, path: str) -> ReadResult | None:
        return next((r for r in self.reads if r.where == where and r.path == path), None)

    def _beside(self, recorder: Recorder | None, value) -> str:
        return f" (without JS: {value(recorder)})" if recorder and recorder.cycles else ""

    def targets(self) -> list[tuple[str, str, bool]]:
        alone_cycle = self.alone.cycle_ms(0.5)
        rows = [
            (
                f"one reviewer alone, with JS: a cycle (p50, over loopback HTTP) <= {TARGET_ALONE_CYCLE_MS:.0f} ms",
                f"{alone_cycle:.1f} ms"
                + self._beside(self.nojs_alone, lambda r: f"{r.cycle_ms(0.5):.1f} ms"),
                alone_cycle <= TARGET_ALONE_CYCLE_MS,
            ),
            (
                f"review cycles with JS, {CLOSED_REVIEWERS} concurrent reviewers >= {TARGET_CYCLES:.0f}/s",
                f"{self.cycles_per_second:.1f}/s"
                + self._beside(self.nojs_closed, lambda r: f"{r.per_second:.1f}/s"),
                self.cycles_per_second >= TARGET_CYCLES,
            ),
            (
                f"open loop with JS at {OPEN_RATE:.0f} cycles/s: request p99 < {TARGET_OPEN_P99_MS:.0f} ms, "
                "no errors",
                f"p99 {self.open.ms(0.99):.0f} ms, errors: {self.open.error_text()}",
                self.open.ms(0.99) < TARGET_OPEN_P99_MS and not self.open.errors,
            ),
        ]
        home_django, home_nginx = self.read("gunicorn", "/"), self.read("nginx", "/")
        if home_django:
            rows.append(
                (
                    f"cached home page through Django >= {TARGET_DJANGO_RPS:,.0f} req/s",
                    f"{home_django.requests_per_second:,.0f} req/s",
                    home_django.requests_per_second >= TARGET_DJANGO_RPS,
                )
            )
        if home_nginx:
            rows.append(
                (
                    f"cached home page from the nginx front >= {TARGET_NGINX_RPS:,.0f} req/s",
                    f"{home_nginx.requests_per_second:,.0f} req/s",
                    home_nginx.requests_per_second >= TARGET_NGINX_RPS,
                )
            )
        images = self.read("nginx", f"/media/{IMAGE_PATH}")
        if images:
            rows.append(
                (
                    f"page images from the nginx front, the gate's answer kept in memcached "
                    f"(pagecache.media) >= {TARGET_IMAGES_RPS:,.0f}/s",
                    f"{images.requests_per_second:,.0f}/s (p99 {images.p99_ms:.1f} ms)",
                    images.requests_per_second >= TARGET_IMAGES_RPS and images.errors in ("", "none"),
                )
            )
        rows.append(
            (
                "reviews the client saw accepted = reviews in Postgres",
                (
                    f"{self.submitted:,} = {self.counted:,}"
                    if self.submitted == self.counted
                    else f"{self.submitted:,} vs {self.counted:,} ({self.unknown} unanswered POSTs)"
                )
                + (f"; {self.not_recorded} replies said recorded=false" if self.not_recorded else ""),
                self.targets_met(),
            )
        )
        return rows

    def targets_met(self) -> bool:
        # A recorded=false reply is a double submit, which the bench's browsers never make.
        return self.submitted == self.counted and not self.not_recorded

    def _scenarios(self) -> list[tuple[str, str, Recorder]]:
        """(short name, long name, recorder) of each review scenario run, JS flow first."""
        a, c, o = self.alone, self.closed, self.open
        rows = [
            (
                "with JS, one reviewer alone",
                f"with JS: one reviewer alone ({a.seconds:.0f} s after a 1 s warm-up)",
                a,
            ),
        ]
        if n := self.nojs_alone:
            rows.append(
                (
                    "without JS, one reviewer alone",
                    f"without JS: one reviewer alone ({n.seconds:.0f} s after a 1 s warm-up)",
                    n,
                )
            )
        rows.append(
            (
                f"with JS, closed loop {c.reviewers} reviewers",
                f"with JS: closed loop, {c.reviewers} reviewers without pauses ({c.seconds:.0f} s after a "
                f"{WARMUP_SECONDS:.0f} s warm-up)",
                c,
            )
        )
        if n := self.nojs_closed:
            rows.append(
                (
                    f"without JS, closed loop {n.reviewers} reviewers",
                    f"without JS: closed loop, {n.reviewers} reviewers without pauses ({n.seconds:.0f} s after "
                    f"a {WARMUP_SECONDS:.0f} s warm-up)",
                    n,
                )
            )
        rows.append(
            (
                f"with JS, open loop {OPEN_RATE:.0f} cycles/s offered",
                f"with JS: open loop, {OPEN_RATE:.0f} cycles/s offered for {OPEN_SECONDS:.0f} s ({o.cycles:,} of "
                f"{o.offered:,} done, {o.reviewers} new reviewers besides the closed loop's)",
                o,
            )
        )
        return rows

    def _cpu_rows(self) -> list[tuple[str, dict[str, float]]]:
        return [
            (name, r.cpu_per_cycle)
            for name, r in (("with JS", self.closed), ("without JS", self.nojs_closed))
            if r is not None and r.cpu_per_cycle
        ]

    def _cpu_markdown(self) -> list[str]:
        rows = self._cpu_rows()
        if not rows:
            return []
        groups = list(rows[0][1])
        lines = [
            "CPU per cycle in the closed loops (user + system time from `/proc` over the measured window, "
            "divided by the cycles counted: `bench/proc_cpu.py`). Two cores give 2,000 ms of CPU a "
            "second, so the total bounds the cycles per second.",
            "",
            "| closed loop, 64 reviewers | " + " | ".join(groups) + " | total | bound on cycles/s |",
            "|---|" + "---:|" * (len(groups) + 2),
        ]
        for name, cpu in rows:
            total = sum(cpu.values())
            bound = f"{2000 / total:,.0f}" if total else "-"
            lines.append(
                f"| {name} | "
                + " | ".join(f"{cpu.get(g, 0.0):.2f} ms" for g in groups)
                + f" | {total:.2f} ms | {bound} |"
            )
        return [*lines, ""]

    def summary(self) -> str:
        lines = [f"load: {self.pages:,} pages, gunicorn per gunicorn.conf.py; load average {self.load}"]
        for name, _, r in self._scenarios():
            lines.append(
                f"  {name}: {r.cycles}{f'/{r.offered}' if r.offered else ''} cycles, {r.per_second:.1f}/s over "
                f"{r.seconds:.1f} s, {r.requests_per_cycle:.2f} requests/cycle, cycle p50 {r.cycle_ms(0.5):.1f} ms; "
                f"request p50 {r.ms(0.5):.1f} ms p99 {r.ms(0.99):.1f} ms (screen p50 {r.kind_ms('screen'):.1f}, "
                f"submit p50 {r.kind_ms('submit'):.1f}); errors {r.error_text()}"
            )
        o = self.open
        lines.append(
            f"  open loop, whole cycle from its scheduled start: p50 {percentile(o.cycle_latencies, 0.5) * 1000:.1f} ms "
            f"p99 {percentile(o.cycle_latencies, 0.99) * 1000:.1f} ms"
        )
        for r in self.reads:
            lines.append(
                f"  anonymous {r.path} via {r.where} ({r.tool}, served by {r.served_by}): "
                f"{r.requests_per_second:,.0f} req/s, p50 {r.p50_ms:.2f} ms p99 {r.p99_ms:.2f} ms, errors {r.errors}"
            )
        if self.nginx_missing:
            lines.append("  nginx not installed: no front figures (apt-get install nginx)")
        for name, cpu in self._cpu_rows():
            lines.append(
                f"  CPU per cycle, closed loop {name}: "
                + ", ".join(f"{group} {ms:.2f} ms" for group, ms in cpu.items())
                + f"; total {sum(cpu.values()):.2f} ms"
            )
        lines.append(
            f"  reviews submitted (client) {self.submitted:,}, in Postgres {self.counted:,}, "
            f"JSON replies with recorded=false {self.not_recorded}"
        )
        return "\n".join(lines)

    def markdown(self) -> list[str]:
        o = self.open

        def kind(r: Recorder, name: str) -> str:
            return f"{r.kind_ms(name):.1f}" if r.by_kind.get(name) else "-"

        out = [
            SECTION_HEADING,
            "",
            f"Generated by `python -m bench` (or `python -m bench --load-only`) on {self.when} UTC, "
            f"{self.seconds:.0f} s (seeding {self.seed_seconds:.0f} s). gunicorn as `make run` serves it "
            "(`gunicorn.conf.py`: 3 workers x 4 threads, gthread) on loopback, its own database of "
            f"{self.pages:,} pages (one main assignment, threshold {THRESHOLD}), the bench's own Redis and "
            "memcached; rate limits raised for this run only (`RATE_LIMIT_*`). Client: `bench/http_client.py`, "
            "raw asyncio HTTP/1.1 with one keep-alive connection and cookie jar per reviewer, in one "
            "process on the same 2 cores as the server (it takes a share of them).",
            "",
            "Load average (1, 5, 15 min): " + "; ".join(f"{k}: {v}" for k, v in self.load.items()) + ".",
            "",
            "The targets are judged on the review cycle **with JS** (what a browser with scripts does); "
            "the same measurement **without JS** is shown beside in brackets, not judged. What a cycle "
            "is in each: see below.",
            "",
            "| target (issue 13) | measured | |",
            "|---|---|---|",
            *[
                f"| {what} | {value} | {'met' if ok else '**missed**'} |"
                for what, value, ok in self.targets()
            ],
            "",
            "### Review cycles",
            "",
            "Two flows, measured in the same run against the same server:",
            "",
            "- **With JS** (the review screen's script, on by default): a cycle is **one request**, the "
            "submit: `POST /review/<id>/` (0-2 tags) with `Accept: application/json`, answered with JSON "
            "that names the next page and the CSRF token for its POST. The script swaps that page into "
            "the screen in place (its image prefetched earlier), so no review screen is fetched. A "
            "review screen (GET) is fetched only at a reviewer's start, after their first review (it "
            "made their account: the whole screen is loaded once) and when a reply names no page.",
            "- **Without JS**: a cycle is **two requests**, the review screen (GET, form and CSRF token "
            "read from it), then the submit (POST), whose redirect (302) names the next page's review "
            "screen.",
            "",
            "In both, a reviewer's first cycle starts at `/review/next/` (a redirect to a review screen) "
            "and its first submit creates its anonymous account. Before any scenario, 12 reviewers (half "
            f"with JS) warm the server for {SERVER_WARMUP_SECONDS:.0f} s, not measured. Then, in this "
            "order: one reviewer with JS, one without; 64 without JS, 64 with JS; the open loop, which "
            "takes the JS closed loop's reviewers (every other scenario has reviewers of its own). A "
            "cycle's time is the client's, from its first request sent to its last reply read; request "
            "latencies are from sending a request to the last byte of its reply.",
            "",
            "| scenario | cycles/s | requests/cycle | cycle p50 ms | request p50 ms | request p99 ms "
            "| screen p50 ms | submit p50 ms | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
            *[
                f"| {label} | {r.per_second:.1f} | {r.requests_per_cycle:.2f} | {r.cycle_ms(0.5):.1f} | "
                f"{r.ms(0.5):.1f} | {r.ms(0.99):.1f} | {kind(r, 'screen')} | {kind(r, 'submit')} | "
                f"{r.error_text()} |"
                for _, label, r in self._scenarios()
            ],
            "",
            f"Open loop, whole cycle from its scheduled start: p50 {percentile(o.cycle_latencies, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(o.cycle_latencies, 0.99) * 1000:.1f} ms.",
            "",
            *self._cpu_markdown(),
            "Reviews the client saw accepted (without JS a redirect after the POST; with JS a JSON reply "
            f"saying `recorded`), all scenarios: **{self.submitted:,}**; rows in `reviews_review` "
            f"afterwards: **{self.counted:,}**"
            + (f" ({self.unknown} POSTs got no reply)" if self.unknown else "")
            + f". JSON replies saying `recorded: false` (a double submit, the first kept): {self.not_recorded}.",
            "",
            "### Anonymous readers on cached pages",
            "",
            f"{READ_CONNECTIONS} keep-alive connections for {READ_SECONDS} s per row, no cookies. "
            '"served by" is the `X-Page-Cache` header of a request made just before: `hit` is Django\'s '
            "full-page cache (memcached, no session or database), `nginx` is nginx reading Django's copy "
            "from memcached without Python.",
            "",
            "| page | through | tool | served by | requests/s | p50 ms | p99 ms | errors |",
            "|---|---|---|---|---:|---:|---:|---|",
            *[
                f"| `{r.path}` | {r.where} | {r.tool} | {r.served_by} | {r.requests_per_second:,.0f} | "
                f"{r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} |"
                for r in self.reads
            ],
        ]
        home_django, home_nginx = self.read("gunicorn", "/"), self.read("nginx", "/")
        if home_django and home_nginx:
            out += [
                "",
                f"nginx front against gunicorn on the home page: "
                f"{home_nginx.requests_per_second / home_django.requests_per_second:.1f}x the requests/s.",
            ]
        first, kept = self.read("nginx", IMAGES_FIRST_FETCH), self.read("nginx", f"/media/{IMAGE_PATH}")
        if first and kept:
            out += [
                "",
                f"Page images: `/media/{IMAGE_PATH}` again and again is served with the gate's "
                "answer from memcached (nginx asks Django once, then memcached, until the page's "
                f"visibility changes: pagecache/media.py); `{IMAGES_FIRST_FETCH}` fetches "
                f"{2 * (self.pages - 1):,} different images and thumbnails in turn, so each asks Django "
                f"(`auth_request` to `/_media-access/`): {first.requests_per_second:,.0f}/s, against "
                f"{kept.requests_per_second:,.0f}/s kept.",
            ]
        if self.nginx_missing:
            out += ["", "nginx is not installed here: no front figures (`apt-get install nginx`)."]
        out.append("")
        return out
