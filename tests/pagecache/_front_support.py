"""The nginx front in front of the live server, for the page-cache and takedown tests (a fixture
registered in tests/conftest.py: test modules do not import each other)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pagecache import nginx


@pytest.fixture
def front(live_server, media_root, settings):
    """nginx on a free loopback port in front of live_server; stopped (killed if need be) after."""
    settings.PAGE_CACHE_SOFT_SECONDS = 5  # nginx's copies live this long
    binary = _nginx_binary()
    workdir = Path(tempfile.mkdtemp(prefix="crowd-ngx-", dir="/tmp"))
    port = _free_port()
    upstream = urlsplit(live_server.url)
    server_block = nginx.render(
        {
            "NGINX_DJANGO": f"127.0.0.1:{upstream.port}",
            "NGINX_MEMCACHED": settings.MEMCACHED_SERVERS[0],
            "NGINX_LISTEN": f"127.0.0.1:{port}",
            "NGINX_KEY_PREFIX": nginx.key_prefix(),
            "NGINX_STATIC_ROOT": str(Path(settings.BASE_DIR) / "static"),
            "NGINX_MEDIA_ROOT": str(media_root),
            "NGINX_PAGE_LOG_DIR": str(workdir),
        }
    )
    settings.NGINX_PAGE_LOG_DIR = str(workdir)
    (workdir / "nginx.conf").write_text(nginx.standalone_config(server_block, workdir=workdir))
    process = subprocess.Popen(
        [binary, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-e", str(workdir / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode() if process.poll() is not None else "timed out"
                    log = (workdir / "error.log").read_text() if (workdir / "error.log").exists() else ""
                    pytest.fail(f"nginx did not start: {error} {log}")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)


def _get(url: str, *, cookie: str | None = None, data: bytes | None = None):
    request = urllib.request.Request(url, data=data, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


NGINX_MISSING = "nginx is not installed: install it with `sudo apt-get install nginx` (or `make system-deps`)"


def _nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found is None:
        pytest.fail(NGINX_MISSING, pytrace=False)
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
