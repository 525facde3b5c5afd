"""Settings pick the embedded servers with no environment, and the given servers with it.

Each case imports only ``config.settings`` in a subprocess with a controlled environment. The
embedded-service starters are wrapped to record calls; with external URLs they raise instead,
so a bogus host is never connected to.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.config._support import _PROBE, BASE_DIR, PRODUCTION_KEY, SETTINGS_VARIABLES, settings_in_subprocess  # noqa: F401  # noqa: F401


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
