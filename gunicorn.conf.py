"""gunicorn settings of Crowd review, one file for `make run` (manage.py serve), the compose file's
`web` service and `make bench`. Command-line options override these; every value here reads an
environment variable with the default we chose.

Why these values (measured with `make bench` on the 2-core development machine; see
docs/benchmarks.md and docs/caching.md):

- worker_class gthread, workers 3 x threads 4: a request spends most of its time waiting on
  Postgres, Redis or memcached (a review submit is about 70% waits), so threads overlap those
  waits inside one process while 3 processes use both cores (and a third covers one stalled in a
  GC pause). More workers on 2 cores only added context switches; more threads per worker made
  the GIL the queue (p99 grew, throughput did not).
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
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
