"""``manage.py services status`` shows each embedded server's pid (from its pidfile) and whether
it answers a request on its socket."""

import os
import shutil
import subprocess
import tempfile
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from lib import services


def status_output() -> str:
    out = StringIO()
    call_command("services", "status", stdout=out)
    return out.getvalue()


def line_of(output: str, name: str) -> str:
    [line] = [line for line in output.splitlines() if line.split()[:1] == [name]]
    return line


@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL")),
    reason="the embedded servers are used only without DATABASE_URL / REDIS_URL",
)
def test_it_shows_the_pid_of_each_running_embedded_server():
    """The checkout's own servers, running for this test session: only read, never stopped."""
    output = status_output()
    pg_pid = (settings.DATA_DIR / "pg" / "postmaster.pid").read_text().split()[0]
    redis_pid = (settings.DATA_DIR / "redis" / "redis.pid").read_text().split()[0]
    assert line_of(output, "postgres").split()[1:4] == ["pid", pg_pid, "answers"]
    assert line_of(output, "redis").split()[1:4] == ["pid", redis_pid, "answers"]


@pytest.fixture
def empty_data_dir(settings):
    base = Path(tempfile.mkdtemp(prefix="ops-st-", dir="/tmp"))  # short: sockets live under it
    settings.DATA_DIR = base
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_it_tells_a_missing_pidfile_a_dead_pid_and_a_process_that_does_not_answer(empty_data_dir):
    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: its pid names no process
    (empty_data_dir / "redis").mkdir()
    (empty_data_dir / "redis" / "redis.pid").write_text(f"{gone.pid}\n")
    # A live process (this one) whose socket is missing: running, but not answering.
    (empty_data_dir / "memcached").mkdir()
    (empty_data_dir / "memcached" / "memcached.pid").write_text(f"{os.getpid()}\n")

    found = {s.name: s for s in services.status(empty_data_dir)}
    assert (found["postgres"].pid, found["postgres"].running, found["postgres"].answers) == (
        None,
        False,
        False,
    )
    assert (found["redis"].pid, found["redis"].running, found["redis"].answers) == (gone.pid, False, False)
    assert (found["memcached"].pid, found["memcached"].running) == (os.getpid(), True)
    assert not found["memcached"].answers

    output = status_output()
    assert "no pidfile" in line_of(output, "postgres")
    assert f"pid {gone.pid} (no such process)" in line_of(output, "redis")
    memcached = line_of(output, "memcached")
    assert f"pid {os.getpid()} " in memcached and "does not answer" in memcached
