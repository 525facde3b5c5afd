"""The load benchmark's clients: reviewers with and without scripts (``Reviewer``), the closed,
open and read loops, and ``wrk`` for the readers; what they measure (``Recorder``, ``Totals``)."""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench import proc_cpu
from bench.http_client import Connection, CookieJar, ProtocolError, ReviewForm, parse_review_form
from bench.load_config import (
    MAX_CYCLES,
    MAX_OPEN_REVIEWERS,
    MAX_REDIRECTS,
    READ_CONNECTIONS,
    READ_SECONDS,
    REQUEST_TIMEOUT,
)


def percentile(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; 0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class Recorder:
    """What one scenario measured. Requests count only while ``active`` (after the warm-up)."""

    active: bool = False
    latencies: list[float] = field(default_factory=list)  # seconds per request
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # next | screen | submit -> seconds
    cycle_times: list[float] = field(default_factory=list)  # seconds per accepted cycle, from its start
    cycle_latencies: list[float] = field(default_factory=list)  # open loop: from the scheduled start
    errors: Counter = field(default_factory=Counter)
    cycles: int = 0
    seconds: float = 0.0
    offered: int = 0
    reviewers: int = 0
    # Closed loops against gunicorn: CPU ms per counted cycle of each group of processes over the
    # measured window (bench/proc_cpu.py).
    cpu_per_cycle: dict[str, float] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    def cycle_ms(self, q: float = 0.5) -> float:
        return percentile(self.cycle_times, q) * 1000

    @property
    def per_second(self) -> float:
        return self.cycles / self.seconds if self.seconds else 0.0

    @property
    def requests_per_cycle(self) -> float:
        return self.requests / self.cycles if self.cycles else 0.0

    def kind_ms(self, kind: str, q: float = 0.5) -> float:
        return percentile(self.by_kind.get(kind, []), q) * 1000

    def error_text(self) -> str:
        return ", ".join(f"{k} x{v}" for k, v in sorted(self.errors.items())) or "none"


@dataclass
class Totals:
    """Across all scenarios: what the client knows was recorded, for the Postgres comparison."""

    submitted: int = 0  # a 302 after the POST, or a JSON 200 saying recorded
    unknown: int = 0  # POSTs without a reply: committed or not, the client cannot tell
    not_recorded: int = 0  # a JSON 200 saying recorded=false (a double submit: the first was kept)


JSON = "application/json"


class Reviewer:
    """One browser: a connection, a cookie jar, and where it goes next.

    With scripts (``fast``, what a browser does by default) it does what the review screen's
    script (``static/js/review.js``) does when the form offers the fast path: it posts the form
    with ``Accept: application/json``, and the reply names the next page and the CSRF token for
    its POST, which it swaps in, so a cycle is that one POST. The script loads the screen of the
    reply's URL instead (a GET, then the next POST) after a visitor's first review, when the reply
    names no page or one already reviewed, or when the tag set changed. Without scripts: the
    review screen (GET, through redirects), the form read from it, then the POST."""

    def __init__(self, host: str, port: int, rng: random.Random, *, fast: bool = True):
        self.connection = Connection(host, port)
        self.cookies = CookieJar()
        self.rng = rng
        self.fast = fast
        self.url = "/review/next/"
        self.form: ReviewForm | None = None  # the next page's form from a JSON reply: no GET needed

    async def _timed(self, recorder: Recorder, method: str, path: str, **request):
        started = time.perf_counter()
        response = await asyncio.wait_for(
            self.connection.request(method, path, cookies=self.cookies, **request), REQUEST_TIMEOUT
        )
        if recorder.active:
            elapsed = time.perf_counter() - started
            recorder.latencies.append(elapsed)
            kind = "submit" if method == "POST" else "next" if path.startswith("/review/next/") else "screen"
            recorder.by_kind.setdefault(kind, []).append(elapsed)
        return response

    async def _screen(self, recorder: Recorder) -> ReviewForm | None:
        """The review form of ``self.url``'s screen, reached through redirects; None (counted as
        an error) when there is none."""
        url = self.url
        for _ in range(MAX_REDIRECTS):
            response = await self._timed(recorder, "GET", url)
            if response.status not in (301, 302, 303) or not response.location:
                break
            url = response.location
        form = parse_review_form(response.body.decode("utf-8", "replace")) if response.status == 200 else None
        if form is None:
            where = url.split("/")[1] if url.count("/") > 1 else url
            self._failed(recorder, f"GET {response.status} {where}")
        return form

    async def cycle(self, recorder: Recorder, totals: Totals) -> bool:
        """One review: True when it was accepted. Errors are counted in ``recorder`` and the
        reviewer starts over at ``/review/next/``."""
        started = time.perf_counter()
        try:
            form, self.form = self.form, None
            if form is None and (form := await self._screen(recorder)) is None:
                return False
            picked = self.rng.sample(form.tags, k=min(len(form.tags), self.rng.choice((0, 0, 1, 1, 2))))
            scripted = self.fast and form.fast_path
            try:
                response = await self._timed(
                    recorder,
                    "POST",
                    form.action,
                    body=form.body(tags=picked),
                    accept=JSON if scripted else None,
                )
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ProtocolError):
                totals.unknown += 1
                raise
            if (
                scripted
                and response.status == 200
                and response.headers.get("content-type", "").startswith(JSON)
            ):
                accepted = self._follow_json(recorder, totals, form, json.loads(response.body))
            elif not scripted and response.status == 302 and response.location:
                totals.submitted += 1
                self.url, accepted = response.location, True
            else:
                return self._failed(recorder, f"POST {response.status}")
            if accepted and recorder.active:
                recorder.cycle_times.append(time.perf_counter() - started)
            return accepted
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ProtocolError) as exc:
            self.connection.close()
            return self._failed(recorder, type(exc).__name__)

    def _follow_json(self, recorder: Recorder, totals: Totals, form: ReviewForm, reply: dict) -> bool:
        """Where the fast path's reply sends the browser; True when it says the review was recorded."""
        if not reply.get("recorded"):
            # The server kept an earlier submit of this page: not a review of ours to count.
            totals.not_recorded += 1
            return self._failed(recorder, "POST 200 recorded=false")
        totals.submitted += 1
        page = reply.get("page")
        if not page or reply.get("tagset") != form.tagset or form.first_write:
            self.url = reply["url"]  # the script loads that screen
        else:
            self.form = form.for_next(url=reply["url"], csrf=reply["csrf"])
        return True

    def _failed(self, recorder: Recorder, what: str) -> bool:
        if recorder.active:
            recorder.errors[what] += 1
        self.url, self.form = "/review/next/", None
        return False

    def close(self) -> None:
        self.connection.close()


