"""Settings pick the embedded servers with no environment, and the given servers with it.

Each case imports only ``config.settings`` in a subprocess with a controlled environment. The
embedded-service starters are wrapped to record calls; with external URLs they raise instead,
so a bogus host is never connected to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_with_no_environment_it_uses_the_embedded_servers():
    """The checkout's .data servers (already running for this test session) are found, and
    loading the settings starts nothing: the entry points do (manage.py, the test plugin)."""
    from lib import services

    found = settings_in_subprocess({}, forbid_embedded=True)

    data_dir = BASE_DIR / ".data"
    assert found["DATA_DIR"] == str(data_dir)
    assert found["calls"] == []
    assert found["db"]["ENGINE"] == "django.db.backends.postgresql"
    assert Path(found["db"]["HOST"]).is_dir()  # the embedded server's socket directory
    assert found["db"]["NAME"] == "crowd"
    assert found["REDIS_URL"] == f"unix://{services.redis_socket(data_dir)}"
    assert found["MEMCACHED_SERVERS"] == [f"unix:{services.memcached_socket(data_dir)}"]
    assert found["CACHE_LOCATION"] == found["MEMCACHED_SERVERS"]
    assert found["CELERY_BROKER_URL"] == f"redis+socket://{services.redis_socket(data_dir)}"
    assert found["MEDIA_ROOT"] == str(data_dir / "media")
    assert found["SECRET_KEY"] == (data_dir / "secret_key").read_text().strip()
    assert found["DEBUG"] is False
    assert found["SERVE_MEDIA"] is True


def test_with_servers_in_the_environment_it_uses_them_and_starts_nothing(tmp_path):
    env = {
        "DATABASE_URL": "postgres://crowd:pw@db.example.invalid:6543/newsroom",
        "REDIS_URL": "redis://redis.example.invalid:6379/3",
        "MEMCACHED_SERVERS": "mc1.example.invalid:11211, mc2.example.invalid:11211",
        "SECRET_KEY": PRODUCTION_KEY,
        "ALLOWED_HOSTS": "crowd.example.org,www.crowd.example.org",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "CROWD_DATA_DIR": str(tmp_path / "data"),
    }

    found = settings_in_subprocess(env, forbid_embedded=True)

    assert found["calls"] == []
    assert found["db"] == {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "db.example.invalid",
        "PORT": 6543,
        "NAME": "newsroom",
        "USER": "crowd",
        "PASSWORD": "pw",
    }
    assert found["REDIS_URL"] == env["REDIS_URL"]
    assert found["CELERY_BROKER_URL"] == env["REDIS_URL"]  # defaults to REDIS_URL
    assert found["MEMCACHED_SERVERS"] == ["mc1.example.invalid:11211", "mc2.example.invalid:11211"]
    assert found["CACHE_LOCATION"] == found["MEMCACHED_SERVERS"]
    assert found["SECRET_KEY"] == env["SECRET_KEY"]
    assert found["ALLOWED_HOSTS"] == ["crowd.example.org", "www.crowd.example.org"]
    assert found["MEDIA_ROOT"] == env["MEDIA_ROOT"]
    assert found["SERVE_MEDIA"] is False  # production serves media from a web server or CDN
    # Nothing embedded was created under the data directory either.
    assert not any((tmp_path / "data" / name).exists() for name in ("pg", "redis", "memcached", "run"))


def test_a_separate_celery_broker_can_be_named(tmp_path):
    found = settings_in_subprocess(
        {
            "DATABASE_URL": "postgres://u@db.invalid/x",
            "REDIS_URL": "redis://redis.invalid:6379/0",
            "CELERY_BROKER_URL": "redis://broker.invalid:6379/1",
            "MEMCACHED_SERVERS": "mc.invalid:11211",
            "SECRET_KEY": PRODUCTION_KEY,
            "CROWD_DATA_DIR": str(tmp_path),
        },
        forbid_embedded=True,
    )
    assert found["CELERY_BROKER_URL"] == "redis://broker.invalid:6379/1"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be a boolean"),
        ("IMPORT_MAX_UPLOAD_BYTES", "lots", "IMPORT_MAX_UPLOAD_BYTES must be an integer"),
        ("IMPORT_MAX_UPLOAD_BYTES", "10", "IMPORT_MAX_UPLOAD_BYTES must be at least 1024"),
    ],
)
def test_nonsense_values_stop_start_up_with_a_clear_message(tmp_path, variable, value, message):
    env = {
        "DATABASE_URL": "postgres://u@db.invalid/x",
        "REDIS_URL": "redis://redis.invalid:6379/0",
        "MEMCACHED_SERVERS": "mc.invalid:11211",
        "SECRET_KEY": PRODUCTION_KEY,
        "CROWD_DATA_DIR": str(tmp_path),
        variable: value,
    }
    with pytest.raises(AssertionError, match=message):
        settings_in_subprocess(env, forbid_embedded=True)


def test_under_test_the_broker_is_the_test_redis_database():
    """Tasks queued by tests land in the test Redis database, not in a dev worker's queue. kombu
    reads a unix socket's database from ?virtual_host= (it ignores ?db=): check what it uses."""
    from lib import services

    found = settings_in_subprocess({"CROWD_TESTING": "1", "TEST_REDIS_DB": "7"}, forbid_embedded=False)

    sock = services.redis_socket(BASE_DIR / ".data")
    assert found["REDIS_URL"] == f"unix://{sock}?db=7"
    assert found["CELERY_BROKER_URL"] == f"redis+socket://{sock}?virtual_host=7"


def test_the_celery_connection_of_this_test_run_uses_the_test_database(settings):
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL) as conn:
        kwargs = conn.default_channel.client.connection_pool.connection_kwargs
    assert kwargs["db"] == int(os.environ.get("TEST_REDIS_DB", "15"))


def test_loading_the_settings_starts_no_server(tmp_path):
    """A checkout whose servers never ran: the settings name where they would listen and start
    none of them (no pidfile, no socket), so importing settings has no side effect on servers."""
    data = tmp_path / "d"
    found = settings_in_subprocess({"CROWD_DATA_DIR": str(data)}, forbid_embedded=True)

    from lib import services

    assert found["calls"] == []
    assert found["REDIS_URL"] == f"unix://{services.redis_socket(data)}"
    assert not (data / "pg" / "postmaster.pid").exists()
    assert not services.redis_socket(data).exists()
    assert not services.memcached_socket(data).exists()
    assert [s.running for s in services.status(data)] == [False, False, False]
