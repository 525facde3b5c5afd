"""Request logs: one JSON object per request with the request id (echoed in X-Request-ID, taken
from a trusted proxy only), the reviewer id and nothing more personal; the id travels in the
Celery message a request publishes and is on the records of the task that runs it. Through a
real gunicorn and Celery worker: tests/lib/test_ops_through_gunicorn.py."""

from __future__ import annotations

import base64
import io
import json
import logging

import pytest
from django.test import Client

from lib import logs
from lib.redis_client import get_redis
from tests import factories


@pytest.fixture
def json_lines():
    """The records of crowd.* formatted as production formats them (LOG_FORMAT=json)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.RequestIdFilter())
    logger = logging.getLogger("crowd")
    request_logger = logging.getLogger("crowd.request")
    old_levels = (logger.level, request_logger.level)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    request_logger.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_levels[0])
        request_logger.setLevel(old_levels[1])


def request_lines(lines):
    return [line for line in lines if line["logger"] == "crowd.request"]


@pytest.mark.django_db
def test_one_json_line_per_request_with_the_id_it_echoes(json_lines):
    response = Client().get("/assignments/")
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    (line,) = request_lines(json_lines())
    assert line["request_id"] == request_id
    assert (line["method"], line["route"], line["status"]) == ("GET", "assignments", 200)
    assert line["level"] == "INFO" and line["time"].endswith("+00:00")
    assert "reviewer_id" not in line  # nobody signed in, and the user was never loaded


@pytest.mark.django_db
def test_the_reviewer_id_and_nothing_else_personal(json_lines, reviewer):
    client = Client(REMOTE_ADDR="198.51.100.23")
    client.force_login(reviewer)
    client.get("/account/password-reset/?email=someone%40example.org")
    client.get(f"/users/{reviewer.username}/")
    lines = request_lines(json_lines())
    assert [line["reviewer_id"] for line in lines] == [reviewer.pk, reviewer.pk]
    text = json.dumps(lines)
    for personal in ("198.51.100.23", "someone", reviewer.username, "/users/"):
        assert personal not in text


@pytest.mark.django_db
def test_x_request_id_is_taken_from_a_trusted_proxy_only(settings, json_lines):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    from_proxy = Client(REMOTE_ADDR="10.0.0.1").get("/assignments/", HTTP_X_REQUEST_ID="lb-4f2a.7")
    from_client = Client(REMOTE_ADDR="203.0.113.5").get("/assignments/", HTTP_X_REQUEST_ID="planted-id")
    garbage = Client(REMOTE_ADDR="10.0.0.1").get("/assignments/", HTTP_X_REQUEST_ID="a b\nforged line")
    assert from_proxy["X-Request-ID"] == "lb-4f2a.7"
    assert from_client["X-Request-ID"] != "planted-id"
    assert " " not in garbage["X-Request-ID"] and "forged" not in garbage["X-Request-ID"]
    assert [line["request_id"] for line in request_lines(json_lines())] == [
        "lb-4f2a.7", from_client["X-Request-ID"], garbage["X-Request-ID"],
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_task_queued_by_a_request_carries_its_id_into_the_task_records(json_lines):
    editor = factories.make_user("chief", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(editor)
    response = client.post("/staff/denormalisations/page-review-count/check/")
    assert response.status_code == 302
    request_id = response["X-Request-ID"]
    # The message waiting in the (test) broker carries the id in its headers.
    (raw,) = get_redis().lrange("celery", 0, -1)
    message = json.loads(raw)
    assert message["headers"]["crowd_request_id"] == request_id
    assert message["headers"]["task"] == "denorm.tasks.check_denormalisation"
    # The worker side: the task run from that message's headers logs with the request's id.
    import denorm.tasks  # noqa: F401  (registers the task)
    from config.celery import app

    task = app.tasks[message["headers"]["task"]]
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    task.apply(args=args, kwargs=kwargs, headers={"crowd_request_id": request_id})
    task_lines = [line for line in json_lines() if line["logger"] == "crowd.task"]
    assert task_lines and task_lines[0]["request_id"] == request_id
    assert task_lines[0]["task"] == "denorm.tasks.check_denormalisation"
    assert logs.current_request_id() is None  # cleared when the task ended


def test_text_and_json_are_the_only_formats():
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_FORMAT": "yaml"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0 and "LOG_FORMAT must be text or json" in done.stderr


def test_sentry_is_off_without_a_dsn_and_on_with_one():
    import os
    import subprocess
    import sys

    probe = (
        "import django; django.setup(); import sentry_sdk; c = sentry_sdk.get_client(); "
        "print(c.is_active(), sorted(c.integrations) if c.is_active() else [])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("SENTRY_DSN", None)
    off = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert off.stdout.strip() == "False []", off.stderr[-2000:]
    env["SENTRY_DSN"] = "https://public@127.0.0.1:9/1"  # nothing is sent unless an error happens
    on = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert on.stdout.startswith("True"), on.stderr[-2000:]
    assert "'django'" in on.stdout and "'celery'" in on.stdout


def test_frequent_beat_tasks_start_at_debug_and_the_rest_at_info(caplog, settings):
    """The every-5-seconds confidence refresh would bury the log in 'started' lines: beat tasks
    run more often than every HOUSEKEEPING_SECONDS start at DEBUG; a daily one, and any task not
    on the schedule (an import, a check an editor asked for), at INFO."""
    import consensus.tasks  # noqa: F401  (registers the tasks)
    import denorm.tasks  # noqa: F401
    import lib.tasks  # noqa: F401
    from config.celery import app

    assert (
        settings.CELERY_BEAT_SCHEDULE["consensus-refresh-reviewed-pages"]["schedule"]
        < logs.HOUSEKEEPING_SECONDS
    )
    caplog.set_level(logging.DEBUG, logger="crowd.task")
    for name in (
        "consensus.tasks.refresh_reviewed_pages",
        "lib.tasks.clear_expired_sessions",
        "denorm.tasks.check_denormalisation",
    ):
        logs._task_starting(task=app.tasks[name], task_id=f"id-{name}")
        logs._task_finished(task_id=f"id-{name}")
    levels = {r.task: r.levelno for r in caplog.records if r.name == "crowd.task"}
    assert levels == {
        "consensus.tasks.refresh_reviewed_pages": logging.DEBUG,
        "lib.tasks.clear_expired_sessions": logging.INFO,
        "denorm.tasks.check_denormalisation": logging.INFO,
    }
