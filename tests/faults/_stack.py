"""A whole private production-shaped stack for the fault tests: its own PostgreSQL (pgserver in a
temporary directory, so it can be restarted), Redis and memcached, a real gunicorn on a loopback
port and a real Celery worker with beat, all started from a clean environment (no test
settings), and simulated reviewers: threads speaking HTTP to gunicorn, each with its own cookies.

Everything is stopped by :func:`running_stack`, whatever happens; the shared servers under
.data/ are never touched."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg

from bench import harness
from lib import services
from tests.faults._servers import Memcached, free_ports, short_tempdir

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-123456!"  # tests.factories.make_user's
SLUG = "load"

SEED = f"""
from tests import factories
from assignments.models import Assignment
factories.make_tag("receipt", key="r", order=1)
factories.make_tag("claim-form", key="c", order=2)
docs = [factories.make_document(pages=50) for _ in range(6)]
factories.make_assignment(documents=docs, threshold=3, slug="{SLUG}", featured=Assignment.Featured.MAIN)
for i in range(12):
    factories.make_user(f"rev{{i}}")
"""


class Stack:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.pgdata = workdir / "pg"
        self.redis_sock = workdir / "r.sock"
        self.redis_pidfile: Path | None = None
        self.memcached = Memcached(workdir)
        self.port = free_ports(1)[0]
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.pg_socket_dir: Path | None = None
        self.env: dict[str, str] = {}

    # --- servers ------------------------------------------------------------------------------

    def start_postgres(self) -> None:
        """Start the private PostgreSQL: the first time through pgserver (initdb), after a stop
        with pg_ctl and the same options (pgserver remembers its servers per process)."""
        if self.pg_socket_dir is None:
            import pgserver

            server = pgserver.get_server(self.pgdata, cleanup_mode=None)
            self.pg_socket_dir = Path(server.get_postmaster_info().socket_dir)
        else:
            self._pg_ctl(
                "start",
                "-o",
                '-h ""',
                "-o",
                f"-k {self.pg_socket_dir}",
                "-l",
                str(self.pgdata / "restart.log"),
            )

    def _pg_ctl(self, *args: str) -> None:
        import pgserver._commands as pg

        pg.pg_ctl(["-w", *args], pgdata=self.pgdata, user="pgserver" if os.geteuid() == 0 else None)

    def stop_postgres(self, mode: str = "fast") -> None:
        self._pg_ctl("stop", "-m", mode)

    def start_redis(self) -> None:
        """Start (or start again: empty, it keeps nothing) the private Redis."""
        self.redis_pidfile = services.start_redis_server(
            self.redis_sock, self.workdir / "redis", persist=False
        )

    def stop_redis(self) -> None:
        if self.redis_pidfile is not None:
            services.stop_pidfile(self.redis_pidfile)
            self.redis_pidfile = None

    # --- processes ----------------------------------------------------------------------------

    def make_env(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CROWD_TESTING", "TEST_", "PYTEST"))}
        env.update(
            DATABASE_URL=f"postgres://postgres@{quote(str(self.pg_socket_dir), safe='')}/crowd",
            REDIS_URL=f"unix://{self.redis_sock}",
            CELERY_BROKER_URL=f"redis+socket://{self.redis_sock}",
            MEMCACHED_SERVERS=self.memcached.location,
            CROWD_DATA_DIR=str(self.workdir / "data"),
            MEDIA_ROOT=str(self.workdir / "media"),
            SECRET_KEY=secrets.token_urlsafe(50),
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            DENORMALISATION_CHECK_SECONDS="3",
            DB_POOL_MAX="6",
            LOG_LEVEL="WARNING",
        )
        for name in ("SESSION_PER_MINUTE", "ADDRESS_PER_MINUTE", "API_ANON_PER_MINUTE"):
            env[f"RATE_LIMIT_{name}"] = "1000000"
        self.env = env

    def manage(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(f"manage.py {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done

    def spawn(self, name: str, args: list[str]) -> None:
        self.logs[name] = self.workdir / f"{name}.log"
        self.procs[name] = harness.spawn(args, log=self.logs[name], env=self.env, cwd=ROOT)

    def start_web(self) -> None:
        """gunicorn as production runs it (``bench.harness``: gunicorn.conf.py), two workers."""
        self.logs["web"] = self.workdir / "web.log"
        self.procs["web"] = harness.start_gunicorn_server(
            bind=f"127.0.0.1:{self.port}",
            env=self.env,
            log=self.logs["web"],
            workers=2,
            options=["--threads", "4", "--timeout", "60", "--graceful-timeout", "5"],
        )
        harness.wait_until(self._answers, self.procs["web"], "gunicorn", self.logs["web"], timeout=60)

    def start_worker(self) -> None:
        self.spawn(
            "worker",
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-B", "-c", "1",
             "--schedule", str(self.workdir / "beat-schedule"), "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-l", "warning"],
        )  # fmt: skip

    def _answers(self) -> bool:
        try:
            return request(self.port, "GET", "/assignments/").status in (200, 302)
        except OSError:
            return False

    def log_tail(self, name: str, chars: int = 3000) -> str:
        return self.logs[name].read_text(errors="replace")[-chars:]

    def stop_processes(self) -> None:
        harness.stop_all(self.procs.values(), timeout=15)

    # --- Postgres, read directly ----------------------------------------------------------------

    def sql(self, query: str, params=()) -> list[tuple]:
        with psycopg.connect(
            host=str(self.pg_socket_dir), user="postgres", dbname="crowd", autocommit=True
        ) as c:
            return c.execute(query, params).fetchall()

    def reviews_in_postgres(self) -> int:
        return self.sql("SELECT count(*) FROM reviews_review")[0][0]

    def check_denormalisations(self) -> subprocess.CompletedProcess:
        return self.manage("check_denormalisations", check=False)


@contextlib.contextmanager
def running_stack(**env: str):
    """The whole stack; ``env``: settings of its processes beyond make_env's (e.g. LOG_FORMAT)."""
    stack = Stack(short_tempdir("fs-"))
    try:
        stack.start_postgres()
        services._ensure_database(stack.pg_socket_dir, "crowd")
        stack.start_redis()
        stack.memcached.start()
        stack.make_env()
        stack.env.update(env)
        stack.manage("migrate", "--noinput", "-v", "0")
        stack.manage("shell", "-c", SEED)
        stack.manage("rebuild_denormalisations")
        stack.start_web()
        stack.start_worker()
        yield stack
    finally:
        stack.stop_processes()
        stack.stop_redis()
        stack.memcached.stop()
        with contextlib.suppress(Exception):
            stack.stop_postgres("immediate")
        shutil.rmtree(stack.workdir, ignore_errors=True)


