"""``python -m bench``: the site under load, the next-page picker against ``ORDER BY random()``, and tag listings.

Never touches the development data: it creates its own database ``crowd_bench`` on the embedded
PostgreSQL (or on the server of ``DATABASE_URL`` when one is set) and starts its own throwaway
redis-server and memcached on temporary sockets, which it stops (for the fallback figures) and
removes at the end.

    python -m bench                       # 40k, 400k and 4M pages; writes docs/benchmarks.md
                                          # (listings: 40k and 4M tagged pages, on the same table)
    python -m bench --sizes 20000,200000  # a quick run while developing (does not write the doc)
    python -m bench --load-only           # only the load benchmark (bench/load_bench.py): gunicorn,
                                          # nginx, review cycles with and without JS (one reviewer,
                                          # 64, open loop), cached pages; replaces its section of
                                          # docs/benchmarks.md
    python -m bench --profile-cycle       # one reviewer's cycle in process, with and without JS:
                                          # ms and queries per step
    python -m bench --search [--search-pages N]  # search over a synthetic release (458,832 pages by
                                          # default), OCR and import-with-text rates; replaces its
                                          # section of docs/benchmarks.md (bench/search_bench.py)
    python -m bench --consensus-only      # a simulated crowd on 2,000 pages: threshold 3 against
                                          # retiring when confident, accuracy and ROC AUC of
                                          # agreement and confidence; replaces its section of
                                          # docs/benchmarks.md (bench/consensus_sim.py)
    python -m bench --browser             # Enter -> next page image loaded in Chromium: before,
                                          # with the prefetch, with the JS fast path too
                                          # (bench/browser_bench.py)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "crowd_bench"
SEARCH_DATABASE = "crowd_bench_search"  # kept: `make clean` or DROP DATABASE removes it
DEFAULT_SIZES = (40_000, 400_000, 4_000_000)


def _prepare_environment(workdir: Path) -> dict:
    """Point the settings at the bench database and private Redis/memcached, before Django."""
    sys.path.insert(0, str(BASE_DIR))
    from lib import services

    data_dir = services.data_dir(BASE_DIR)
    if os.environ.get("DATABASE_URL"):
        from urllib.parse import urlsplit, urlunsplit

        url = urlsplit(os.environ["DATABASE_URL"])
        os.environ["DATABASE_URL"] = urlunsplit(url._replace(path=f"/{BENCH_DATABASE}"))
        _create_database_via(os.environ["DATABASE_URL"])
    else:
        pg = services.ensure_postgres(data_dir)  # the embedded server, started if need be
        os.environ["DATABASE_URL"] = f"postgres://postgres@{quote(pg['HOST'], safe='')}/{BENCH_DATABASE}"
        _create_database_via(os.environ["DATABASE_URL"])
    redis_sock = workdir / "redis.sock"
    redis_pid = services.start_redis_server(redis_sock, workdir / "redis", persist=False)
    memcached_sock = workdir / "memcached.sock"
    memcached_pid = services.start_memcached_server(memcached_sock, workdir / "memcached")
    os.environ["REDIS_URL"] = f"unix://{redis_sock}"
    os.environ["MEMCACHED_SERVERS"] = f"unix:{memcached_sock}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.pop("CROWD_TESTING", None)
    return {"redis_pid": redis_pid, "memcached_pid": memcached_pid, "redis_sock": redis_sock}


def _create_database_via(url: str) -> None:
    import psycopg

    target = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target]).fetchone():
            conn.execute(f'CREATE DATABASE "{target}"')


def main(argv: list[str] | None = None) -> int:
    global BENCH_DATABASE  # --search uses its own, kept database
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated page counts (default 40000,400000,4000000)")
    parser.add_argument("--picks", type=int, default=2000, help="timed picks per size (default 2000)")
    parser.add_argument("--output", default=str(BASE_DIR / "docs" / "benchmarks.md"))
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DATABASE} database afterwards")
    parser.add_argument("--load-only", action="store_true", help="run only the load benchmark")
    parser.add_argument("--no-load", action="store_true", help="skip the load benchmark")
    parser.add_argument(
        "--load-seconds",
        type=float,
        default=None,
        help="closed-loop seconds of the load benchmark with JS (default 20; without JS 10)",
    )
    parser.add_argument(
        "--profile-cycle",
        action="store_true",
        help="profile one reviewer's cycle, with and without JS, and stop",
    )
    parser.add_argument("--cprofile", action="store_true", help="with --profile-cycle: print cProfile's top")
    parser.add_argument(
        "--browser", action="store_true", help="run only bench/browser_bench.py (20 cycles per mode)"
    )
    parser.add_argument(
        "--picker-load-only",
        action="store_true",
        help="run only bench/picker_load.py (the next page with 1, 10, 100 assignments; new visitors at once)",
    )
    parser.add_argument("--search", action="store_true", help="run only bench/search_bench.py")
    parser.add_argument(
        "--consensus-only", action="store_true", help="run only bench/consensus_sim.py (simulated crowd)"
    )
    parser.add_argument("--search-pages", type=int, default=458_832, help="pages of the search corpus")
    args = parser.parse_args(argv)
    if args.browser:
        # Its own process (it prepares the same environment, servers and clean-up itself).
        import subprocess

        return subprocess.call([sys.executable, "-m", "bench.browser_bench"], cwd=BASE_DIR)
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else DEFAULT_SIZES
    if sorted(sizes) != list(sizes) or len(sizes) < 2 or min(sizes) < 1000:
        parser.error("--sizes: at least two increasing page counts of 1000 or more")

    workdir = Path(tempfile.mkdtemp(prefix="crowd-bench-", dir="/tmp"))
    if args.search:
        # Its own database, kept between runs: the 458,832-page corpus is generated once and
        # reused while its recipe is unchanged (bench/search_bench.py, build_corpus).
        BENCH_DATABASE = SEARCH_DATABASE
    servers = _prepare_environment(workdir)
    try:
        import django

        django.setup()
        from bench import listing_bench, load_bench, picker_bench, picker_config

        if args.search:
            from bench import load_bench, search_bench

            found = search_bench.run(pages=args.search_pages)
            output = Path(args.output)
            output.write_text(
                load_bench.splice(
                    output.read_text() if output.exists() else "",
                    found.markdown().split("\n"),
                    heading=search_bench.HEADING,
                )
            )
            print(f"wrote the search section of {args.output}")
            return 0 if found.p95() < 200 else 1
        if args.consensus_only:
            from bench import consensus_sim

            simulated = consensus_sim.run()
            print(simulated.summary(), flush=True)
            output = Path(args.output)
            output.write_text(
                load_bench.splice(
                    output.read_text() if output.exists() else "",
                    simulated.markdown(),
                    heading=consensus_sim.HEADING,
                )
            )
            print(f"wrote the consensus section of {args.output}")
            return 0 if simulated.targets_met() else 1
        if args.profile_cycle:
            from bench import profile_cycle

            load_bench.seed()
            print(profile_cycle.run(cprofile=args.cprofile).summary())
            return 0
        if args.picker_load_only:
            from bench import picker_load

            picked = picker_load.run()
            print(picked.summary(), flush=True)
            output = Path(args.output)
            output.write_text(
                load_bench.splice(
                    output.read_text() if output.exists() else "", picked.markdown(), picker_load.HEADING
                )
            )
            print(f"wrote the picker-load section of {args.output}")
            return 0 if picked.targets_met() else 1
        load = None
        picked = None
        if not args.no_load:
            # First: the picker bench below stops the private Redis and memcached.
            load = load_bench.run(closed_seconds=args.load_seconds or load_bench.CLOSED_SECONDS)
            print(load.summary(), flush=True)
            from bench import picker_load

            picked = picker_load.run()
            print(picked.summary(), flush=True)
        if args.load_only:
            from bench import picker_load

            output = Path(args.output)
            document = load_bench.splice(output.read_text() if output.exists() else "", load.markdown())
            # It ran the picker load too: its section is from this run as well.
            document = load_bench.splice(document, picked.markdown(), heading=picker_load.HEADING)
            output.write_text(document)
            print(f"wrote the load and picker-load sections of {args.output}")
            return 0 if load.targets_met() else 1
        # Before the picker bench, which stops the private Redis and memcached; it seeds its own
        # tables afterwards.
        from bench import consensus_sim

        simulated = consensus_sim.run()
        print(simulated.summary(), flush=True)
        report = picker_bench.run(sizes=sizes, picks=args.picks, servers=servers)
        report.load = load
        print(report.summary(), flush=True)
        started = time.monotonic()
        report.listing = listing_bench.run(
            sizes=(sizes[0], sizes[-1]), documents=sizes[-1] // picker_config.PAGES_PER_DOCUMENT
        )
        report.total_seconds += time.monotonic() - started
        print(report.listing.summary())
        if sizes == DEFAULT_SIZES:
            output = Path(args.output)
            document = report.markdown()
            # The browser bench (`--browser`) runs apart: its last section is kept.
            browser = load_bench.section(
                output.read_text() if output.exists() else "", load_bench.BROWSER_HEADING
            )
            if browser:
                document = load_bench.splice(document, browser, heading=load_bench.BROWSER_HEADING)
            document = load_bench.splice(document, simulated.markdown(), heading=consensus_sim.HEADING)
            if picked is not None:
                from bench import picker_load

                document = load_bench.splice(document, picked.markdown(), heading=picker_load.HEADING)
            # So do the search bench (`--search`) and its section.
            from bench import search_bench

            searched = load_bench.section(output.read_text() if output.exists() else "", search_bench.HEADING)
            if searched:
                document = load_bench.splice(document, searched, heading=search_bench.HEADING)
            output.write_text(document)
            print(f"wrote {args.output}")
        else:
            print("(not writing docs/benchmarks.md: not the standard sizes)")
        load_ok = (load is None or load.targets_met()) and (picked is None or picked.targets_met())
        load_ok = load_ok and simulated.targets_met()
        return 0 if report.targets_met() and report.listing.targets_met() and load_ok else 1
    finally:
        from lib import services

        services.stop_pidfile(servers["redis_pid"])
        services.stop_pidfile(servers["memcached_pid"])
        shutil.rmtree(workdir, ignore_errors=True)
        for counters in ("assignments.picker_stats", "pagecache.stats"):
            if counters in sys.modules:
                # The bench's picks and pages are not traffic: nothing for the exit flush to
                # store (the database is about to go).
                sys.modules[counters].reset_pending()
        if not args.keep and not args.search:
            _drop_bench_database()


def _drop_bench_database() -> None:
    """Leave no gigabyte behind in the checkout's embedded PostgreSQL."""
    import psycopg
    from django.db import connections

    connections.close_all()
    close_pool = getattr(connections["default"], "close_pool", None)
    if close_pool:
        close_pool()
    url = os.environ["DATABASE_URL"]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
