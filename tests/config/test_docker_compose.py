"""docker-compose.yml describes the production shape, consistent with config/settings/.

Docker does not run on the test machine: the file is parsed, and its application environment
is fed to the real settings module (in a subprocess, connecting to nothing).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.config._support import (
    PRODUCTION_KEY,
    interpolate,  # noqa: F401
    settings_in_subprocess,
)

BASE_DIR = Path(__file__).resolve().parents[2]
APP_SERVICES = ["web", "worker", "beat"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def test_it_runs_the_production_services_on_the_right_images(compose):
    services = compose["services"]
    assert {"postgres", "redis", "memcached", "web", "worker", "beat"} <= set(services)
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    assert services["memcached"]["image"] == "memcached:1.6"
    assert " ".join(services["web"]["command"]).startswith("gunicorn config.wsgi --bind 0.0.0.0:8000")
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    for name in APP_SERVICES:
        assert services[name]["build"] == "."


def test_every_long_running_service_has_a_healthcheck_and_waits_for_its_dependencies(compose):
    services = compose["services"]
    for name in ["postgres", "redis", "memcached", *APP_SERVICES]:
        check = services[name]["healthcheck"]
        assert check["test"] and check["interval"], name
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        for backing in ["postgres", "redis", "memcached"]:
            assert depends[backing]["condition"] == "service_healthy", (name, backing)
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"][-3:] == ["manage.py", "migrate", "--noinput"]


def test_data_lives_in_named_volumes(compose):
    services = compose["services"]
    volumes = set(compose["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redisdata:/data" in services["redis"]["volumes"]
    # The worker writes page images that web serves: one shared media volume.
    for name in ["web", "worker"]:
        assert "media:/data/media" in services[name]["volumes"]
    mounted = {v.split(":")[0] for s in services.values() for v in s.get("volumes", [])}
    assert mounted <= volumes


def test_nginx_writes_its_page_log_where_the_worker_and_web_read_it(compose):
    """pagecache.nginx_log: nginx's hits reach /staff/cache/ only through this shared directory."""
    services = compose["services"]
    directory = services["nginx"]["environment"]["NGINX_PAGE_LOG_DIR"]
    assert f"nginxlog:{directory}" in services["nginx"]["volumes"]
    for name in ["web", "worker"]:
        assert services[name]["environment"]["NGINX_PAGE_LOG_DIR"] == directory
        assert f"nginxlog:{directory}:ro" in services[name]["volumes"]
    rotate = next(c for c in services["nginx"]["configs"] if c["source"] == "nginx-rotate-page-log")
    assert rotate["target"].startswith("/docker-entrypoint.d/") and rotate["target"].endswith(".sh")
    assert (BASE_DIR / compose["configs"]["nginx-rotate-page-log"]["file"]).stat().st_mode & 0o111


def test_the_app_environment_is_one_the_settings_read(compose):
    settings_source = "\n".join(path.read_text() for path in (BASE_DIR / "config" / "settings").glob("*.py"))
    read = set(re.findall(r'env_(?:str|bool|int|list|secret)\("(\w+)"', settings_source))
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        for required in [
            "DATABASE_URL",
            "REDIS_URL",
            "MEMCACHED_SERVERS",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "MEDIA_ROOT",
        ]:
            assert required in env, (name, required)
        assert set(env) <= read, set(env) - read


def test_the_settings_resolve_the_compose_environment_to_the_compose_services(compose, tmp_path):
    services = compose["services"]
    raw = services["web"]["environment"]
    with pytest.raises(KeyError, match="SECRET_KEY"):
        {k: interpolate(v, {}) for k, v in raw.items()}  # no default secret in production
    env = {k: interpolate(v, {"SECRET_KEY": PRODUCTION_KEY}) for k, v in raw.items()}
    env["CROWD_DATA_DIR"] = str(tmp_path)  # the image's /data/state

    found = settings_in_subprocess(env, forbid_embedded=True)

    assert found["calls"] == []
    assert found["db"]["HOST"] == "postgres" and found["db"]["PORT"] == 5432
    assert found["db"]["NAME"] == services["postgres"]["environment"]["POSTGRES_DB"]
    assert found["db"]["USER"] == services["postgres"]["environment"]["POSTGRES_USER"]
    assert found["REDIS_URL"].startswith("redis://redis:6379/")
    assert found["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert found["MEMCACHED_SERVERS"] == ["memcached:11211"]
    assert found["MEDIA_ROOT"] == "/data/media"
    assert found["DEBUG"] is False
    # The web health check requests http://127.0.0.1:8000/: that host must be allowed.
    assert "127.0.0.1" in found["ALLOWED_HOSTS"]
    assert "127.0.0.1:8000" in " ".join(services["web"]["healthcheck"]["test"])


def test_the_dockerfile_installs_the_lock_file_and_serves_with_gunicorn():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1\d", dockerfile, re.M)
    assert "pip install --no-cache-dir -r /tmp/requirements.lock" in dockerfile
    assert "collectstatic" in dockerfile
    assert re.search(r'^CMD \["gunicorn", "config.wsgi"', dockerfile, re.M)
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
