"""Operations: logs, health, metrics and error reports (docs/operations.md, Monitoring)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_list, env_secret, env_str
from config.settings.core import DATA_DIR, PRODUCTION, TESTING

# Logs (lib/logs.py): LOG_FORMAT=json gives one JSON object per line (production), text is the
# development default; every record carries the request id (X-Request-ID). LOG_REQUESTS: one
# line per request (crowd.request), on by default with JSON (text: gunicorn's access log).
LOG_FORMAT = env_str("LOG_FORMAT", "text").lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOG_REQUESTS = env_bool("LOG_REQUESTS", LOG_FORMAT == "json")
from lib.logs import logging_config  # noqa: E402

LOGGING = logging_config(
    log_format=LOG_FORMAT,
    level=env_str("LOG_LEVEL", "WARNING"),
    crowd_level=env_str("LOG_LEVEL", "INFO"),
)
if not LOG_REQUESTS:
    LOGGING["loggers"]["crowd.request"] = {"level": "WARNING"}
if LOG_FORMAT == "json":
    import logging as _logging

    _logging.captureWarnings(True)  # Python's warnings become records too: JSON, not stray text
# Celery workers keep these handlers (and so the format and the request id) instead of their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False


# /readyz answers 503 when Postgres does not answer SELECT 1 within this (lib/health.py).
HEALTH_POSTGRES_TIMEOUT_SECONDS = 1.0

# Prometheus metrics (lib/metrics.py): prometheus-client's multiprocess mode keeps each process's
# counters in files under this directory; it must be set before prometheus_client is imported,
# hence the environment variable. `manage.py serve` empties it at start (stale files of an earlier
# run would be summed in); several hosts each have their own.
import os as _os  # noqa: E402

_prometheus_env = env_str("PROMETHEUS_MULTIPROC_DIR")
# A value this file defaulted (and exported for prometheus_client) is inherited by child
# processes; it is not the operator's choice: a child with another CROWD_DATA_DIR (the fault
# tests' private stacks) gets its own.
_prometheus_defaulted = (
    not _prometheus_env or _os.environ.get("CROWD_PROMETHEUS_DEFAULTED") == _prometheus_env
)
PROMETHEUS_MULTIPROC_DIR = (
    DATA_DIR / ("prometheus-test" if TESTING else "prometheus")
    if _prometheus_defaulted
    else Path(_prometheus_env)
)
if TESTING and "pytest" in sys.modules and _prometheus_defaulted:
    # Each test run its own empty directory (a run's counters start from zero, and two runs in
    # one checkout never wipe each other's files); those of runs that ended are removed.
    import shutil as _shutil

    PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
    for _old in PROMETHEUS_MULTIPROC_DIR.iterdir():
        if _old.name.isdigit() and not Path(f"/proc/{_old.name}").exists():
            _shutil.rmtree(_old, ignore_errors=True)
    PROMETHEUS_MULTIPROC_DIR = PROMETHEUS_MULTIPROC_DIR / str(_os.getpid())
    _shutil.rmtree(PROMETHEUS_MULTIPROC_DIR, ignore_errors=True)
if _prometheus_defaulted:  # an operator's directory (a volume) is theirs to provide
    PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
_os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(PROMETHEUS_MULTIPROC_DIR)
if _prometheus_defaulted:
    _os.environ["CROWD_PROMETHEUS_DEFAULTED"] = str(PROMETHEUS_MULTIPROC_DIR)
# /metrics answers these networks (the client address as TRUSTED_PROXIES makes it) ...
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
try:
    import ipaddress as _ipaddress

    for _network in METRICS_ALLOWED_NETWORKS:
        _ipaddress.ip_network(_network, strict=False)
except ValueError as _exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_exc}") from None
# ... and anyone sending `Authorization: Bearer <METRICS_TOKEN>` (empty: no token accepted).
METRICS_TOKEN = env_secret("METRICS_TOKEN")

# Errors to Sentry when SENTRY_DSN is set (sentry-sdk, Django and Celery integrations, no
# personal data); nothing is loaded without it.
SENTRY_DSN = env_secret("SENTRY_DSN")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "production" if PRODUCTION else "development")
if SENTRY_DSN:
    from lib.logs import init_sentry  # noqa: E402

    init_sentry(SENTRY_DSN, environment=SENTRY_ENVIRONMENT, release=env_str("SENTRY_RELEASE"))
