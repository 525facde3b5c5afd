"""Health and metrics through the production shape: a private stack (tests/faults/_stack.py) with
a real gunicorn of two workers, a real Celery worker with beat, and private PostgreSQL, Redis and
memcached that these tests stop. /readyz answers 200 "degraded" with Redis stopped and 503 with
Postgres stopped; /metrics sums both gunicorn workers and the Celery worker (multiprocess mode);
with LOG_FORMAT=json every request is a JSON line with its id, and the task it queued logs it."""

from __future__ import annotations

import json

import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.faults._servers import wait_for
from tests.faults._stack import CSRF_INPUT, PASSWORD, request, reviewing, running_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack():
    with running_stack(LOG_FORMAT="json", LOG_LEVEL="INFO") as stack:
        yield stack


def readyz(stack) -> tuple[int, dict]:
    reply = request(stack.port, "GET", "/readyz", timeout=10)
    assert reply.headers.get("Cache-Control") == "no-store"
    return reply.status, json.loads(reply.body)


def scrape(stack) -> dict[tuple[str, frozenset], float]:
    reply = request(stack.port, "GET", "/metrics")
    assert reply.status == 200, reply.body[:300]
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(reply.body)
        for sample in family.samples
    }


def total(samples, name: str, **labels) -> float:
    """The sum over the series of ``name`` whose labels include ``labels``."""
    wanted = {(k, str(v)) for k, v in labels.items()}
    return sum(v for (n, series), v in samples.items() if n == name and wanted <= series)


def test_readyz_is_ok_then_degraded_with_redis_stopped(stack):
    status, body = readyz(stack)
    assert (status, body["status"]) == (200, "ok"), body
    stack.stop_redis()
    try:
        status, body = readyz(stack)
        assert status == 200, body
        assert body["status"] == "degraded"
        assert body["checks"]["postgres"]["status"] == "ok"
        assert body["checks"]["redis"]["status"] == "down"
        assert body["checks"]["celery_broker"]["status"] == "down"  # the same Redis here
        assert body["checks"]["memcached"]["status"] == "ok"
        assert request(stack.port, "GET", "/metrics").status == 200  # scrape-time figures left out
    finally:
        stack.start_redis()
    wait_for(lambda: readyz(stack)[1]["status"] == "ok", "readiness ok again", timeout=30)


def test_counters_sum_both_gunicorn_workers_and_the_celery_worker(stack):
    workers = {child.pid for child in psutil.Process(stack.procs["web"].pid).children()}
    assert len(workers) == 2
    multiproc_dir = stack.workdir / "data" / "prometheus"
    before = scrape(stack)
    sent = 0

    def both_workers_counted() -> bool:
        nonlocal sent
        assert request(stack.port, "GET", "/assignments/").status == 200
        sent += 1
        return all(list(multiproc_dir.glob(f"counter_*-{pid}.db")) for pid in workers) and sent >= 10

    wait_for(both_workers_counted, "requests served by both workers", timeout=60)
    with reviewing(stack, count=2) as tally:
        wait_for(lambda: tally.submitted >= 6, "six reviews", timeout=60)
    after = scrape(stack)  # served by one worker, summing both
    listed = {"route": "assignments", "method": "GET", "status": 200}
    assert (
        total(after, "crowd_http_requests_total", **listed)
        - total(before, "crowd_http_requests_total", **listed)
        == sent
    )
    reviews = total(after, "crowd_reviews_total") - total(before, "crowd_reviews_total")
    assert reviews == tally.submitted
    posted = {"route": "review", "method": "POST", "status": 302}
    assert (
        total(after, "crowd_http_requests_total", **posted)
        - total(before, "crowd_http_requests_total", **posted)
        == tally.submitted
    )
    assert total(after, "crowd_picker_picks_total") > total(before, "crowd_picker_picks_total")
    assert ("crowd_celery_queue_length", frozenset({("queue", "celery")})) in after
    assert ("crowd_picker_live_reservations", frozenset()) in after

    # The Celery worker's beat runs the check-and-repair every 3 s: its outcomes, written by the
    # worker's pool process, are in the web workers' scrape.
    task = {"task": "denorm.tasks.check_and_repair_denormalisations", "outcome": "success"}
    wait_for(lambda: total(scrape(stack), "crowd_celery_tasks_total", **task) > total(after, "crowd_celery_tasks_total", **task),
             "a task outcome from the Celery worker", timeout=60)  # fmt: skip


