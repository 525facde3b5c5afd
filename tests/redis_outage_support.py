"""A stopped Redis for the outage tests of several apps (fixtures registered in tests/conftest.py:
test modules do not import each other)."""

import shutil
import tempfile
from pathlib import Path

import pytest
import redis

from lib import log_throttle, services
from lib.redis_client import reset_redis


@pytest.fixture(scope="module")
def stopped_redis_url():
    """A throwaway redis-server, started and then stopped (never the shared one under .data/).
    Once per module: a redis-server takes a second or two to exit."""
    workdir = Path(tempfile.mkdtemp(prefix="ops-redis-", dir="/tmp"))  # short socket path
    sock = workdir / "r.sock"
    pidfile = services.start_redis_server(sock, workdir, persist=False)
    assert redis.Redis(unix_socket_path=str(sock)).ping()  # it was up...
    services.stop_pidfile(pidfile)  # ...and now it is down
    yield f"unix://{sock}"
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def stopped_redis(settings, stopped_redis_url):
    """The code under test points at the Redis that has gone away."""
    settings.REDIS_URL = stopped_redis_url
    reset_redis()
    log_throttle.reset()
    yield
    reset_redis()
    log_throttle.reset()
