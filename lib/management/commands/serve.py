"""Serve the site with gunicorn beside a Celery worker and beat; Ctrl-C stops them all."""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Never

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from lib import services
from lib.actions import ensure_editor_account
from lib.metrics import wipe_multiprocess_dir


def _interrupt(signum: int, frame: object) -> Never:
    raise KeyboardInterrupt


def gunicorn_command(
    bin_dir: Path, *, bind: str, workers: int | None = None, app: str = "config.wsgi"
) -> list[str]:
    """The gunicorn command line of ``serve`` (and of ``make bench``, and the tests' servers:
    ``bench.harness``): gunicorn.conf.py at the top of the checkout holds the production
    settings; ``workers`` overrides its worker count; ``app`` is the WSGI module to serve."""
    return [
        str(bin_dir / "gunicorn"),
        app,
        "--bind",
        bind,
        "--config",
        str(settings.BASE_DIR / "gunicorn.conf.py"),
        *(["--workers", str(workers)] if workers else []),
        # gunicorn >= 25.1 otherwise listens on a control socket at one path per user
        # (~/.gunicorn/gunicorn.ctl or $XDG_RUNTIME_DIR/gunicorn.ctl): a second checkout's serve
        # takes it over, and whichever stops first removes it. Nothing here uses gunicornc.
        "--no-control-socket",
    ]


class Command(BaseCommand):
    help = "Serve the site (gunicorn) with a Celery worker and beat, as `make run` does."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=None, help="default: gunicorn.conf.py")

    def handle(self, *args: Any, host: str, port: int, workers: int | None, **options: Any) -> None:
        password = self._ensure_editor()
        wipe_multiprocess_dir()  # the previous run's counters would be summed into this one's
        bin_dir = Path(sys.executable).parent
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SERVE_MEDIA": "1"}
        children = [
            subprocess.Popen(
                [
                    str(bin_dir / "celery"),
                    "-A",
                    "config",
                    "worker",
                    "--beat",
                    # the default queue and OCR's (search app: one scanned page per task)
                    "--queues",
                    "celery,ocr",
                    "--loglevel",
                    "warning",
                    "--concurrency",
                    "2",
                    "--schedule",
                    str(settings.DATA_DIR / "celerybeat-schedule"),
                ],
                env=env,
                start_new_session=True,  # its own process group: stopped (and killed) as a whole
            ),
            subprocess.Popen(
                gunicorn_command(bin_dir, bind=f"{host}:{port}", workers=workers),
                env=env,
                start_new_session=True,  # its own process group: stopped (and killed) as a whole
            ),
        ]
        self.stdout.write(self.style.SUCCESS(f"\nCrowd review is at http://{host}:{port}/"))
        self.stdout.write(f"Editor login at http://{host}:{port}/admin/  user: editor  password: {password}")
        self.stdout.write("Ctrl-C stops the site, the worker, beat and the embedded services.\n")
        # Explicit handlers: a shell script's background job starts with SIGINT ignored, and a
        # plain `kill` sends SIGTERM; either way, stop everything we started.
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(20)
                except subprocess.TimeoutExpired:
                    # Kill the whole group, so no worker outlives a master that hung.
                    os.killpg(child.pid, signal.SIGKILL)
            if not os.environ.get("DATABASE_URL"):
                services.stop_all(settings.DATA_DIR)

    def _ensure_editor(self) -> str:
        """A staff superuser for the newsroom; its password is kept in .data/editor-password."""
        path = settings.DATA_DIR / "editor-password"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(12))
            path.chmod(0o600)
        password = path.read_text().strip()
        ensure_editor_account(username="editor", password=password)
        return password
