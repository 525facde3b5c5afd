"""The process harness: gunicorn as ``make run`` starts it and Debian's nginx with
``deploy/nginx.conf.template`` on loopback ports, each waited for and stopped (killed if need be).
Used by the benchmarks and by the tests that need real servers (the fault tests' private stack,
the page cache's nginx front, connections, counts at exit, the serve command line): one way to
start a server, wait for it and stop it.

A server runs in a session of its own (:func:`spawn`), so that stopping it can end its whole
process group when it does not stop by itself (:func:`stop_all`).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from bench.load_config import RAISED_LIMIT

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(
    args: Sequence[str], *, log: Path, env: Mapping[str, str], cwd: Path = BASE_DIR
) -> subprocess.Popen:
    """A server process in a session of its own (its group can be killed as a whole), its
    output and errors written to ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            list(args), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def start_gunicorn_server(
    *,
    bind: str,
    env: Mapping[str, str],
    log: Path,
    app: str = "config.wsgi",
    workers: int | None = None,
    options: Sequence[str] = (),
) -> subprocess.Popen:
    """gunicorn as ``manage.py serve`` runs it (``gunicorn_command``: gunicorn.conf.py, no control
    socket) on ``bind`` (``127.0.0.1:<port>`` or ``unix:<path>``), ``options`` overriding the
    configuration's; started with :func:`spawn`, not waited for (:func:`wait_for_port`,
    :func:`wait_until`)."""
    from lib.management.commands.serve import gunicorn_command

    command = gunicorn_command(Path(sys.executable).parent, bind=bind, workers=workers, app=app)
    return spawn([*command, *options], log=log, env=env)


def wait_until(
    ready: Callable[[], bool],
    process: subprocess.Popen,
    what: str,
    log: Path,
    *,
    timeout: float = 60.0,
    interval: float = 0.05,
) -> None:
    """Until ``ready()`` is true; RuntimeError with the log's tail when ``process`` exits first
    or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{what} did not start:\n{tail}") from None
        time.sleep(interval)


def _answers(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return True
        except OSError:
            return False

    return ready


def _wait_for(port: int, process: subprocess.Popen, what: str, log: Path, path: str = "/") -> None:
    """Until ``path`` answers on ``port`` (HTTP, any status below 400)."""
    wait_until(_answers(f"http://127.0.0.1:{port}{path}"), process, what, log, interval=0.2)


def load_environment(base: dict[str, str]) -> dict[str, str]:
    """The environment of the bench's gunicorn: the bench's servers, rate limits raised."""
    env = {**base, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("CROWD_TESTING", None)
    for name in (
        "RATE_LIMIT_SESSION_PER_MINUTE",
        "RATE_LIMIT_ADDRESS_PER_MINUTE",
        "RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR",
        "RATE_LIMIT_API_ANON_PER_MINUTE",
        "RATE_LIMIT_NEXT_PER_ADDRESS_PER_MINUTE",
        # The bench's browsers stand for people at as many addresses, all on loopback here.
        "PICKER_MAX_HOLDS_PER_ADDRESS",
    ):
        env[name] = RAISED_LIMIT
    return env


def start_gunicorn(workdir: Path, port: int) -> subprocess.Popen:
    """The benchmarks' gunicorn (:func:`load_environment`), once it answers on ``port``."""
    log = workdir / "gunicorn.log"
    env = load_environment(dict(os.environ))
    env["GUNICORN_ACCESS_LOG"] = str(workdir / "access.log")  # logged as in production, not to the terminal
    process = start_gunicorn_server(bind=f"127.0.0.1:{port}", env=env, log=log)
    _wait_for(port, process, "gunicorn", log)
    return process


def nginx_binary() -> str | None:
    """Debian's nginx (``apt-get install nginx``), or None when it is not installed."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


NGINX_MISSING = "nginx is not installed: install it with `sudo apt-get install nginx` (or `make system-deps`)"


def start_nginx_front(
    root: Path,
    *,
    port: int,
    upstream_port: int,
    media_root: Path,
    page_log_dir: Path,
    worker_processes: str = "1",
) -> subprocess.Popen:
    """nginx with ``deploy/nginx.conf.template`` (``pagecache.nginx``) on ``port`` in front of
    Django on ``upstream_port``, its files under ``root``; returns once it answers on its port.
    Stop it with :func:`stop` (SIGQUIT: nginx's graceful stop). The benchmarks and the tests of
    the page cache's front start it here, so both run the production configuration."""
    from django.conf import settings

    from pagecache import nginx

    binary = nginx_binary()
    if binary is None:
        raise RuntimeError(NGINX_MISSING)
    conf = nginx.standalone_config(
        nginx.render(
            {
                "NGINX_DJANGO": f"127.0.0.1:{upstream_port}",
                "NGINX_MEMCACHED": settings.MEMCACHED_SERVERS[0],
                "NGINX_LISTEN": f"127.0.0.1:{port}",
                "NGINX_KEY_PREFIX": nginx.key_prefix(),
                "NGINX_STATIC_ROOT": str(Path(settings.BASE_DIR) / "static"),
                "NGINX_MEDIA_ROOT": str(media_root),
                "NGINX_PAGE_LOG_DIR": str(page_log_dir),  # the page log, written as in production
            }
        ),
        workdir=root,
        worker_processes=worker_processes,
    )
    (root / "nginx.conf").write_text(conf)
    process = subprocess.Popen(
        [binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=(root / "stderr.log").open("wb"),
        start_new_session=True,
    )
    wait_for_port(port, process, "nginx", root / "error.log")
    return process


def wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path, timeout: float = 15.0) -> None:
    """Until something accepts connections on ``port``; RuntimeError with the log's tail when
    ``process`` exits first or ``timeout`` passes."""

    def accepts() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False

    wait_until(accepts, process, what, log, timeout=timeout, interval=0.1)


def start_nginx(workdir: Path, port: int, upstream_port: int) -> subprocess.Popen | None:
    """The load benchmark's front (None without nginx: the readers then skip it)."""
    if nginx_binary() is None:
        return None
    root = workdir / "nginx"
    root.mkdir()
    (root / "media").mkdir()
    process = start_nginx_front(
        root,
        port=port,
        upstream_port=upstream_port,
        media_root=root / "media",
        page_log_dir=root,
        worker_processes="auto",  # as the nginx image runs: one per core
    )
    _wait_for(port, process, "nginx", root / "error.log", path="/static/css/site.css")
    return process


def write_page_image(path: Path) -> None:
    """A page image of a scan's size (1400 x 1980 JPEG, about 280 KB: grain compresses as
    poorly as paper does) where nginx serves media from."""

    from PIL import Image, ImageFilter

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.effect_noise((1400, 1980), 40).filter(ImageFilter.GaussianBlur(1.2))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=60)
    path.write_bytes(buffer.getvalue())


def stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop one server (see :func:`stop_all`)."""
    stop_all([process], sig, timeout=timeout)


def stop_all(
    processes: Iterable[subprocess.Popen | None], sig: int = signal.SIGTERM, timeout: float = 20
) -> None:
    """Send ``sig`` to every server still running (gunicorn's, nginx's, Celery's master ends its
    own children), then wait for each; one still running after ``timeout`` seconds is killed with
    its whole process group (the session :func:`spawn` gave it), so no child outlives it."""
    running = [p for p in processes if p is not None and p.poll() is None]
    for process in running:
        process.send_signal(sig)
    for process in running:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
