"""Production settings: with the compose environment, Django's deployment checks pass at
WARNING level; the app refuses to start without a real SECRET_KEY; secrets may come from files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.config._support import PRODUCTION_KEY, SETTINGS_VARIABLES, interpolate, settings_in_subprocess

BASE_DIR = Path(__file__).resolve().parents[2]


def compose_env(tmp_path, secret: str | None = PRODUCTION_KEY) -> dict[str, str]:
    raw = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())["services"]["web"]["environment"]
    env = {k: interpolate(v, {"SECRET_KEY": "x"}) for k, v in raw.items()}
    env.pop("SECRET_KEY")
    if secret is not None:
        env["SECRET_KEY"] = secret
    env["CROWD_DATA_DIR"] = str(tmp_path)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser tests' fixtures in this process, never in production.
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in SETTINGS_VARIABLES and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env=clean,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_check_deploy_passes_at_warning_level_with_the_compose_environment(tmp_path):
    proc = manage(compose_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "no issues" in proc.stdout


def test_production_cookies_are_secure_http_only_lax_and_expire_in_weeks(tmp_path):
    """Sessions used to last a year, sent over plain HTTP too."""
    cookies = settings_in_subprocess(compose_env(tmp_path), forbid_embedded=True)["cookies"]
    assert cookies["SESSION_COOKIE_SECURE"] is True
    assert cookies["CSRF_COOKIE_SECURE"] is True
    assert cookies["SESSION_COOKIE_HTTPONLY"] is True
    assert cookies["SESSION_COOKIE_SAMESITE"] == "Lax"
    # Weeks, renewed while used (lib.middleware.SessionRenewalMiddleware), not saved per request.
    assert 14 * 86400 <= cookies["SESSION_COOKIE_AGE"] <= 60 * 86400
    assert cookies["SESSION_SAVE_EVERY_REQUEST"] is False


def test_the_session_age_is_an_environment_setting_that_refuses_nonsense(tmp_path):
    env = compose_env(tmp_path)
    env["SESSION_COOKIE_AGE"] = str(7 * 86400)
    assert settings_in_subprocess(env, forbid_embedded=True)["cookies"]["SESSION_COOKIE_AGE"] == 7 * 86400
    env["SESSION_COOKIE_AGE"] = "a year"
    with pytest.raises(AssertionError, match="SESSION_COOKIE_AGE"):
        settings_in_subprocess(env, forbid_embedded=True)


def test_check_deploy_warns_without_the_https_settings(tmp_path):
    """The check above can fail: the same environment minus the HTTPS switches warns."""
    env = compose_env(tmp_path)
    env.update(SECURE_SSL_REDIRECT="0", SECURE_COOKIES="0", SECURE_HSTS_SECONDS="0", SECURE_HSTS_PRELOAD="0")
    proc = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert proc.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    "secret",
    [None, "", "short-key", "django-insecure-" + "a1b2c3" * 10, "a" * 60, "change-me"],
    ids=["missing", "empty", "short", "django-insecure", "one-character", "development"],
)
def test_production_refuses_to_start_without_a_real_secret_key(tmp_path, secret):
    with pytest.raises(AssertionError, match="SECRET_KEY"):
        settings_in_subprocess(compose_env(tmp_path, secret), forbid_embedded=True)


def test_secrets_can_come_from_files(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(PRODUCTION_KEY + "\n")
    db_file = tmp_path / "database_url"
    db_file.write_text("postgres://crowd:from-a-file@db.invalid:5432/crowd\n")
    env = compose_env(tmp_path, secret=None)
    env.pop("DATABASE_URL")
    env.update(SECRET_KEY_FILE=str(key_file), DATABASE_URL_FILE=str(db_file))

    found = settings_in_subprocess(env, forbid_embedded=True)

    assert found["SECRET_KEY"] == PRODUCTION_KEY
    assert found["db"]["PASSWORD"] == "from-a-file"
    assert found["db"]["HOST"] == "db.invalid"


def test_an_unreadable_secret_file_stops_start_up(tmp_path):
    env = compose_env(tmp_path, secret=None)
    env["SECRET_KEY_FILE"] = str(tmp_path / "missing")
    with pytest.raises(AssertionError, match="SECRET_KEY_FILE"):
        settings_in_subprocess(env, forbid_embedded=True)


def test_development_keeps_its_generated_key_and_plain_http(tmp_path):
    found = settings_in_subprocess({"CROWD_DATA_DIR": str(tmp_path)}, forbid_embedded=True)
    assert found["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()
    assert found["DEBUG"] is False
