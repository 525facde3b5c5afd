"""Prometheus metrics: every definition in this one module, served at ``/metrics``.

What, and why this way:

- The official ``prometheus-client`` in its multiprocess mode: each gunicorn worker and each
  Celery pool process writes its counters to mmapped files in ``PROMETHEUS_MULTIPROC_DIR``
  (settings: ``.data/prometheus`` by default, wiped by ``manage.py serve`` at start; gunicorn's
  ``child_exit`` hook calls ``mark_process_dead``). A scrape, served by any one worker, sums the
  files of all of them, so a counter never goes backwards when the load balancer picks another
  worker. Only counters and histograms are written that way: they need no per-process mode.
- Figures that are state, not events (Celery queue depth, live picker reservations), are read at
  scrape time from Redis by the collectors below, one pipelined round trip each, so no process
  has to keep a gauge up to date and a dead process leaves no stale value.
- Hooks elsewhere are one line each and never raise: counting must not break what it counts.
  Reviews and skips come from the project signals (``catalogue.signals``, connected in
  ``lib.apps``), the picker's and the page cache's counts from their ``HourlyCounter`` (one place
  each), rate-limit refusals from ``lib.ratelimit.hit``, drift from
  ``denorm.operations._check_and_repair_one``, task outcomes from Celery's signals.
- Labels are bounded: a route is the URL pattern's name (never the raw path, which would make a
  series per page), a limit is its scope, a task its name.

Access (``lib.metrics_views.metrics_view``): addresses in ``METRICS_ALLOWED_NETWORKS`` (loopback by default;
the client address as ``lib.ratelimit.client_address`` reads it, so ``TRUSTED_PROXIES`` is
honoured) or a request with ``Authorization: Bearer <METRICS_TOKEN>``; anyone else gets 403.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ParamSpec

from django.conf import settings
from django.urls import Resolver404, resolve
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

log = logging.getLogger("crowd.metrics")

# Files are named by host and pid, not pid alone: in docker-compose.yml the web and worker
# containers share one directory (a volume) and their pids (1, 7, ...) would collide. Set before
# any metric is made (they are all made below).
_HOST = socket.gethostname().replace("_", "-")


def process_identifier(pid: int | None = None) -> str:
    return f"{_HOST}-{pid or os.getpid()}"


def multiprocess_dir() -> str | None:
    """The directory of the multiprocess files, or None when it is not set or does not exist
    (then each process counts for itself, and says so once: a missing volume must not stop the
    site, whose every request counts)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return path if path and os.path.isdir(path) else None


if multiprocess_dir():
    values.ValueClass = values.MultiProcessValue(process_identifier)
else:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        log.warning(
            "PROMETHEUS_MULTIPROC_DIR %s does not exist: /metrics shows this process's counts only",
            os.environ["PROMETHEUS_MULTIPROC_DIR"],
        )
    values.ValueClass = values.MutexValue

