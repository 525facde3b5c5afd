"""``manage.py serve`` runs gunicorn without the per-user control socket that a second checkout's
serve would take over (~/.gunicorn/gunicorn.ctl or $XDG_RUNTIME_DIR/gunicorn.ctl)."""

import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import pytest

from bench import harness
from lib.management.commands.serve import gunicorn_command

BIN_DIR = Path(sys.executable).parent


def test_the_gunicorn_command_line_disables_the_control_socket():
    command = gunicorn_command(BIN_DIR, bind="127.0.0.1:8000", workers=3)
    assert command[:2] == [str(BIN_DIR / "gunicorn"), "config.wsgi"]
    assert command[command.index("--bind") + 1] == "127.0.0.1:8000"
    assert command[command.index("--workers") + 1] == "3"
    assert "--no-control-socket" in command
    assert not any(arg.startswith("--control-socket") for arg in command)


@pytest.fixture
def home():
    path = Path(tempfile.mkdtemp(prefix="ops-serve-", dir="/tmp"))  # short unix socket paths
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_gunicorn_started_with_that_command_line_creates_no_control_socket(home):
    """The installed gunicorn accepts the option, and the master says it skipped the socket."""
    log_path = home / "gunicorn.log"
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env.update(HOME=str(home), DJANGO_SETTINGS_MODULE="config.settings")
    # bench.harness starts it with gunicorn_command, as serve does.
    server = harness.start_gunicorn_server(
        bind=f"unix:{home / 'g.sock'}", env=env, log=log_path, workers=1, options=["--log-level", "debug"]
    )
    try:
        # The master decides about the control socket once its workers are spawned.
        harness.wait_until(lambda: "Control socket" in log_path.read_text(), server, "gunicorn", log_path)
        harness.stop(server, timeout=30)
    finally:
        harness.stop(server, signal.SIGKILL)
    output = log_path.read_text()
    assert "Control socket disabled" in output, output[-3000:]
    assert not (home / ".gunicorn").exists()
