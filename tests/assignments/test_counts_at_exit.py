"""A process's picker counts reach Postgres when it stops normally, however recent they are:
a plain Python process, a gunicorn worker stopped gracefully and a Celery pool child."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from celery.signals import worker_process_shutdown
from django.conf import settings
from django.db import connection

from assignments import picker_stats
from assignments import tasks as _tasks  # noqa: F401  (a worker imports it: connects the receiver)
from assignments.models import PickerStat
from bench import harness
from config.celery import app as celery_app

# The subprocesses commit into the test database: rows must be visible here and removed after.
pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(settings.BASE_DIR)
COUNT_A_PICK = "tests.assignments.count_a_pick"  # the task of tests/assignments/_counting_celery.py

_COUNT_AND_EXIT = """
import sys
import django
django.setup()
from django.conf import settings
settings.DATABASES["default"]["NAME"] = sys.argv[1]  # the test database, before any connection
from assignments import picker_stats
picker_stats.count(picker_stats.POSTGRES, 3)
picker_stats.count(picker_stats.POOL)
print(sorted(picker_stats.pending().items()))  # a burst well within flush_seconds: all pending
"""


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(BASE_DIR), **extra}


def _stored() -> dict[str, int]:
    return dict(PickerStat.objects.values_list("source", "count"))


def test_a_process_that_counts_and_exits_stores_its_counts():
    proc = subprocess.run(
        [sys.executable, "-c", _COUNT_AND_EXIT, connection.settings_dict["NAME"]],
        env=_env(),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "[('pool', 1), ('postgres', 3)]"
    assert _stored() == {"postgres": 3, "pool": 1}


def _get(sock_path: str) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(sock_path)
        sock.sendall(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
        return b"".join(iter(lambda: sock.recv(4096), b""))


@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix="ops-gu-", dir="/tmp"))  # short unix socket path
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_a_gunicorn_worker_stopped_gracefully_stores_its_counts(workdir):
    """As `manage.py serve` runs it (threaded workers), stopped with SIGTERM as serve does."""
    sock_path = str(workdir / "g.sock")
    log_path = workdir / "gunicorn.log"
    server = harness.start_gunicorn_server(
        bind=f"unix:{sock_path}",
        env=_env(COUNTS_TEST_DATABASE=connection.settings_dict["NAME"]),
        log=log_path,
        app="tests.assignments._counting_wsgi",
        workers=1,
        options=["--threads", "4", "--graceful-timeout", "5"],
    )
    try:

        def answers() -> bool:  # the worker has booted and counts
            try:
                return _get(sock_path).endswith(b"counted")
            except OSError:
                return False

        harness.wait_until(answers, server, "gunicorn", log_path, timeout=60)
        assert _get(sock_path).endswith(b"counted")
        assert _stored() == {}  # both picks are still pending in the worker
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
    finally:
        harness.stop(server, signal.SIGKILL)
    assert _stored() == {"redis": 2}, log_path.read_text()[-3000:]


@pytest.mark.slow
def test_a_celery_pool_child_stores_its_counts_when_it_stops(settings, tmp_path):
    """A real worker (prefork pool, one child, the real Redis broker, the test database) runs a
    task that counts a pick, then is stopped gracefully (SIGTERM, a warm shutdown). billiard ends
    its pool child with ``os._exit``, which skips atexit: the count reaches Postgres only through
    the ``worker_process_shutdown`` receiver in ``assignments.tasks``."""
    db = connection.settings_dict
    env = {k: v for k, v in _env().items() if k not in {"CROWD_TESTING", "TEST_REDIS_DB"}}
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{quote(db['HOST'], safe='')}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        MEMCACHED_SERVERS=",".join(settings.MEMCACHED_SERVERS),
        DB_POOL="0",
    )
    queue = f"counts-at-exit-{os.getpid()}"  # its own queue: no other task reaches this worker
    marker = tmp_path / "counted"
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tests.assignments._counting_celery", "worker",
             "--pool", "prefork", "--concurrency", "1", "-Q", queue, "-n", f"{queue}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
            env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        celery_app.send_task(COUNT_A_PICK, args=[str(marker)], queue=queue)
        deadline = time.monotonic() + 120
        while not marker.exists() or not marker.read_text():  # the worker boots, then runs it
            assert worker.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.05)
        child_pid, pending = marker.read_text().split(" ", 1)
        assert int(child_pid) != worker.pid  # counted in the pool child, not the main process
        assert pending == "[('redis', 1)]"
        assert _stored() == {}  # still pending in the child
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0, log_path.read_text()[-3000:]
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    assert _stored() == {"redis": 1}, log_path.read_text()[-3000:]


def test_the_worker_process_shutdown_receiver_flushes_this_process(monkeypatch):
    """The receiver itself, in this process (the real pool child is tested above)."""
    # No flush on count(): more than flush_seconds have often passed since this process's last.
    monkeypatch.setattr(picker_stats.COUNTER, "flush_seconds", 10**9)
    picker_stats.reset_pending()
    picker_stats.count(picker_stats.POOL_UNAVAILABLE, 2)
    assert _stored() == {}
    worker_process_shutdown.send(sender="celery@test", pid=os.getpid(), exitcode=0)
    assert _stored() == {"pool-unavailable": 2}
    assert picker_stats.pending() == {}
