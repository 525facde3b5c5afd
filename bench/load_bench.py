"""The load benchmark: the site under gunicorn (and nginx) on loopback, driven as browsers would.

Run by ``python -m bench`` first (``--load-only`` runs it alone), on the bench's own database and
its private Redis and memcached (see ``bench.__main__``). It

1. seeds a synthetic release (``LOAD_PAGES`` pages in documents of 100, set-based INSERTs, no
   images: the client never fetches them), the editors' tag set and one main assignment with
   threshold 3 made by the assignment actions, and rebuilds every registered denormalisation;
2. starts gunicorn as ``make run`` does (``gunicorn.conf.py``, the ``serve`` command's command
   line), with the rate limits raised through the ``RATE_LIMIT_*`` variables for this process
   tree only (64 reviewers on one address would otherwise be a flood);
3. runs the scenarios below with ``bench.http_client`` (one keep-alive connection and cookie jar
   per reviewer, the CSRF token and the form read from each page), each bounded in time and in
   cycles, stopping by itself;
4. compares the reviews the client saw accepted (a 302 after the POST, or a JSON reply saying
   ``recorded``) with ``reviews_review``.

Two flows (``Reviewer``), as a browser does with and without scripts:

- with JS (the primary: the targets are judged on it): the review screen's script posts the form
  with ``Accept: application/json`` and the reply names the next page and the CSRF token for its
  POST, so a cycle is one request (the submit); a review screen is fetched only at a reviewer's
  start (``/review/next/``), after their first review (it made their account) and when a reply
  names no page (see ``Reviewer``);
- without JS: review screen (GET) -> submit (POST), whose redirect names the next page's review
  screen directly, two requests per cycle.

Scenarios:

- one reviewer alone, with JS and without (as the closed loop below, with one browser): the
  server's time per request with no queue in front of it;
- closed loop: ``CLOSED_REVIEWERS`` reviewers without pauses, without JS (shorter) then with JS.
  Warm-up excluded from the figures.
- open loop, with JS: cycles start every 1/``OPEN_RATE`` s whatever the replies (an idle reviewer
  takes it, or a new one), so a slow server meets a growing queue instead of slowing the client.
- anonymous readers: the home page and a tag listing (cached whole: ``pagecache``) through
  gunicorn, then through Debian's nginx started on a loopback port with
  ``deploy/nginx.conf.template`` (cached pages served from memcached without Python), with
  ``wrk`` when installed (``apt-get install wrk``), else with the asyncio client.

In modules: ``bench.load_config`` (sizes, durations, targets), ``bench.load_seed`` (the synthetic
release), ``bench.load_client`` (the reviewers, the loops, wrk), ``bench.harness`` (gunicorn and
nginx, shared with the tests that need real servers), ``bench.load_report`` (the figures and
their markdown) and ``bench.load_run`` (the run). This module names them all, as before.
"""

from bench.harness import (
    _wait_for,
    free_port,
    load_environment,
    start_gunicorn,
    start_nginx,
    stop,
    write_page_image,
)
from bench.load_client import (
    JSON,
    ReadResult,
    Recorder,
    Reviewer,
    Totals,
    _read,
    closed_loop,
    open_loop,
    parse_wrk,
    percentile,
    read_loop,
)
from bench.load_config import (
    ALONE_SECONDS,
    BROWSER_HEADING,
    CLOSED_REVIEWERS,
    CLOSED_SECONDS,
    IMAGE_PATH,
    LOAD_PAGES,
    MAX_CYCLES,
    MAX_OPEN_REVIEWERS,
    MAX_REDIRECTS,
    NOJS_ALONE_SECONDS,
    NOJS_CLOSED_SECONDS,
    OPEN_RATE,
    OPEN_SECONDS,
    PAGES_PER_DOCUMENT,
    RAISED_LIMIT,
    READ_CONNECTIONS,
    READ_SECONDS,
    REQUEST_TIMEOUT,
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
from bench.load_report import LoadReport
from bench.load_run import run, section, splice
from bench.load_seed import reviews_in_postgres, seed

__all__ = [
    "ALONE_SECONDS",
    "BROWSER_HEADING",
    "CLOSED_REVIEWERS",
    "CLOSED_SECONDS",
    "IMAGE_PATH",
    "JSON",
    "LOAD_PAGES",
    "LoadReport",
    "MAX_CYCLES",
    "MAX_OPEN_REVIEWERS",
    "MAX_REDIRECTS",
    "NOJS_ALONE_SECONDS",
    "NOJS_CLOSED_SECONDS",
    "OPEN_RATE",
    "OPEN_SECONDS",
    "PAGES_PER_DOCUMENT",
    "RAISED_LIMIT",
    "READ_CONNECTIONS",
    "READ_SECONDS",
    "REQUEST_TIMEOUT",
    "ReadResult",
    "Recorder",
    "Reviewer",
    "SECTION_HEADING",
    "SERVER_WARMUP_SECONDS",
    "TARGET_ALONE_CYCLE_MS",
    "TARGET_CYCLES",
    "TARGET_DJANGO_RPS",
    "TARGET_IMAGES_RPS",
    "TARGET_NGINX_RPS",
    "TARGET_OPEN_P99_MS",
    "THRESHOLD",
    "Totals",
    "WARMUP_SECONDS",
    "_read",
    "_wait_for",
    "closed_loop",
    "free_port",
    "load_environment",
    "open_loop",
    "parse_wrk",
    "percentile",
    "read_loop",
    "reviews_in_postgres",
    "run",
    "section",
    "seed",
    "splice",
    "start_gunicorn",
    "start_nginx",
    "stop",
    "write_page_image",
]