async def closed_loop(
    host: str,
    port: int,
    *,
    reviewers: int,
    seconds: float,
    warmup: float,
    totals: Totals,
    seed: int = 1,
    fast: bool = True,
    cpu_groups: proc_cpu.Groups | None = None,
) -> tuple[Recorder, list[Reviewer]]:
    """``reviewers`` browsers looping without pauses; figures from ``warmup`` to ``warmup + seconds``.
    ``fast``: the browsers run the review screen's script (one POST per cycle), else not.
    ``cpu_groups``: the processes whose CPU per cycle to read over the same window."""
    recorder = Recorder(reviewers=reviewers)
    loop = asyncio.get_running_loop()
    begin = loop.time()
    measure_from, stop_at = begin + warmup, begin + warmup + seconds
    browsers = [Reviewer(host, port, random.Random(seed * 1000 + i), fast=fast) for i in range(reviewers)]

    async def run(browser: Reviewer) -> None:
        while loop.time() < stop_at and recorder.cycles < MAX_CYCLES:
            ok = await browser.cycle(recorder, totals)
            if ok and recorder.active:
                recorder.cycles += 1

    async def clock() -> None:
        await asyncio.sleep(max(0.0, measure_from - loop.time()))
        cpu_before = proc_cpu.snapshot(cpu_groups) if cpu_groups else None
        recorder.active, started = True, loop.time()
        while loop.time() < stop_at and recorder.cycles < MAX_CYCLES:
            await asyncio.sleep(0.05)
        recorder.seconds = loop.time() - started
        recorder.active = False  # cycles finishing after the end are not counted
        if cpu_groups:
            recorder.cpu_per_cycle = proc_cpu.per_cycle(
                cpu_before, proc_cpu.snapshot(cpu_groups), recorder.cycles
            )

    await asyncio.gather(clock(), *(run(b) for b in browsers))
    return recorder, browsers


