"""Health checks for load balancers and orchestrators: ``/healthz`` and ``/readyz``.

- ``/healthz`` (liveness): the process answers. Touches no server, so a Postgres outage never
  makes an orchestrator kill healthy web processes (restarting them would not bring it back).
- ``/readyz`` (readiness): 200 when Postgres answers ``SELECT 1`` within
  ``HEALTH_POSTGRES_TIMEOUT_SECONDS`` (1 s), else 503: without the source of truth the site can
  only show error pages. Redis, memcached and the Celery broker are reported ``ok``, ``degraded``
  (some of several memcached servers) or ``down`` in the JSON, but never make it 503: the site
  serves without them (the picker falls back to memcached pools, then Postgres; sessions come
  from Postgres; tasks queued while the broker is down are requeued by beat).

Both are answered by :class:`HealthCheckMiddleware`, first in ``MIDDLEWARE``: before the HTTPS
redirect and the host check (a load balancer probes over plain HTTP by address), before the
full-page cache (never cached: ``Cache-Control: no-store``), the session (no cookie, no session
row) and any rate limit. Cheap: one round trip per server on already open connections (the
psycopg pool, the Redis client's pool), raw ``SELECT 1`` on a psycopg connection, no ORM.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"

OK, DEGRADED, DOWN = "ok", "degraded", "down"


# --- Probes -------------------------------------------------------------------------------------


def _postgres_select_one(timeout: float) -> None:
    """``SELECT 1`` on a pooled connection (no new connection per probe), else a fresh one with a
    connect timeout. Raw psycopg: no ORM, no Django cursor wrapper."""
    from django.db import connections

    wrapper = connections["default"]
    # The postgresql backend has .pool when OPTIONS names one.
    pool = wrapper.pool if wrapper.settings_dict.get("OPTIONS", {}).get("pool") else None  # type: ignore[attr-defined]
    if pool is not None:
        pool.open()  # as Django does before each getconn: a no-op once open
        # Waits at most `timeout` for a connection: with Postgres down the pool cannot make one.
        with pool.connection(timeout=timeout) as conn:
            conn.execute("SELECT 1").fetchone()
        return
    import psycopg

    params = wrapper.get_connection_params()
    params.pop("cursor_factory", None)
    params["connect_timeout"] = max(1, int(timeout))
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute("SELECT 1").fetchone()


def postgres_status(timeout: float | None = None) -> tuple[str, str]:
    """(status, detail). Run in a thread with a deadline, so a hung server (a full disk, a
    stopped process whose socket still accepts) cannot hold the probe longer than ``timeout``;
    the thread then ends by itself within the pool's or the socket's own timeout."""
    timeout = settings.HEALTH_POSTGRES_TIMEOUT_SECONDS if timeout is None else timeout
    outcome: dict[str, str] = {}
    finished = threading.Event()

    def probe() -> None:
        try:
            _postgres_select_one(timeout)
            outcome["status"] = OK
        except Exception as exc:  # any failure to answer is "down", with its kind for the operator
            outcome["error"] = type(exc).__name__
        finally:
            finished.set()

    thread = threading.Thread(target=probe, name="readyz-postgres", daemon=True)
    thread.start()
    if not finished.wait(timeout):
        return DOWN, f"no answer within {timeout:g} s"
    if outcome.get("status") == OK:
        return OK, ""
    return DOWN, outcome.get("error", "error")


def redis_status() -> tuple[str, str]:
    """PING through the project's Redis client (short socket timeouts, lib/redis_client.py)."""
    from lib.redis_client import get_redis

    try:
        get_redis().ping()
    except Exception as exc:
        return DOWN, type(exc).__name__
    return OK, ""


def _memcached_answers(server: str, timeout: float) -> bool:
    if server.startswith("unix:") or server.startswith("/"):
        address: str | tuple[str, int]
        family, address = socket.AF_UNIX, server.removeprefix("unix:")
    else:
        host, _, port = server.rpartition(":")
        inet: tuple[str, int] = (host.strip("[]") or "127.0.0.1", int(port or 11211))
        family, address = socket.AF_INET, inet
        if ":" in inet[0]:
            family = socket.AF_INET6
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.sendall(b"version\r\n")
            return sock.recv(64).startswith(b"VERSION")
    except OSError:
        return False


def memcached_status(timeout: float = 0.2) -> tuple[str, str]:
    """``version`` to each server: Django's cache ignores errors (a dead server reads as a miss),
    so it cannot tell "down" from "empty". Several servers: some down is ``degraded`` (their keys
    moved to the others, docs/operations.md)."""
    servers = list(settings.MEMCACHED_SERVERS)
    down = [s for s in servers if not _memcached_answers(s, timeout)]
    if not down:
        return OK, ""
    if len(down) < len(servers):
        return DEGRADED, f"{len(down)} of {len(servers)} servers down"
    return DOWN, "no server answers"


def broker_redis_url(broker: str) -> str | None:
    """The redis-py URL of a Redis broker URL (kombu's ``redis+socket://`` spelling included),
    or None for another transport."""
    if broker.startswith("redis+socket://"):
        path, _, query = broker.removeprefix("redis+socket://").partition("?")
        db = dict(parse_qsl(query)).get("virtual_host", "0")
        return f"unix://{path}?db={db}"
    if urlsplit(broker).scheme in ("redis", "rediss", "unix"):
        return broker
    return None


def broker_status() -> tuple[str, str]:
    """PING the Celery broker (a Redis of its own or the same one as REDIS_URL)."""
    import redis

    url = broker_redis_url(settings.CELERY_BROKER_URL)
    if url is None:
        return _kombu_status()
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.5)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return DOWN, type(exc).__name__
    return OK, ""


def _kombu_status() -> tuple[str, str]:
    from kombu import Connection

    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=0.5) as conn:
            conn.ensure_connection(max_retries=1, timeout=0.5)
    except Exception as exc:
        return DOWN, type(exc).__name__
    return OK, ""


def readiness() -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) of ``/readyz``."""
    started = time.monotonic()
    checks: dict[str, dict[str, str]] = {}
    for name, probe in (
        ("postgres", postgres_status),
        ("redis", redis_status),
        ("memcached", memcached_status),
        ("celery_broker", broker_status),
    ):
        status, detail = probe()
        checks[name] = {"status": status, **({"detail": detail} if detail else {})}
    if checks["postgres"]["status"] != OK:
        overall, http_status = DOWN, 503
    elif all(c["status"] == OK for c in checks.values()):
        overall, http_status = OK, 200
    else:
        overall, http_status = DEGRADED, 200
    body = {"status": overall, "checks": checks, "seconds": round(time.monotonic() - started, 4)}
    return http_status, body


# --- Middleware -----------------------------------------------------------------------------------


def _json(status: int, body: dict[str, Any]) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"  # answered before SecurityHeadersMiddleware
    if status == 503:
        response["Retry-After"] = "5"
    return response


class HealthCheckMiddleware:
    """Answers ``/healthz`` and ``/readyz`` before any other middleware (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info.rstrip("/")
        if path == LIVENESS_PATH:
            return _json(200, {"status": OK})
        if path == READINESS_PATH:
            return _json(*readiness())
        return self.get_response(request)
