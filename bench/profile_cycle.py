"""One reviewer alone, in process: server time and queries per step of the review cycle.

``python -m bench --profile-cycle [--cprofile]`` seeds the load bench's release (``load_bench.seed``)
and drives Django's test client, which goes through the whole middleware stack (sessions, CSRF,
auth, the page cache's checks) without a socket, so the time is the server's: URL routing, views,
templates, Postgres, Redis and memcached round trips. The steps are those of a browser:

- ``next``: ``GET /review/next/`` (the start button; a 302 to a page's review screen),
- without JS, a cycle is ``screen`` then ``submit``:
  - ``screen``: ``GET /review/<id>/`` (the form, with the CSRF token),
  - ``submit``: ``POST /review/<id>/`` (a 302 to the next page's review screen);
- with JS (the review screen's script), a cycle is one request:
  - ``json``: ``POST /review/<id>/`` with ``Accept: application/json``, answered with JSON
    naming the next page and the CSRF token for its POST (the script swaps the page in place).

Each flow is one reviewer of its own (a browser's cookies and account), in alternate blocks of
``BLOCK`` cycles so a busy moment of the machine falls on both. Medians over ``CYCLES`` cycles
each after ``WARMUP`` (the first submit creates the anonymous account). With ``--cprofile`` the
same cycles run once more per flow under cProfile and the top functions by own time and by
cumulative time are printed.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import random
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

CYCLES = 300
WARMUP = 20
BLOCK = 50
STEPS = ("next", "screen", "submit", "json")
BASE_DIR = Path(__file__).resolve().parent.parent


@dataclass
class CycleProfile:
    ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    queries: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in STEPS})
    via_next: bool = True
    profile_text: str = ""
    last_queries: dict[str, list[str]] = field(default_factory=dict)  # step -> SQL of its last run
    cpu_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})  # this thread
    db_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})  # in psycopg
    slowest: dict[str, float] = field(default_factory=dict)  # "step: sql start" -> total ms
    session_statements: int = 0  # django_session reads and writes in the timed cycles
    screens_with_js: int = 0  # review screens the JS flow fetched in the timed cycles (no page named)

    def median(self, step: str) -> float:
        return statistics.median(self.ms[step]) if self.ms[step] else 0.0

    def decile(self, step: str) -> float:
        """The 10th percentile of the step's CPU time."""
        ordered = sorted(self.cpu_ms[step])
        return ordered[len(ordered) // 10] if ordered else 0.0

    def summary(self) -> str:
        lines = [f"one reviewer alone per flow, in process, medians of {len(self.ms['screen'])} cycles each:"]
        for step in STEPS:
            if self.ms[step]:
                lines.append(
                    f"  {step:<7} {self.median(step):6.2f} ms  "
                    f"queries {statistics.median(self.queries[step]):.0f} (max {max(self.queries[step])}), "
                    f"in Postgres calls {statistics.median(self.db_ms[step]) if self.db_ms[step] else 0:.2f} ms, "
                    f"Python CPU {statistics.median(self.cpu_ms[step]) if self.cpu_ms[step] else 0:.2f} ms "
                    f"(fastest decile {self.decile(step):.2f} ms: least disturbed by other processes)"
                )
        real = self.median("screen") + self.median("submit")
        cpu = sum(statistics.median(self.cpu_ms[s]) for s in ("screen", "submit"))
        fastest = self.decile("screen") + self.decile("submit")
        lines.append(
            f"  cycle without JS (screen + submit, the submit's redirect naming the next page): "
            f"{real:.2f} ms ({cpu:.2f} ms of it Python CPU, fastest deciles {fastest:.2f} ms); with /review/next/ too: "
            f"{real + self.median('next'):.2f} ms"
        )
        if self.ms["json"]:
            lines.append(
                f"  cycle with JS (one POST answered with JSON naming the next page): {self.median('json'):.2f} ms "
                f"({statistics.median(self.cpu_ms['json']):.2f} ms of it Python CPU, fastest decile "
                f"{self.decile('json'):.2f} ms); review screens it fetched in {len(self.ms['json'])} cycles: "
                f"{self.screens_with_js}"
            )
        lines.append(
            f"  django_session statements in the timed cycles: {self.session_statements} "
            "(sessions are read from the cache and written only when they change)"
        )
        if self.slowest:
            n = max(1, len(self.ms["screen"]))
            lines.append("  statements by total time, ms per cycle:")
            for key, total in sorted(self.slowest.items(), key=lambda kv: -kv[1])[:15]:
                lines.append(f"    {total / n:6.2f}  {key}")
        if self.profile_text:
            for step, queries in self.last_queries.items():
                lines.append(f"  queries of the last {step}:")
                lines += [f"    {q[:300]}" for q in queries]
            lines.append(self.profile_text)
        return "\n".join(lines)


_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_FIRST_WRITE = re.compile(r'name="first_write" value="([^"]*)"')
_TAGS = re.compile(r'name="tags" value="([^"]+)"')
_TAGSET = re.compile(r'data-tagset="([^"]*)"')
JSON = "application/json"


class _Browser:
    """One reviewer's browser: its own client (cookies, session, account) and where it goes next.
    The two flows run on two of them, so neither takes the other's reserved following page."""

    def __init__(self, rng: random.Random):
        from django.test import Client

        self.client = Client(enforce_csrf_checks=True)
        self.rng = rng
        self.url = "/review/next/"
        self.tags: list[str] = []
        self.tagset: str | None = None  # the fingerprint of the tag set on screen (with JS)
        self.data: dict | None = None  # with JS: the next POST's form, from the last JSON reply

    def form_data(self, csrf: str, first_write: str | None = None) -> dict:
        data = {"csrfmiddlewaretoken": csrf, "action": "submit"}
        if first_write is not None:
            data["first_write"] = first_write
        data["tags"] = self.rng.sample(self.tags, k=min(len(self.tags), self.rng.choice((0, 1, 2))))
        return data

    def read_screen(self, response) -> dict:
        """The form data of the review screen in ``response`` (the tags picked now)."""
        page = response.content.decode()
        self.tags = _TAGS.findall(page)
        found = _TAGSET.search(page)
        self.tagset = found.group(1) if found else None
        found = _FIRST_WRITE.search(page)
        return self.form_data(_CSRF.search(page).group(1), found.group(1) if found else None)


def _step(result: CycleProfile | None, name: str, call):
    """``call()`` timed, its queries counted and timed, into ``result``'s ``name`` (when given)."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    spent = [0.0]

    def timer(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            ms = (time.perf_counter() - started) * 1000
            spent[0] += ms
            if result is not None:
                key = f"{name}: {' '.join(sql.split())[:90]}"
                result.slowest[key] = result.slowest.get(key, 0.0) + ms

    # The log keeps the last 9,000 queries only, and a capture taken when it is full sees none:
    # emptied before each step, every step's queries are counted however long the run.
    reset_queries()
    with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timer):
        started, cpu = time.perf_counter(), time.thread_time()
        response = call()
        elapsed = (time.perf_counter() - started) * 1000
        cpu = (time.thread_time() - cpu) * 1000
    if result is not None:
        result.db_ms[name].append(spent[0])
        result.cpu_ms[name].append(cpu)
        result.ms[name].append(elapsed)
        result.queries[name].append(len(ctx.captured_queries))
        result.last_queries[name] = [q["sql"] for q in ctx.captured_queries]
        result.session_statements += sum('"django_session"' in q["sql"] for q in ctx.captured_queries)
    return response


def _cycles_without_js(browser: _Browser, n: int, result: CycleProfile | None) -> None:
    """Review screen (GET), then submit (POST, a 302 to the next page's review screen)."""
    client = browser.client
    for _ in range(n):
        if browser.url == "/review/next/":
            browser.url = _step(result, "next", lambda: client.get("/review/next/"))["Location"]
        response = _step(result, "screen", lambda u=browser.url: client.get(u))
        if response.status_code != 200:
            raise RuntimeError(f"review screen {browser.url}: {response.status_code}")
        data = browser.read_screen(response)
        response = _step(result, "submit", lambda u=browser.url, d=data: client.post(u, d))
        if response.status_code != 302:
            raise RuntimeError(f"submit {browser.url}: {response.status_code}")
        browser.url = response["Location"]


def _cycles_with_js(browser: _Browser, n: int, result: CycleProfile | None) -> None:
    """The review screen's script (``static/js/review.js``): the submit (POST, ``Accept:
    application/json``) answered with the next page and the token for its POST, one request per
    cycle. The review screen is fetched (untimed, counted) only where the script loads it: at the
    start, after the first review (it made the account), when a reply names no page or one
    already reviewed, or when the tag set changed."""
    client = browser.client
    for _ in range(n):
        if browser.data is None:
            response = client.get(browser.url)
            while response.status_code in (301, 302, 303):
                browser.url = response["Location"]
                response = client.get(browser.url)
            if response.status_code != 200:
                raise RuntimeError(f"review screen {browser.url}: {response.status_code}")
            browser.data = browser.read_screen(response)
            if browser.tagset is None:
                raise RuntimeError("the review screen does not offer the fast path (REVIEW_FAST_PATH off?)")
            if result is not None:
                result.screens_with_js += 1
        response = _step(
            result, "json", lambda u=browser.url, d=browser.data: client.post(u, d, headers={"accept": JSON})
        )
        if response.status_code != 200 or not response["Content-Type"].startswith(JSON):
            raise RuntimeError(
                f"submit with JS {browser.url}: {response.status_code} {response['Content-Type']}"
            )
        reply = response.json()
        if not reply["recorded"]:
            raise RuntimeError(f"submit with JS {browser.url}: not recorded")
        page, first_write = reply["page"], "first_write" in browser.data
        browser.url = reply["url"]
        browser.data = (
            None
            if not page or reply["tagset"] != browser.tagset or first_write
            else browser.form_data(reply["csrf"])
        )


def run(*, cycles: int = CYCLES, cprofile: bool = False) -> CycleProfile:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext, override_settings

    result = CycleProfile()
    rng = random.Random(13)
    # Raised for this run only, as the load bench does through the environment.
    with override_settings(RATE_LIMIT_SESSION_PER_MINUTE=10**9, RATE_LIMIT_ADDRESS_PER_MINUTE=10**9):
        without_js, with_js = _Browser(rng), _Browser(rng)
        _cycles_without_js(without_js, WARMUP, None)
        _cycles_with_js(with_js, WARMUP, None)
        # In blocks, alternately: a busy moment of the machine falls on both flows alike.
        for done in range(0, cycles, BLOCK):
            _cycles_without_js(without_js, min(BLOCK, cycles - done), result)
            _cycles_with_js(with_js, min(BLOCK, cycles - done), result)
        # /review/next/ on its own (the start button and links use it): the reviewer holds the
        # page its last submit picked, so this is the holder asking again.
        for _ in range(cycles):
            reset_queries()
            with CaptureQueriesContext(connection) as ctx:
                started, cpu = time.perf_counter(), time.thread_time()
                without_js.client.get("/review/next/")
                result.ms["next"].append((time.perf_counter() - started) * 1000)
                result.cpu_ms["next"].append((time.thread_time() - cpu) * 1000)
            result.queries["next"].append(len(ctx.captured_queries))
        if cprofile:
            for flow, browser, cycle in (
                ("without JS", without_js, _cycles_without_js),
                ("with JS", with_js, _cycles_with_js),
            ):
                profiler = cProfile.Profile()
                profiler.enable()
                cycle(browser, cycles, None)
                profiler.disable()
                dump = f"/tmp/crowd-cycle-{'js' if browser is with_js else 'nojs'}.prof"
                profiler.dump_stats(dump)  # for pstats or snakeviz
                out = io.StringIO()
                out.write(f"\n=== cProfile of {cycles} cycles {flow} ({dump}) ===\n")
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("tottime").print_stats(25)
                stats.sort_stats("cumulative").print_stats(40)
                stats.print_stats(
                    rf"{re.escape(str(BASE_DIR))}/(reviews|assignments|pagecache|denorm|lib|contributors|results)/",
                    45,
                )
                result.profile_text += out.getvalue()
    return result
