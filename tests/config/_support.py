"""Helpers of the settings tests (test modules do not import each other)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

# Variables the settings read; a probe starts from an environment without any of them.
SETTINGS_VARIABLES = [
    "DATABASE_URL",
    "REDIS_URL",
    "MEMCACHED_SERVERS",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "MEDIA_ROOT",
    "SERVE_MEDIA",
    "CROWD_TESTING",
    "CROWD_DATA_DIR",
    "TEST_DATABASE_NAME",
    "TEST_REDIS_DB",
    "PRODUCTION",
    "SOURCES_ROOT",
    "SECURE_COOKIES",
    "SESSION_COOKIE_AGE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "TRUST_X_FORWARDED_PROTO",
    "TRUSTED_PROXIES",
    "SECRET_KEY_FILE",
    "DATABASE_URL_FILE",
    "REDIS_URL_FILE",
    "CELERY_BROKER_URL_FILE",
]


# A key good enough for production settings (50+ characters, not a development key).
PRODUCTION_KEY = "p7Qx-" + "k9" * 30


def settings_in_subprocess(env: dict[str, str], *, forbid_embedded: bool) -> dict:
    """The effective settings under ``env`` (added to a clean copy of this environment)."""
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings", PYTHONPATH=str(BASE_DIR))
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, "forbid" if forbid_embedded else "allow"],
        env=clean,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise AssertionError(f"settings failed to load:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} against ``env``."""

    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if name in env and env[name] != "":
            return env[name]
        if op == ":?":
            raise KeyError(f"{name} is required: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, str(value))


BASE_DIR = Path(__file__).resolve().parents[2]


_PROBE = r"""
import json, sys
import lib.services as services

calls = []
forbid = sys.argv[1] == "forbid"

def recorder(name, original):
    def wrapper(*args, **kwargs):
        calls.append(name)
        if forbid:
            raise SystemExit(f"{name} called although the environment names a server")
        return original(*args, **kwargs)
    return wrapper

for name in ("ensure_postgres", "ensure_redis", "ensure_memcached"):
    setattr(services, name, recorder(name, getattr(services, name)))

from django.conf import settings

db = settings.DATABASES["default"]
print(json.dumps({
    "calls": calls,
    "DATA_DIR": str(settings.DATA_DIR),
    "db": {k: db.get(k) for k in ("ENGINE", "HOST", "PORT", "NAME", "USER", "PASSWORD")},
    "REDIS_URL": settings.REDIS_URL,
    "MEMCACHED_SERVERS": settings.MEMCACHED_SERVERS,
    "CACHE_LOCATION": settings.CACHES["default"]["LOCATION"],
    "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    "SECRET_KEY": settings.SECRET_KEY,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    "DEBUG": settings.DEBUG,
    "SERVE_MEDIA": settings.SERVE_MEDIA,
    "cookies": {
        name: getattr(settings, name)
        for name in (
            "SESSION_COOKIE_AGE", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
            "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SECURE", "SESSION_SAVE_EVERY_REQUEST",
        )
    },
}))
"""