# --- HTTP -------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str
    cookies: SimpleCookie


def request(port: int, method: str, path: str, *, cookies: dict | None = None, form: dict | None = None,
            timeout: float = 30) -> Reply:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Host": "127.0.0.1"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = None
    if form is not None:
        body = urlencode(form, doseq=True)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["Referer"] = f"http://127.0.0.1:{port}{path}"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        jar = SimpleCookie()
        for value in response.headers.get_all("Set-Cookie") or []:
            jar.load(value)
        return Reply(response.status, dict(response.headers), response.read().decode(errors="replace"), jar)
    finally:
        conn.close()


CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PAGE_URL = re.compile(r"^/review/(\d+)/$")


@dataclass
class Tally:
    """What the simulated reviewers saw."""

    statuses: Counter = field(default_factory=Counter)
    submitted: int = 0
    served: list = field(default_factory=list)  # (time the pick started, page id)
    submitted_pages: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # (time, method, path, status, body excerpt)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def server_errors(self, allowed: set[int] = frozenset()) -> list:
        return [e for e in self.errors if e[3] >= 500 and e[3] not in allowed]


class Reviewer(threading.Thread):
    """Logs in, starts the assignment, then picks and reviews pages until told to stop."""

    def __init__(self, port: int, username: str, tally: Tally, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.username, self.tally, self.stop_event = port, username, tally, stop
        self.cookies: dict[str, str] = {}

    def call(self, method: str, path: str, form: dict | None = None) -> Reply | None:
        try:
            reply = request(self.port, method, path, cookies=self.cookies, form=form)
        except OSError as exc:  # the server itself unreachable: a failure too
            with self.tally.lock:
                self.tally.statuses["connection-error"] += 1
                self.tally.errors.append((time.monotonic(), method, path, 599, repr(exc)))
            return None
        for name, morsel in reply.cookies.items():
            self.cookies[name] = morsel.value
        with self.tally.lock:
            self.tally.statuses[reply.status] += 1
            if reply.status >= 500:
                self.tally.errors.append((time.monotonic(), method, path, reply.status, reply.body[:300]))
                if reply.status == 503:
                    assert reply.headers.get("Retry-After"), "a 503 without Retry-After"
        return reply

    def login(self) -> None:
        while not self.stop_event.is_set():
            page = self.call("GET", "/account/login/")
            if page and page.status == 200:
                token = CSRF_INPUT.search(page.body).group(1)
                form = {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token}
                done = self.call("POST", "/account/login/", form)
                if done and done.status == 302:
                    self.call("GET", f"/assignments/{SLUG}/start/")
                    return
            time.sleep(0.2)

    def run(self) -> None:
        self.login()
        while not self.stop_event.is_set():
            started = time.monotonic()
            pick = self.call("GET", "/review/next/")
            if pick is None or pick.status != 302:
                time.sleep(0.1)
                continue
            match = PAGE_URL.match(pick.headers.get("Location", ""))
            if not match:  # the done page: nothing left for this reviewer
                time.sleep(0.2)
                continue
            page_id = int(match.group(1))
            with self.tally.lock:
                self.tally.served.append((started, page_id))
            screen = self.call("GET", f"/review/{page_id}/")
            if screen is None or screen.status != 200:
                continue
            token = CSRF_INPUT.search(screen.body).group(1)
            sent = self.call(
                "POST",
                f"/review/{page_id}/",
                {"action": "submit", "tags": ["receipt"], "csrfmiddlewaretoken": token},
            )
            if sent is not None and sent.status == 302:
                with self.tally.lock:
                    self.tally.submitted += 1
                    self.tally.submitted_pages.append(page_id)


@contextlib.contextmanager
def reviewing(stack: Stack, count: int = 4):
    """``count`` reviewers reviewing until the block ends; yields their tally."""
    tally, stop = Tally(), threading.Event()
    threads = [Reviewer(stack.port, f"rev{i}", tally, stop) for i in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield tally
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
