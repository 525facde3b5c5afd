"""Logs an operator can search: one line per request, a request id on every record, JSON when
``LOG_FORMAT=json``, and the id carried into the Celery tasks a request queued.

- The request id: ``X-Request-ID`` when the request came from a proxy in ``TRUSTED_PROXIES`` (the
  load balancer's id then ties its log to ours) and the value is sane (1-128 characters of
  ``[A-Za-z0-9._:-]``); otherwise a new one. Anyone else's header is ignored: a client could plant
  an id to blur its trail or inject text. It is echoed in the response's ``X-Request-ID``.
- It lives in a context variable, so every record logged while serving the request carries it
  (:class:`RequestIdFilter`, attached to the handlers in settings), threads of gunicorn's gthread
  workers included.
- Celery: ``before_task_publish`` adds it to the message's headers; ``task_prerun`` sets it in the
  worker for the task's duration (``task_postrun`` clears it), and one line says the task started.
- No personal data: the request line has the method, the route (URL pattern name), the status,
  the duration and the reviewer id when the request already loaded its user; never the address,
  the user name, the query string or the raw path (which can carry an email in a reset link).
- Optional Sentry (:func:`init_sentry`, ``SENTRY_DSN``): Django and Celery integrations, no
  personal data sent, off when unset.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
HEADER_KEY = "crowd_request_id"  # the Celery message header
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("crowd_request_id", default=None)

log = logging.getLogger("crowd.request")
task_log = logging.getLogger("crowd.task")


def current_request_id() -> str | None:
    return request_id_var.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_for(request: HttpRequest) -> str:
    from lib.ratelimit import from_trusted_proxy

    given = request.META.get("HTTP_X_REQUEST_ID", "")
    if given and _VALID_ID.match(given) and from_trusted_proxy(request):
        return str(given)
    return new_request_id()


# --- Records ------------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record (``-`` outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get() or "-"
        return True


# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is output.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, the
    record's ``extra`` fields, and the traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get() or "-",
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


# --- Requests -----------------------------------------------------------------------------------


class RequestLogMiddleware:
    """Sets the request id, echoes it, and logs one line per request (``crowd.request``, INFO)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request)
        request.request_id = request_id  # type: ignore[attr-defined]  # read by the views' logs
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            self._log(request, response.status_code, time.perf_counter() - started)
            return response
        finally:
            request_id_var.reset(token)

    @staticmethod
    def _log(request: HttpRequest, status: int, seconds: float) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        from lib.metrics import route_name

        extra = {
            "method": request.method,
            "route": route_name(request),
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        }
        # Only a user the request already loaded: resolving it here would cost a session read
        # and a query on requests that never needed one (cached pages, static files).
        user = getattr(request, "_cached_user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            extra["reviewer_id"] = user.pk
        log.info("%s %s %s", request.method, extra["route"], status, extra=extra)


# --- Celery -------------------------------------------------------------------------------------


def _publishing(sender: object = None, headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers[HEADER_KEY] = request_id


# Tokens of the ids set for running tasks, by task id: reset when the task ends, so a task run
# eagerly inside a request (``apply()``) hands the request its own id back.
_task_tokens: dict[str, contextvars.Token[str | None]] = {}


def _task_starting(
    sender: object = None, task_id: str | None = None, task: object = None, **kwargs: Any
) -> None:
    request = getattr(task, "request", None)
    request_id = getattr(request, HEADER_KEY, None) or (getattr(request, "headers", None) or {}).get(
        HEADER_KEY
    )
    # A task queued outside any request (beat, a command) gets an id of its own: its lines still
    # group together.
    token = request_id_var.set(
        request_id if request_id and _VALID_ID.match(str(request_id)) else new_request_id()
    )
    if task_id:
        _task_tokens[task_id] = token
    name = getattr(task, "name", None)
    task_log.log(
        logging.DEBUG if name in _housekeeping_tasks() else logging.INFO,
        "task %s started",
        name or sender,
        extra={"task": name, "task_id": task_id},
    )


# Beat tasks run more often than this are logged at DEBUG when they start: the every-5-seconds
# confidence refresh alone would write 17,280 INFO lines a day, burying the lines an operator
# looks for. Their failures are still logged (Celery's own ERROR lines), and /metrics counts runs.
HOUSEKEEPING_SECONDS = 300.0


def _housekeeping_tasks() -> frozenset[str]:
    from django.conf import settings

    schedule = getattr(settings, "CELERY_BEAT_SCHEDULE", {}) or {}
    return frozenset(
        entry["task"]
        for entry in schedule.values()
        if isinstance(entry.get("schedule"), int | float) and entry["schedule"] < HOUSEKEEPING_SECONDS
    )


def _task_finished(sender: object = None, task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    try:
        if token is not None:
            request_id_var.reset(token)
            return
    except ValueError:  # set in another context (a thread pool): nothing to restore
        pass
    request_id_var.set(None)


def connect_celery_signals() -> None:
    from celery import signals

    signals.before_task_publish.connect(_publishing, weak=False, dispatch_uid="crowd-logs-publish")
    signals.task_prerun.connect(_task_starting, weak=False, dispatch_uid="crowd-logs-prerun")
    signals.task_postrun.connect(_task_finished, weak=False, dispatch_uid="crowd-logs-postrun")


# --- Settings -------------------------------------------------------------------------------------


def logging_config(*, log_format: str, level: str, crowd_level: str) -> dict[str, Any]:
    """``LOGGING`` for settings: text (development) or one JSON object per line (production)."""
    formatter = (
        {"()": "lib.logs.JsonFormatter"}
        if log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "lib.logs.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "default", "filters": ["request_id"]}
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "crowd": {"level": crowd_level},
            # Django logs each 4xx/5xx with the raw path; our request line says it without it.
            "django.request": {"level": "ERROR"},
            # Celery's worker sets up its own root handler unless told not to (config/celery.py
            # keeps ours via worker_hijack_root_logger=False).
            "celery": {"level": level},
        },
    }


def init_sentry(dsn: str, *, environment: str = "", release: str = "") -> None:
    """Errors to Sentry (Django and Celery integrations), no personal data, no tracing."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        environment=environment or None,
        release=release or None,
        traces_sample_rate=0.0,
    )
