"""The nginx front in front of the live server, for the page-cache and takedown tests (a fixture
registered in tests/conftest.py: test modules do not import each other)."""

from __future__ import annotations

import shutil
import signal
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench import harness


@pytest.fixture
def front(live_server, media_root, settings):
    """nginx on a free loopback port in front of live_server (``bench.harness``: the production
    configuration, as the benchmarks run it); stopped (killed if need be) after."""
    settings.PAGE_CACHE_SOFT_SECONDS = 5  # nginx's copies live this long
    if harness.nginx_binary() is None:
        pytest.fail(harness.NGINX_MISSING, pytrace=False)
    workdir = Path(tempfile.mkdtemp(prefix="crowd-ngx-", dir="/tmp"))
    port = harness.free_port()
    settings.NGINX_PAGE_LOG_DIR = str(workdir)
    try:
        process = harness.start_nginx_front(
            workdir,
            port=port,
            upstream_port=urlsplit(live_server.url).port,
            media_root=media_root,
            page_log_dir=workdir,
        )
    except RuntimeError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.fail(str(exc))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        harness.stop(process, signal.SIGQUIT)
        shutil.rmtree(workdir, ignore_errors=True)


def _get(url: str, *, cookie: str | None = None, data: bytes | None = None):
    request = urllib.request.Request(url, data=data, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