# --- Definitions --------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "crowd_http_requests_total", "HTTP requests answered, by URL pattern name, method and status",
    ["route", "method", "status"],
)  # fmt: skip
HTTP_LATENCY = Histogram(
    "crowd_http_request_duration_seconds", "Time to answer an HTTP request, by URL pattern name",
    ["route"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)  # fmt: skip
REVIEWS = Counter("crowd_reviews_total", "Reviews recorded (committed to Postgres)")
SKIPS = Counter("crowd_skips_total", "Pages skipped by reviewers (committed)")
FIRST_REVIEWS = Counter(
    "crowd_first_reviews_total", "First writes of visitors without an account: anon-<n> accounts created"
)
PICKER_PICKS = Counter(
    "crowd_picker_picks_total", "Next-page picks by where the page came from (redis, pool, postgres) or "
    "why none was served (nothing-left, busy)", ["source"],
)  # fmt: skip
PICKER_EVENTS = Counter(
    "crowd_picker_events_total", "Picker events: stale ids removed, Redis or the pool unavailable, pool refills",
    ["event"],
)  # fmt: skip
PAGE_CACHE = Counter(
    "crowd_page_cache_events_total", "Full-page cache: hit, miss, bypass, not-stored, bump (generation "
    "bumps), nginx-stored, and nginx-hit/nginx-miss read from nginx's page log", ["event"],
)  # fmt: skip
RATE_LIMIT_REFUSALS = Counter(
    "crowd_rate_limit_refusals_total", "Requests refused by a rate limit, by limit", ["limit"]
)
CELERY_TASKS = Counter(
    "crowd_celery_tasks_total", "Celery task outcomes (success, failure, retry), by task", ["task", "outcome"]
)
DRIFT_FOUND = Counter(
    "crowd_denormalisation_drift_found_total", "Denormalisation checks that found drift, by entry", ["entry"]
)
DRIFT_REPAIRED = Counter(
    "crowd_denormalisation_drift_repaired_total", "Drifted denormalisations repaired, by entry", ["entry"]
)

# --- Hooks (one line at each call site; never raise) -----------------------------------------------


_P = ParamSpec("_P")


def _safely(function: Callable[_P, None]) -> Callable[_P, None]:
    def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            function(*args, **kwargs)
        except Exception:  # a full disk under the multiprocess dir must not fail a review
            log.exception("metric not counted")

    wrapped.__name__ = function.__name__
    wrapped.__doc__ = function.__doc__
    return wrapped


@_safely
def count_review(sender: object = None, **kwargs: object) -> None:
    """``catalogue.signals.review_recorded`` receiver (sent after commit)."""
    REVIEWS.inc()


@_safely
def count_skip(sender: object = None, **kwargs: object) -> None:
    """``catalogue.signals.page_skipped`` receiver (sent after commit)."""
    SKIPS.inc()


@_safely
def count_first_review() -> None:
    FIRST_REVIEWS.inc()


# The picker's sources (assignments.picker_stats.SOURCES); its other names are events.
_PICK_SOURCES = frozenset({"redis", "pool", "postgres", "nothing-left", "busy"})


@_safely
def count_picker(name: str, n: int = 1) -> None:
    """``HourlyCounter(metric=...)`` of ``assignments.picker_stats``."""
    if name in _PICK_SOURCES:
        PICKER_PICKS.labels(source=name).inc(n)
    else:
        PICKER_EVENTS.labels(event=name).inc(n)


@_safely
def count_page_cache(name: str, n: int = 1) -> None:
    """``HourlyCounter(metric=...)`` of ``pagecache.stats``."""
    PAGE_CACHE.labels(event=name).inc(n)


@_safely
def count_rate_limit_refusal(scope: str) -> None:
    RATE_LIMIT_REFUSALS.labels(limit=scope).inc()


@_safely
def count_denormalisation_check(name: str, *, drifted: bool, repaired: bool) -> None:
    if drifted:
        DRIFT_FOUND.labels(entry=name).inc()
    if repaired:
        DRIFT_REPAIRED.labels(entry=name).inc()


def _task_name(sender: object = None, task: object = None, **kwargs: object) -> str:
    task = task or sender
    return getattr(task, "name", None) or str(task)


@_safely
def _task_succeeded(sender: object = None, **kwargs: object) -> None:
    CELERY_TASKS.labels(task=_task_name(sender), outcome="success").inc()


@_safely
def _task_failed(sender: object = None, **kwargs: object) -> None:
    CELERY_TASKS.labels(task=_task_name(sender), outcome="failure").inc()


@_safely
def _task_retried(sender: object = None, request: object = None, **kwargs: object) -> None:
    CELERY_TASKS.labels(task=_task_name(sender), outcome="retry").inc()


def _pool_process_stopped(pid: int | None = None, **kwargs: object) -> None:
    path = multiprocess_dir()
    if path:
        multiprocess.mark_process_dead(process_identifier(pid), path)


def connect_celery_signals() -> None:
    """Task outcomes, counted in the process that ran the task (lib.apps.LibConfig.ready)."""
    from celery import signals

    signals.task_success.connect(_task_succeeded, weak=False, dispatch_uid="crowd-metrics-success")
    signals.task_failure.connect(_task_failed, weak=False, dispatch_uid="crowd-metrics-failure")
    signals.task_retry.connect(_task_retried, weak=False, dispatch_uid="crowd-metrics-retry")
    signals.worker_process_shutdown.connect(
        _pool_process_stopped, weak=False, dispatch_uid="crowd-metrics-process-dead"
    )


# --- Request metrics ---------------------------------------------------------------------------------

UNMATCHED = "unmatched"


def route_name(request: HttpRequest) -> str:
    """The URL pattern's name (``namespace:name``), its route when it has none, ``unmatched`` for
    a path no pattern matches (a 404, a static file, a page served by the page cache before URL
    resolution is resolved here)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return UNMATCHED
        except Exception:
            return UNMATCHED
    return match.view_name if match.url_name else (match.route or UNMATCHED)


class RequestMetricsMiddleware:
    """Counts every request by route, method and status, and times it (outermost but for the
    health checks: the page cache's hits, static files and refusals count too)."""

    _METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        self._observe(request, response.status_code, time.perf_counter() - started)
        return response

    @_safely
    def _observe(self, request: HttpRequest, status: int, seconds: float) -> None:
        route = route_name(request)
        method = request.method if request.method in self._METHODS else "other"
        HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
        HTTP_LATENCY.labels(route=route).observe(seconds)


# --- Collected at scrape time ------------------------------------------------------------------------


def celery_queue_names() -> list[str]:
    from lib.celery_app import celery_app

    app = celery_app()
    names = {app.conf.task_default_queue}
    for route in (app.conf.task_routes or {}).values() if isinstance(app.conf.task_routes, dict) else ():
        if isinstance(route, dict) and route.get("queue"):
            names.add(route["queue"])
    return sorted(names)


# kombu's Redis transport keeps a queue as lists: the name itself (priority 0) and name + sep +
# priority for the other steps of its default priority_steps.
_KOMBU_PRIORITY_SEP = "\x06\x16"
_KOMBU_PRIORITIES = (3, 6, 9)


class ScrapeTimeCollector:
    """Queue depth (LLEN of the broker's lists) and live reservations (picker holds not yet
    expired), read when scraped. A server that does not answer leaves its metric out (and the
    health of it is on /readyz), never fails the scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from self._queue_depth()
        yield from self._live_reservations()

    def _queue_depth(self) -> Iterator[Metric]:
        import redis

        from lib.health import broker_redis_url

        url = broker_redis_url(settings.CELERY_BROKER_URL)
        if url is None:
            return
        family = GaugeMetricFamily(
            "crowd_celery_queue_length", "Tasks waiting in the Celery broker's queue", labels=["queue"]
        )
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.5)
            try:
                names = celery_queue_names()
                pipe = client.pipeline(transaction=False)
                for name in names:
                    pipe.llen(name)
                    for priority in _KOMBU_PRIORITIES:
                        pipe.llen(f"{name}{_KOMBU_PRIORITY_SEP}{priority}")
                lengths = pipe.execute()
            finally:
                client.close()
        except Exception as exc:
            log.warning("queue depth not collected: %r", exc)
            return
        per_queue = 1 + len(_KOMBU_PRIORITIES)
        for i, name in enumerate(names):
            family.add_metric([name], sum(lengths[i * per_queue : (i + 1) * per_queue]))
        yield family

    def _live_reservations(self) -> Iterator[Metric]:
        from lib import keys
        from lib.redis_client import get_redis

        try:
            client = get_redis()
            assignment_ids = sorted(int(a) for a in client.smembers(keys.active_assignments()))
            now_us = int(time.time() * 1_000_000)
            pipe = client.pipeline(transaction=False)
            for assignment_id in assignment_ids:
                # Scores are expiry times: count only holds not yet expired (expired ones linger
                # until the picker sweeps them).
                pipe.zcount(keys.assignment_holds(assignment_id), now_us, "+inf")
            counts = pipe.execute() if assignment_ids else []
        except Exception as exc:
            log.warning("live reservations not collected: %r", exc)
            return
        family = GaugeMetricFamily(
            "crowd_picker_live_reservations", "Pages reserved for a reviewer right now (picker holds)"
        )
        family.add_metric([], sum(int(c) for c in counts))
        yield family


class _OwnCounts:
    """This process's metrics (no multiprocess directory)."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield from self.source.collect()


def wipe_multiprocess_dir() -> None:
    """Empty PROMETHEUS_MULTIPROC_DIR before the processes that write it start (manage.py serve)."""
    directory = settings.PROMETHEUS_MULTIPROC_DIR
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        path.unlink(missing_ok=True)


def render() -> bytes:
    """The exposition of every process's metrics plus the scrape-time ones."""
    registry = CollectorRegistry()
    path = multiprocess_dir()
    if path and values.ValueClass is not values.MutexValue:
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        from prometheus_client import REGISTRY

        registry.register(_OwnCounts(REGISTRY))
    registry.register(ScrapeTimeCollector())
    return generate_latest(registry)
