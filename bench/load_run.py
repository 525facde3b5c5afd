"""The load benchmark's run: seed, servers, scenarios, report (``bench.load_bench.run``)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import proc_cpu
from bench.harness import free_port, start_gunicorn, start_nginx, stop, write_page_image
from bench.load_client import Recorder, Totals, _read, closed_loop, open_loop
from bench.load_config import (
    ALONE_SECONDS,
    CLOSED_REVIEWERS,
    CLOSED_SECONDS,
    IMAGE_PATH,
    IMAGES_FIRST_FETCH,
    LOAD_PAGES,
    NOJS_ALONE_SECONDS,
    NOJS_CLOSED_SECONDS,
    OPEN_RATE,
    OPEN_SECONDS,
    PAGES_PER_DOCUMENT,
    SECTION_HEADING,
    SERVER_WARMUP_SECONDS,
    WARMUP_SECONDS,
)
from bench.load_report import LoadReport, _load
from bench.load_seed import reviews_in_postgres, seed


def run(
    *,
    closed_seconds: float = CLOSED_SECONDS,
    open_seconds: float = OPEN_SECONDS,
    reviewers: int = CLOSED_REVIEWERS,
    rate: float = OPEN_RATE,
    pages: int = LOAD_PAGES,
    warmup: float = WARMUP_SECONDS,
    reads: bool = True,
    alone_seconds: float = ALONE_SECONDS,
    nojs_alone_seconds: float = NOJS_ALONE_SECONDS,
    nojs_closed_seconds: float = NOJS_CLOSED_SECONDS,
) -> LoadReport:
    """Seed, start gunicorn (and nginx), run the scenarios, stop them; bounded in time."""
    started = time.monotonic()
    report = LoadReport(when=f"{datetime.now(UTC):%Y-%m-%d %H:%M}")
    report.load["before"] = _load()
    print(f"load bench: seeding {pages:,} pages ...", flush=True)
    seeded = seed(pages)
    report.pages = pages
    report.seed_seconds = time.monotonic() - started
    workdir = Path(tempfile.mkdtemp(prefix="crowd-load-", dir="/tmp"))
    port = free_port()
    gunicorn = nginx_process = None
    totals = Totals()
    try:
        gunicorn = start_gunicorn(workdir, port)
        from django.conf import settings

        master = gunicorn.pid
        # Postgres titles each backend "postgres: <user> <database> ...": the bench database's
        # are the workers' pooled connections.
        backends = f" {settings.DATABASES['default']['NAME']} "

        # The bench's private servers name their unix sockets on their command lines.
        redis_socket = settings.REDIS_URL.removeprefix("unix://").split("?")[0]
        memcached_socket = settings.MEMCACHED_SERVERS[0].removeprefix("unix:")

        def cpu_groups() -> dict[str, list[int]]:
            return {
                "gunicorn workers": proc_cpu.children_of(master),
                "Postgres backends": proc_cpu.matching(backends),
                "Redis": proc_cpu.matching(redis_socket),
                "memcached": proc_cpu.matching(memcached_socket),
                "client": [os.getpid()],
            }

        print(
            f"load bench: one reviewer alone with and without JS ({alone_seconds:.0f} s, "
            f"{nojs_alone_seconds:.0f} s), {reviewers} reviewers closed loop without JS "
            f"({warmup:.0f} + {nojs_closed_seconds:.0f} s) and with JS ({warmup:.0f} + {closed_seconds:.0f} s), "
            f"then an open loop with JS at {rate:.0f} cycles/s for {open_seconds:.0f} s ...",
            flush=True,
        )

        async def alone(*, seconds: float, fast: bool) -> Recorder:
            # One reviewer alone: the server's time per request with no queue in front.
            recorder, browsers = await closed_loop(
                "127.0.0.1", port, reviewers=1, seconds=seconds, warmup=1.0, totals=totals, seed=3, fast=fast
            )
            for browser in browsers:
                browser.close()
            return recorder

        async def reviews() -> None:
            # Not measured: every worker process serves both flows first (code, templates and
            # connection pools loaded on first use), or the first scenario pays for it alone.
            warming = await asyncio.gather(
                *(
                    closed_loop(
                        "127.0.0.1",
                        port,
                        reviewers=6,
                        seconds=0.0,
                        warmup=SERVER_WARMUP_SECONDS,
                        totals=totals,
                        seed=5,
                        fast=fast,
                    )
                    for fast in (True, False)
                )
            )
            for _, browsers in warming:
                for browser in browsers:
                    browser.close()
            report.alone = await alone(seconds=alone_seconds, fast=True)
            report.nojs_alone = await alone(seconds=nojs_alone_seconds, fast=False)
            report.nojs_closed, browsers = await closed_loop(
                "127.0.0.1",
                port,
                reviewers=reviewers,
                seconds=nojs_closed_seconds,
                warmup=warmup,
                totals=totals,
                seed=4,
                fast=False,
                cpu_groups=cpu_groups,
            )
            for browser in browsers:
                browser.close()
            # One event loop for both: the open loop reuses the closed loop's browsers (their
            # connections belong to this loop), each holding its next page from its last reply.
            report.closed, browsers = await closed_loop(
                "127.0.0.1",
                port,
                reviewers=reviewers,
                seconds=closed_seconds,
                warmup=warmup,
                totals=totals,
                cpu_groups=cpu_groups,
            )
            report.load["after the closed loops"] = _load()
            report.open = await open_loop(
                "127.0.0.1", port, rate=rate, seconds=open_seconds, totals=totals, idle=browsers
            )
            for browser in browsers:
                browser.close()

        asyncio.run(reviews())
        report.load["after the open loop"] = _load()
        report.submitted, report.unknown = totals.submitted, totals.unknown
        report.not_recorded = totals.not_recorded
        report.counted = reviews_in_postgres()
        if reads:
            paths = ["/", f"/tags/{seeded['tag']}/"]
            print("load bench: anonymous readers through gunicorn ...", flush=True)
            for path in paths:
                report.reads.append(_read("gunicorn", "127.0.0.1", port, path))
            nginx_port = free_port()
            nginx_process = start_nginx(workdir, nginx_port, port)
            if nginx_process is None:
                report.nginx_missing = True
            else:
                print("load bench: anonymous readers through nginx ...", flush=True)
                for path in paths:
                    report.reads.append(_read("nginx", "127.0.0.1", nginx_port, path))
                print("load bench: page images through nginx (auth_request) ...", flush=True)
                write_page_image(workdir / "nginx" / "media" / IMAGE_PATH)
                report.reads.append(_read("nginx", "127.0.0.1", nginx_port, f"/media/{IMAGE_PATH}"))
                # Then every image new to the gate (more names than the read can fetch): each one
                # asks Django, as the first fetch of a page's image does.
                names = [
                    f"{kind}/{(n - 1) // PAGES_PER_DOCUMENT + 1}-load-{n}.jpg"
                    for n in range(2, pages + 1)
                    for kind in ("pages", "thumbs")
                ]
                for name in names:
                    target = workdir / "nginx" / "media" / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.link(workdir / "nginx" / "media" / IMAGE_PATH, target)
                report.reads.append(
                    _read(
                        "nginx",
                        "127.0.0.1",
                        nginx_port,
                        IMAGES_FIRST_FETCH,
                        rotate=[f"/media/{n}" for n in names],
                    )
                )
            report.load["after the readers"] = _load()
    finally:
        stop(nginx_process, signal.SIGQUIT)
        stop(gunicorn)
        shutil.rmtree(workdir, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


def splice(document: str, section: list[str], heading: str = SECTION_HEADING) -> str:
    """``document`` with its section under ``heading`` (to the next ``## `` heading or the end)
    replaced by ``section``; appended when it has none. The load section by default; the
    browser bench's section too (``bench.browser_bench``)."""
    lines = document.rstrip("\n").split("\n")
    try:
        start = lines.index(heading)
    except ValueError:
        return "\n".join([*lines, "", *section]).rstrip("\n") + "\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join([*lines[:start], *section, *lines[end:]]).rstrip("\n") + "\n"


def section(document: str, heading: str) -> list[str]:
    """The lines of ``document``'s section under ``heading``, [] when it has none."""
    lines = document.rstrip("\n").split("\n")
    if heading not in lines:
        return []
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]