def test_metrics_are_refused_to_an_outsider_behind_a_trusted_proxy(stack):
    """The stack trusts no proxy: a forged X-Forwarded-For from loopback does not matter, and the
    scrape is allowed (loopback); an outsider cannot be simulated over loopback without a proxy,
    which tests/lib/test_metrics.py covers in process."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    conn.request("GET", "/metrics", headers={"Host": "127.0.0.1", "X-Forwarded-For": "203.0.113.9"})
    assert conn.getresponse().status == 200
    conn.close()


def json_lines(stack, name: str) -> list[dict]:
    return [json.loads(line) for line in stack.logs[name].read_text().splitlines() if line.startswith("{")]


def test_a_request_logs_a_json_line_and_its_task_logs_the_same_id(stack):
    stack.manage(
        "shell",
        "-c",
        "from tests import factories; factories.make_user('chief', is_staff=True, is_superuser=True)",
    )
    cookies: dict[str, str] = {}

    def call(method, path, form=None):
        reply = request(stack.port, method, path, cookies=cookies, form=form)
        cookies.update({name: morsel.value for name, morsel in reply.cookies.items()})
        return reply

    page = call("GET", "/account/login/")
    token = CSRF_INPUT.search(page.body).group(1)
    assert (
        call(
            "POST",
            "/account/login/",
            {"username": "chief", "password": PASSWORD, "csrfmiddlewaretoken": token},
        ).status
        == 302
    )
    page = call("GET", "/staff/denormalisations/")
    token = CSRF_INPUT.search(page.body).group(1)
    queued = call("POST", "/staff/denormalisations/page-review-count/check/", {"csrfmiddlewaretoken": token})
    assert queued.status == 302
    request_id = queued.headers["X-Request-ID"]

    def task_logged() -> bool:
        return any(
            line["request_id"] == request_id and line["logger"] == "crowd.task"
            for line in json_lines(stack, "worker")
        )

    wait_for(task_logged, "the worker's line for the queued task", timeout=60)
    (line,) = [line for line in json_lines(stack, "web") if line["request_id"] == request_id]
    assert (line["logger"], line["route"], line["status"]) == (
        "crowd.request",
        "staff-denormalisation-check",
        302,
    )
    assert isinstance(line["reviewer_id"], int)
    # Everything gunicorn and Django wrote is JSON, one object per line.
    web_lines = [line for line in stack.logs["web"].read_text().splitlines() if line.strip()]
    not_json = [line for line in web_lines if not line.startswith("{")]
    assert not not_json, not_json[:5]
    assert len(web_lines) > 20


def test_a_graceful_reload_replaces_the_workers_without_a_failed_request(stack):
    """SIGHUP to the master (docs/operations.md, Zero-downtime deploys): new workers start, the
    old ones finish their requests and go; reviewers reviewing meanwhile see no error."""
    import os
    import signal

    master = psutil.Process(stack.procs["web"].pid)
    old_workers = {child.pid for child in master.children()}
    with reviewing(stack, count=3) as tally:
        wait_for(lambda: tally.submitted >= 3, "reviews before the reload", timeout=60)
        os.kill(master.pid, signal.SIGHUP)
        wait_for(
            lambda: (now := {c.pid for c in master.children()}) and not (now & old_workers) and len(now) == 2,
            "the workers replaced",
            timeout=60,
        )
        at_reload = tally.submitted
        wait_for(lambda: tally.submitted >= at_reload + 3, "reviews after the reload", timeout=60)
    assert tally.errors == [], tally.errors[:3]
    assert readyz(stack)[0] == 200


def test_readyz_is_503_with_postgres_stopped_and_healthz_still_200(stack):
    stack.stop_postgres()
    try:
        status, body = readyz(stack)
        assert status == 503, body
        assert body["status"] == "down"
        assert body["checks"]["postgres"]["status"] == "down"
        assert body["checks"]["redis"]["status"] == "ok"
        assert body["seconds"] < 5  # bounded by the 1 s deadline, not the pool's 10 s wait
        assert request(stack.port, "GET", "/healthz").status == 200
    finally:
        stack.start_postgres()
    wait_for(lambda: readyz(stack)[0] == 200, "readiness back after Postgres restarted", timeout=60)
