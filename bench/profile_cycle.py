"""One reviewer alone, in process: server time and queries per step of the review cycle.

``python -m bench --profile-cycle [--cprofile]`` seeds the load bench's release (``load_bench.seed``)
and drives Django's test client, which goes through the whole middleware stack (sessions, CSRF,
auth, the page cache's checks) without a socket, so the time is the server's: URL routing, views,
templates, Postgres, Redis and memcached round trips. The steps are those of a browser:

- ``next``: ``GET /review/next/`` (the start button; a 302 to a page's review screen),
- ``screen``: ``GET /review/<id>/`` (the form, with the CSRF token),
- ``submit``: ``POST /review/<id>/`` (a 302 to the next page's review screen).

Medians over ``CYCLES`` cycles after ``WARMUP`` (the first submit creates the anonymous account).
With ``--cprofile`` the same cycles run once more under cProfile and the top functions by own
time and by cumulative time are printed.
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

CYCLES = 300
WARMUP = 20
STEPS = ("next", "screen", "submit")


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

    def median(self, step: str) -> float:
        return statistics.median(self.ms[step]) if self.ms[step] else 0.0

    def decile(self, step: str) -> float:
        """The 10th percentile of the step's CPU time."""
        ordered = sorted(self.cpu_ms[step])
        return ordered[len(ordered) // 10] if ordered else 0.0

    def summary(self) -> str:
        lines = [f"one reviewer alone, in process, medians of {len(self.ms['screen'])} cycles:"]
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
            f"  cycle as a browser does it (screen + submit, the submit's redirect naming the next page): "
            f"{real:.2f} ms ({cpu:.2f} ms of it Python CPU, fastest deciles {fastest:.2f} ms); with /review/next/ too: "
            f"{real + self.median('next'):.2f} ms"
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


def _cycles(client, n: int, result: CycleProfile | None, rng: random.Random) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def step(name: str, call):
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

    url = None
    for _ in range(n):
        if url is None or url == "/review/next/":
            response = step("next", lambda: client.get("/review/next/"))
            url = response["Location"]
        response = step("screen", lambda u=url: client.get(u))
        if response.status_code != 200:
            raise RuntimeError(f"review screen {url}: {response.status_code}")
        page = response.content.decode()
        data = {"csrfmiddlewaretoken": _CSRF.search(page).group(1), "action": "submit"}
        if found := _FIRST_WRITE.search(page):
            data["first_write"] = found.group(1)
        tags = re.findall(r'name="tags" value="([^"]+)"', page)
        data["tags"] = rng.sample(tags, k=rng.choice((0, 1, 2)))
        response = step("submit", lambda u=url, d=data: client.post(u, d))
        if response.status_code != 302:
            raise RuntimeError(f"submit {url}: {response.status_code}")
        url = response["Location"]


def run(*, cycles: int = CYCLES, cprofile: bool = False) -> CycleProfile:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    result = CycleProfile()
    rng = random.Random(13)
    # Raised for this run only, as the load bench does through the environment.
    with override_settings(RATE_LIMIT_SESSION_PER_MINUTE=10**9, RATE_LIMIT_ADDRESS_PER_MINUTE=10**9):
        client = Client(enforce_csrf_checks=True)
        _cycles(client, WARMUP, None, rng)
        _cycles(client, cycles, result, rng)
        # /review/next/ on its own (the start button and links use it): the reviewer holds the
        # page its last submit picked, so this is the holder asking again.
        for _ in range(cycles):
            with CaptureQueriesContext(connection) as ctx:
                started, cpu = time.perf_counter(), time.thread_time()
                client.get("/review/next/")
                result.ms["next"].append((time.perf_counter() - started) * 1000)
                result.cpu_ms["next"].append((time.thread_time() - cpu) * 1000)
            result.queries["next"].append(len(ctx.captured_queries))
        if cprofile:
            profiler = cProfile.Profile()
            profiler.enable()
            _cycles(client, cycles, None, rng)
            profiler.disable()
            profiler.dump_stats("/tmp/crowd-cycle.prof")  # for pstats or snakeviz
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(40)
            stats.print_stats(r"wt-load/(reviews|assignments|pagecache|denorm|lib|contributors|results)/", 45)
            result.profile_text = out.getvalue()
    return result
