"""Throwaway real servers for the fault and scale-out tests: a Redis Cluster of Debian's
``redis-server`` on loopback ports, extra memcached servers, a private PostgreSQL. Each starts in
a temporary directory and is always stopped by the context manager that started it; the shared
servers under .data/ are never touched."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from lib import services

REDIS_MISSING = (
    "Debian's redis-server (with redis-cli) is needed for the Redis Cluster test: "
    "apt-get install redis-server (make test does this when run as root)"
)


def short_tempdir(prefix: str) -> Path:
    """Unix socket paths must stay short: not under pytest's long tmp_path."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def free_ports(count: int) -> list[int]:
    """Ports free now (and, for a cluster, whose +10000 bus port is free too)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535 or port in ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        ports.append(port)
    return ports


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def debian_redis() -> tuple[str, str]:
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if not server or not cli or not server.startswith("/usr/"):
        pytest.fail(REDIS_MISSING, pytrace=False)
    return server, cli


@contextlib.contextmanager
def redis_cluster(nodes: int = 3):
    """A real Redis Cluster of ``nodes`` masters on loopback ports (no replicas); yields the
    node ports. Every node is stopped afterwards, whatever happened."""
    server, cli = debian_redis()
    workdir = short_tempdir("rc-")
    ports = free_ports(nodes)
    pidfiles = []
    try:
        for port in ports:
            node_dir = workdir / str(port)
            node_dir.mkdir()
            pidfile = node_dir / "redis.pid"
            pidfiles.append(pidfile)
            subprocess.run(
                [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", str(node_dir / "nodes.conf"), "--cluster-node-timeout", "2000",
                 "--dir", str(node_dir), "--save", "", "--appendonly", "no", "--daemonize", "yes",
                 "--pidfile", str(pidfile), "--logfile", str(node_dir / "redis.log")],
                check=True,
            )  # fmt: skip
        for port in ports:
            wait_for(lambda p=port: _cli(cli, p, "PING") == "PONG", f"redis node {port}")
        subprocess.run(
            [cli, "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        for port in ports:
            wait_for(
                lambda p=port: "cluster_state:ok" in _cli(cli, p, "CLUSTER", "INFO"),
                f"cluster state ok on {port}",
            )
        yield ports
    finally:
        for pidfile in pidfiles:
            services.stop_pidfile(pidfile)
        shutil.rmtree(workdir, ignore_errors=True)


def _cli(cli: str, port: int, *args: str) -> str:
    done = subprocess.run([cli, "-p", str(port), *args], capture_output=True, text=True, timeout=10)
    return done.stdout.strip()


class Memcached:
    """A private memcached on a unix socket that a test may stop and start again (empty)."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.sock = workdir / "m.sock"
        self.pidfile: Path | None = None

    @property
    def location(self) -> str:
        return f"unix:{self.sock}"

    def start(self) -> None:
        self.pidfile = services.start_memcached_server(self.sock, self.workdir)

    def stop(self) -> None:
        if self.pidfile is not None:
            services.stop_pidfile(self.pidfile)
            self.pidfile = None


@contextlib.contextmanager
def memcached_servers(count: int):
    """``count`` private memcached servers, stopped afterwards."""
    started = []
    try:
        for _ in range(count):
            server = Memcached(short_tempdir("mc-"))
            server.start()
            started.append(server)
        yield started
    finally:
        for server in started:
            server.stop()
            shutil.rmtree(server.workdir, ignore_errors=True)