async def open_loop(
    host: str, port: int, *, rate: float, seconds: float, totals: Totals, idle: list[Reviewer], seed: int = 2
) -> Recorder:
    """A cycle starts every ``1/rate`` seconds, on schedule, whatever the replies; new reviewers
    (when every idle one is busy) run the review screen's script, as ``idle``'s do."""
    recorder = Recorder(active=True)
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    count = min(MAX_CYCLES, int(rate * seconds))
    recorder.offered = count
    made = [0]
    tasks = []

    async def one(browser: Reviewer, due: float) -> None:
        try:
            if await browser.cycle(recorder, totals):
                recorder.cycles += 1
                recorder.cycle_latencies.append(loop.time() - due)
        finally:
            idle.append(browser)

    start = loop.time()
    for i in range(count):
        due = start + i / rate
        if (delay := due - loop.time()) > 0:
            await asyncio.sleep(delay)
        if idle:
            browser = idle.pop()
        elif made[0] < MAX_OPEN_REVIEWERS:
            made[0] += 1
            browser = Reviewer(host, port, random.Random(rng.random()))
        else:
            recorder.errors["no free reviewer (cycle dropped)"] += 1
            continue
        tasks.append(asyncio.create_task(one(browser, due)))
    await asyncio.gather(*tasks)
    recorder.seconds = loop.time() - start
    recorder.reviewers = made[0]
    return recorder


async def read_loop(host: str, port: int, path: str, *, connections: int, seconds: float) -> Recorder:
    """Anonymous readers without cookies, each on its own keep-alive connection (fallback to wrk)."""
    recorder = Recorder(active=True, reviewers=connections)
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + seconds

    async def run() -> None:
        connection = Connection(host, port)
        try:
            while loop.time() < stop_at:
                started = time.perf_counter()
                try:
                    response = await asyncio.wait_for(connection.request("GET", path), REQUEST_TIMEOUT)
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ProtocolError) as exc:
                    recorder.errors[type(exc).__name__] += 1
                    connection.close()
                    continue
                recorder.latencies.append(time.perf_counter() - started)
                if response.status != 200:
                    recorder.errors[f"GET {response.status}"] += 1
        finally:
            connection.close()

    started = loop.time()
    await asyncio.gather(*(run() for _ in range(connections)))
    recorder.seconds = loop.time() - started
    return recorder


@dataclass
class ReadResult:
    where: str  # gunicorn | nginx
    path: str
    tool: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: str
    served_by: str  # X-Page-Cache of a request made just before


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> tuple[float, float, float, str]:
    """Requests/s, p50 ms, p99 ms and errors from ``wrk --latency`` output."""

    def latency(label: str) -> float:
        found = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        if not found:
            raise ValueError(f"no {label}% latency in wrk output")
        return float(found.group(1)) * _WRK_UNITS[found.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not rps:
        raise ValueError("no Requests/sec in wrk output")
    errors = []
    if found := re.search(r"Socket errors: (.*)", output):
        errors.append("socket " + found.group(1).strip())
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors.append(f"non-2xx/3xx {found.group(1)}")
    return float(rps.group(1)), latency("50"), latency("99"), ", ".join(errors) or "none"


def _read(where: str, host: str, port: int, path: str, *, rotate: list[str] | None = None) -> ReadResult:
    """``path`` read again and again; with ``rotate`` (wrk only), each request the next of those
    paths instead (reported under ``path``, a label)."""
    served_by = "?"
    for _ in range(0 if rotate else 2):  # the first fills the caches, the second shows who serves
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=10) as response:
            served_by = response.headers.get("X-Page-Cache", "none")
    wrk = shutil.which("wrk")
    if rotate and not wrk:
        return ReadResult(where, path, "-", 0.0, 0.0, 0.0, "needs wrk (apt-get install wrk)", "-")
    script: list[str] = []
    if rotate:
        lua = Path(tempfile.mkstemp(prefix="crowd-wrk-", suffix=".lua")[1])
        quoted = ",".join(f'"{p}"' for p in rotate)
        lua.write_text(
            f"local paths = {{{quoted}}}\nlocal i = 0\n"
            "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
        )
        script = ["-s", str(lua)]
        served_by = "-"
    if wrk:
        out = subprocess.run(
            [
                wrk,
                "-t1",
                f"-c{READ_CONNECTIONS}",
                f"-d{READ_SECONDS}s",
                "--latency",
                *script,
                f"http://{host}:{port}{'/' if rotate else path}",  # with rotate, path is a label
            ],
            capture_output=True,
            text=True,
            timeout=READ_SECONDS + 30,
        ).stdout
        for _flag, value in zip(script[::2], script[1::2], strict=True):
            Path(value).unlink(missing_ok=True)  # the rotation's script
        rps, p50, p99, errors = parse_wrk(out)
        return ReadResult(where, path, "wrk", rps, p50, p99, errors, served_by)
    rec = asyncio.run(read_loop(host, port, path, connections=READ_CONNECTIONS, seconds=READ_SECONDS))
    return ReadResult(
        where,
        path,
        "asyncio client",
        rec.requests / rec.seconds,
        rec.ms(0.5),
        rec.ms(0.99),
        rec.error_text(),
        served_by,
    )
