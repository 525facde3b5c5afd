"""gunicorn settings of Crowd review, one file for `make run` (manage.py serve), the compose file's
`web` service and `make bench`. Command-line options override these; every value here reads an
environment variable with the default we chose.

Why these values (measured with `make bench` on the 2-core development machine; see
docs/benchmarks.md and docs/caching.md):

- worker_class gthread, workers 3 x threads 4: a request spends much of its time waiting on
  Postgres, Redis or memcached (a review submit is about 70% waits), so threads overlap those
  waits inside one process while 3 processes use both cores (and a third covers one stalled in a
  GC pause). Measured on 2026-12-02 (64 reviewers, the load bench's closed loop (bench/load_bench.py
  closed_loop) against each shape for 12 s, two rounds interleaved, load average 3-9 from other work on the
  machine, so throughput figures are noisy): the steadier figure is the workers' CPU per review
  cycle, from /proc: 3x4 14.9 and 14.6 ms, 2x8 14.8 and 14.5 ms, 2x4 15.5 ms, 4x4 17.8 and
  17.3 ms. 4 workers cost a fifth more CPU per cycle (more processes contending for two cores);
  2x8 and 3x4 are level, and 3 workers keep serving when one is stuck or being replaced.
  Cycles/s in the same runs: 3x4 69 and 61, 2x8 64 and 73, 4x4 72 and 58, 2x4 51 and 89.
  Whatever the shape, gunicorn's own work (its event loop and handing connections to threads)
  was about a tenth of a worker's CPU in py-spy; the rest is Django.
- Each worker process keeps its own persistent connections: Django's psycopg pool (DB_POOL_MAX,
  10 per process: 3 x 10 stays well under Postgres' 100), one Redis connection pool and one
  pymemcache pool per process, opened on first use and reused by every request after.
- keepalive 5 s: nginx keeps upstream connections open to gunicorn (deploy/nginx.conf), and a
  browser's next request in the review cycle reuses its connection.
- timeout 30 s: a worker stuck longer than that is killed and replaced; graceful_timeout 5 s.
- max_requests 0 (never recycle): nothing here leaks, and recycling would drop the connection
  pools that the persistent-connection test shows stay flat.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "5"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
backlog = 2048
max_requests = 0
# The app (Django, the URLconf: config/wsgi.py) is imported once in the master and the workers
# fork with it: a new or replaced worker serves at once instead of spending its first requests
# importing. Nothing opens a connection at import (the clients are lazy), so no socket is shared.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"
# LOG_FORMAT=json (lib/logs.py): Django logs one JSON line per request (crowd.request, with the
# request id), so gunicorn's text access log is off unless asked for, and gunicorn's own lines
# (workers booting, timeouts) are JSON objects too.
_json_logs = os.environ.get("LOG_FORMAT", "text").lower() == "json"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "" if _json_logs else "-") or None
if _json_logs:
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "lib.logs.JsonFormatter"}},
        "handlers": {
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
            "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }


def child_exit(server, worker):
    """A worker gone (stopped, killed, replaced): prometheus-client's multiprocess mode drops its
    live gauge files (lib/metrics.py; its counters stay, summed into every scrape)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        from prometheus_client import multiprocess

        from lib.metrics import process_identifier

        multiprocess.mark_process_dead(process_identifier(worker.pid), path)
