"""The load benchmark: the site under gunicorn (and nginx) on loopback, driven as browsers would.

Run by ``python -m bench`` first (``--load-only`` runs it alone), on the bench's own database and
its private Redis and memcached (see ``bench.__main__``). It

1. seeds a synthetic release (``LOAD_PAGES`` pages in documents of 100, set-based INSERTs, no
   images: the client never fetches them), the editors' tag set and one main assignment with
   threshold 3 made by the assignment actions, and rebuilds every registered denormalisation;
2. starts gunicorn as ``make run`` does (``gunicorn.conf.py``, the ``serve`` command's command
   line), with the rate limits raised through the ``RATE_LIMIT_*`` variables for this process
   tree only (64 reviewers on one address would otherwise be a flood);
3. runs the scenarios below with ``bench.http_client`` (one keep-alive connection and cookie jar
   per reviewer, the CSRF token and the form read from each page), each bounded in time and in
   cycles, stopping by itself;
4. compares the reviews the client saw accepted (a 302 after the POST, or a JSON reply saying
   ``recorded``) with ``reviews_review``.

Two flows (``Reviewer``), as a browser does with and without scripts:

- with JS (the primary: the targets are judged on it): the review screen's script posts the form
  with ``Accept: application/json`` and the reply names the next page and the CSRF token for its
  POST, so a cycle is one request (the submit); a review screen is fetched only at a reviewer's
  start (``/review/next/``), after their first review (it made their account) and when a reply
  names no page (see ``Reviewer``);
- without JS: review screen (GET) -> submit (POST), whose redirect names the next page's review
  screen directly, two requests per cycle.

Scenarios:

- one reviewer alone, with JS and without (as the closed loop below, with one browser): the
  server's time per request with no queue in front of it;
- closed loop: ``CLOSED_REVIEWERS`` reviewers without pauses, without JS (shorter) then with JS.
  Warm-up excluded from the figures.
- open loop, with JS: cycles start every 1/``OPEN_RATE`` s whatever the replies (an idle reviewer
  takes it, or a new one), so a slow server meets a growing queue instead of slowing the client.
- anonymous readers: the home page and a tag listing (cached whole: ``pagecache``) through
  gunicorn, then through Debian's nginx started on a loopback port with
  ``deploy/nginx.conf.template`` (cached pages served from memcached without Python), with
  ``wrk`` when installed (``apt-get install wrk``), else with the asyncio client.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import proc_cpu
from bench.http_client import Connection, CookieJar, ProtocolError, ReviewForm, parse_review_form

LOAD_PAGES = 6000
PAGES_PER_DOCUMENT = 100
THRESHOLD = 3
CLOSED_REVIEWERS = 64
CLOSED_SECONDS = 20.0
WARMUP_SECONDS = 4.0
SERVER_WARMUP_SECONDS = 3.0  # before any scenario: 12 reviewers, half of them with JS
OPEN_RATE = 100.0
OPEN_SECONDS = 15.0
READ_SECONDS = 5
READ_CONNECTIONS = 32
MAX_CYCLES = 20_000  # per scenario: the bound on requests whatever the speed
MAX_OPEN_REVIEWERS = 200  # in flight at once: beyond this a cycle is dropped (an error), so the run ends
REQUEST_TIMEOUT = 30.0  # gunicorn's own worker timeout
MAX_REDIRECTS = 5
RAISED_LIMIT = "1000000000"
TARGET_CYCLES = 150.0
TARGET_ALONE_CYCLE_MS = 12.0
TARGET_OPEN_P99_MS = 100.0
TARGET_DJANGO_RPS = 1000.0
TARGET_NGINX_RPS = 5000.0
# Page images through the nginx front, each allowed by Django first (auth_request to
# /_media-access/, one query): a review shows one image and prefetches the next.
TARGET_IMAGES_RPS = 2000.0
# The page whose image the readers fetch (seed() names it as the importer would).
IMAGE_PATH = "pages/1-load-1.jpg"
ALONE_SECONDS = 8.0
# The flow without JS, shown beside the JS flow's figures: shorter, to keep `make bench` short.
NOJS_ALONE_SECONDS = 5.0
NOJS_CLOSED_SECONDS = 10.0
SECTION_HEADING = "## Full review cycle and cached pages"
# Written by bench/browser_bench.py (`python -m bench --browser`), kept by the full run.
BROWSER_HEADING = "## Enter to the next page shown, in Chromium"


def percentile(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; 0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class Recorder:
    """What one scenario measured. Requests count only while ``active`` (after the warm-up)."""

    active: bool = False
    latencies: list[float] = field(default_factory=list)  # seconds per request
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # next | screen | submit -> seconds
    cycle_times: list[float] = field(default_factory=list)  # seconds per accepted cycle, from its start
    cycle_latencies: list[float] = field(default_factory=list)  # open loop: from the scheduled start
    errors: Counter = field(default_factory=Counter)
    cycles: int = 0
    seconds: float = 0.0
    offered: int = 0
    reviewers: int = 0
    # Closed loops against gunicorn: CPU ms per counted cycle of each group of processes over the
    # measured window (bench/proc_cpu.py).
    cpu_per_cycle: dict[str, float] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    def cycle_ms(self, q: float = 0.5) -> float:
        return percentile(self.cycle_times, q) * 1000

    @property
    def per_second(self) -> float:
        return self.cycles / self.seconds if self.seconds else 0.0

    @property
    def requests_per_cycle(self) -> float:
        return self.requests / self.cycles if self.cycles else 0.0

    def kind_ms(self, kind: str, q: float = 0.5) -> float:
        return percentile(self.by_kind.get(kind, []), q) * 1000

    def error_text(self) -> str:
        return ", ".join(f"{k} x{v}" for k, v in sorted(self.errors.items())) or "none"


@dataclass
class Totals:
    """Across all scenarios: what the client knows was recorded, for the Postgres comparison."""

    submitted: int = 0  # a 302 after the POST, or a JSON 200 saying recorded
    unknown: int = 0  # POSTs without a reply: committed or not, the client cannot tell
    not_recorded: int = 0  # a JSON 200 saying recorded=false (a double submit: the first was kept)


JSON = "application/json"


class Reviewer:
    """One browser: a connection, a cookie jar, and where it goes next.

    With scripts (``fast``, what a browser does by default) it does what the review screen's
    script (``static/js/review.js``) does when the form offers the fast path: it posts the form
    with ``Accept: application/json``, and the reply names the next page and the CSRF token for
    its POST, which it swaps in, so a cycle is that one POST. The script loads the screen of the
    reply's URL instead (a GET, then the next POST) after a visitor's first review, when the reply
    names no page or one already reviewed, or when the tag set changed. Without scripts: the
    review screen (GET, through redirects), the form read from it, then the POST."""

    def __init__(self, host: str, port: int, rng: random.Random, *, fast: bool = True):
        self.connection = Connection(host, port)
        self.cookies = CookieJar()
        self.rng = rng
        self.fast = fast
        self.url = "/review/next/"
        self.form: ReviewForm | None = None  # the next page's form from a JSON reply: no GET needed

    async def _timed(self, recorder: Recorder, method: str, path: str, **request):
        started = time.perf_counter()
        response = await asyncio.wait_for(
            self.connection.request(method, path, cookies=self.cookies, **request), REQUEST_TIMEOUT
        )
        if recorder.active:
            elapsed = time.perf_counter() - started
            recorder.latencies.append(elapsed)
            kind = "submit" if method == "POST" else "next" if path.startswith("/review/next/") else "screen"
            recorder.by_kind.setdefault(kind, []).append(elapsed)
        return response

    async def _screen(self, recorder: Recorder) -> ReviewForm | None:
        """The review form of ``self.url``'s screen, reached through redirects; None (counted as
        an error) when there is none."""
        url = self.url
        for _ in range(MAX_REDIRECTS):
            response = await self._timed(recorder, "GET", url)
            if response.status not in (301, 302, 303) or not response.location:
                break
            url = response.location
        form = parse_review_form(response.body.decode("utf-8", "replace")) if response.status == 200 else None
        if form is None:
            where = url.split("/")[1] if url.count("/") > 1 else url
            self._failed(recorder, f"GET {response.status} {where}")
        return form

    async def cycle(self, recorder: Recorder, totals: Totals) -> bool:
        """One review: True when it was accepted. Errors are counted in ``recorder`` and the
        reviewer starts over at ``/review/next/``."""
        started = time.perf_counter()
        try:
            form, self.form = self.form, None
            if form is None and (form := await self._screen(recorder)) is None:
                return False
            picked = self.rng.sample(form.tags, k=min(len(form.tags), self.rng.choice((0, 0, 1, 1, 2))))
            scripted = self.fast and form.fast_path
            try:
                response = await self._timed(
                    recorder,
                    "POST",
                    form.action,
                    body=form.body(tags=picked),
                    accept=JSON if scripted else None,
                )
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ProtocolError):
                totals.unknown += 1
                raise
            if (
                scripted
                and response.status == 200
                and response.headers.get("content-type", "").startswith(JSON)
            ):
                accepted = self._follow_json(recorder, totals, form, json.loads(response.body))
            elif not scripted and response.status == 302 and response.location:
                totals.submitted += 1
                self.url, accepted = response.location, True
            else:
                return self._failed(recorder, f"POST {response.status}")
            if accepted and recorder.active:
                recorder.cycle_times.append(time.perf_counter() - started)
            return accepted
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ProtocolError) as exc:
            self.connection.close()
            return self._failed(recorder, type(exc).__name__)

    def _follow_json(self, recorder: Recorder, totals: Totals, form: ReviewForm, reply: dict) -> bool:
        """Where the fast path's reply sends the browser; True when it says the review was recorded."""
        if not reply.get("recorded"):
            # The server kept an earlier submit of this page: not a review of ours to count.
            totals.not_recorded += 1
            return self._failed(recorder, "POST 200 recorded=false")
        totals.submitted += 1
        page = reply.get("page")
        if not page or reply.get("tagset") != form.tagset or form.first_write:
            self.url = reply["url"]  # the script loads that screen
        else:
            self.form = form.for_next(url=reply["url"], csrf=reply["csrf"])
        return True

    def _failed(self, recorder: Recorder, what: str) -> bool:
        if recorder.active:
            recorder.errors[what] += 1
        self.url, self.form = "/review/next/", None
        return False

    def close(self) -> None:
        self.connection.close()


async def closed_loop(
    host: str,
    port: int,
    *,
    reviewers: int,
    seconds: float,
    warmup: float,
    totals: Totals,
    seed: int = 1,
    fast: bool = True,
    cpu_groups: proc_cpu.Groups | None = None,
) -> tuple[Recorder, list[Reviewer]]:
    """``reviewers`` browsers looping without pauses; figures from ``warmup`` to ``warmup + seconds``.
    ``fast``: the browsers run the review screen's script (one POST per cycle), else not.
    ``cpu_groups``: the processes whose CPU per cycle to read over the same window."""
    recorder = Recorder(reviewers=reviewers)
    loop = asyncio.get_running_loop()
    begin = loop.time()
    measure_from, stop_at = begin + warmup, begin + warmup + seconds
    browsers = [Reviewer(host, port, random.Random(seed * 1000 + i), fast=fast) for i in range(reviewers)]

    async def run(browser: Reviewer) -> None:
        while loop.time() < stop_at and recorder.cycles < MAX_CYCLES:
            ok = await browser.cycle(recorder, totals)
            if ok and recorder.active:
                recorder.cycles += 1

    async def clock() -> None:
        await asyncio.sleep(max(0.0, measure_from - loop.time()))
        cpu_before = proc_cpu.snapshot(cpu_groups) if cpu_groups else None
        recorder.active, started = True, loop.time()
        while loop.time() < stop_at and recorder.cycles < MAX_CYCLES:
            await asyncio.sleep(0.05)
        recorder.seconds = loop.time() - started
        recorder.active = False  # cycles finishing after the end are not counted
        if cpu_groups:
            recorder.cpu_per_cycle = proc_cpu.per_cycle(
                cpu_before, proc_cpu.snapshot(cpu_groups), recorder.cycles
            )

    await asyncio.gather(clock(), *(run(b) for b in browsers))
    return recorder, browsers


async def open_loop(
    host: str, port: int, *, rate: float, seconds: float, totals: Totals, idle: list[Reviewer], seed: int = 2
) -> Recorder:
    """A cycle starts every ``1/rate`` seconds, on schedule, whatever the replies; new reviewers
    (when every idle one is busy) run the review screen's script, as ``idle``'s do."""
    recorder = Recorder(active=True)
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    count = min(MAX_CYCLES, int(rate * seconds))
    recorder.offered = count
    made = [0]
    tasks = []

    async def one(browser: Reviewer, due: float) -> None:
        try:
            if await browser.cycle(recorder, totals):
                recorder.cycles += 1
                recorder.cycle_latencies.append(loop.time() - due)
        finally:
            idle.append(browser)

    start = loop.time()
    for i in range(count):
        due = start + i / rate
        if (delay := due - loop.time()) > 0:
            await asyncio.sleep(delay)
        if idle:
            browser = idle.pop()
        elif made[0] < MAX_OPEN_REVIEWERS:
            made[0] += 1
            browser = Reviewer(host, port, random.Random(rng.random()))
        else:
            recorder.errors["no free reviewer (cycle dropped)"] += 1
            continue
        tasks.append(asyncio.create_task(one(browser, due)))
    await asyncio.gather(*tasks)
    recorder.seconds = loop.time() - start
    recorder.reviewers = made[0]
    return recorder


async def read_loop(host: str, port: int, path: str, *, connections: int, seconds: float) -> Recorder:
    """Anonymous readers without cookies, each on its own keep-alive connection (fallback to wrk)."""
    recorder = Recorder(active=True, reviewers=connections)
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + seconds

    async def run() -> None:
        connection = Connection(host, port)
        try:
            while loop.time() < stop_at:
                started = time.perf_counter()
                try:
                    response = await asyncio.wait_for(connection.request("GET", path), REQUEST_TIMEOUT)
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ProtocolError) as exc:
                    recorder.errors[type(exc).__name__] += 1
                    connection.close()
                    continue
                recorder.latencies.append(time.perf_counter() - started)
                if response.status != 200:
                    recorder.errors[f"GET {response.status}"] += 1
        finally:
            connection.close()

    started = loop.time()
    await asyncio.gather(*(run() for _ in range(connections)))
    recorder.seconds = loop.time() - started
    return recorder


# --- wrk -------------------------------------------------------------------------------------


@dataclass
class ReadResult:
    where: str  # gunicorn | nginx
    path: str
    tool: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: str
    served_by: str  # X-Page-Cache of a request made just before


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> tuple[float, float, float, str]:
    """Requests/s, p50 ms, p99 ms and errors from ``wrk --latency`` output."""

    def latency(label: str) -> float:
        found = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        if not found:
            raise ValueError(f"no {label}% latency in wrk output")
        return float(found.group(1)) * _WRK_UNITS[found.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not rps:
        raise ValueError("no Requests/sec in wrk output")
    errors = []
    if found := re.search(r"Socket errors: (.*)", output):
        errors.append("socket " + found.group(1).strip())
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors.append(f"non-2xx/3xx {found.group(1)}")
    return float(rps.group(1)), latency("50"), latency("99"), ", ".join(errors) or "none"


def _read(where: str, host: str, port: int, path: str) -> ReadResult:
    served_by = "?"
    for _ in range(2):  # the first fills the caches, the second shows who serves
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=10) as response:
            served_by = response.headers.get("X-Page-Cache", "none")
    wrk = shutil.which("wrk")
    if wrk:
        out = subprocess.run(
            [
                wrk,
                "-t1",
                f"-c{READ_CONNECTIONS}",
                f"-d{READ_SECONDS}s",
                "--latency",
                f"http://{host}:{port}{path}",
            ],
            capture_output=True,
            text=True,
            timeout=READ_SECONDS + 30,
        ).stdout
        rps, p50, p99, errors = parse_wrk(out)
        return ReadResult(where, path, "wrk", rps, p50, p99, errors, served_by)
    rec = asyncio.run(read_loop(host, port, path, connections=READ_CONNECTIONS, seconds=READ_SECONDS))
    return ReadResult(
        where,
        path,
        "asyncio client",
        rec.requests / rec.seconds,
        rec.ms(0.5),
        rec.ms(0.99),
        rec.error_text(),
        served_by,
    )


# --- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, what: str, log: Path, path: str = "/") -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text()[-2000:] if log.exists() else ""
                raise RuntimeError(f"{what} did not start:\n{tail}") from None
            time.sleep(0.2)


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
    from lib.management.commands.serve import gunicorn_command

    log = workdir / "gunicorn.log"
    env = load_environment(dict(os.environ))
    env["GUNICORN_ACCESS_LOG"] = str(workdir / "access.log")  # logged as in production, not to the terminal
    process = subprocess.Popen(
        gunicorn_command(Path(sys.executable).parent, bind=f"127.0.0.1:{port}"),
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    _wait_for(port, process, "gunicorn", log)
    return process


def start_nginx(workdir: Path, port: int, upstream_port: int) -> subprocess.Popen | None:
    from django.conf import settings

    from pagecache import nginx

    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if binary is None:
        return None
    root = workdir / "nginx"
    root.mkdir()
    (root / "media").mkdir()
    conf = nginx.standalone_config(
        nginx.render(
            {
                "NGINX_DJANGO": f"127.0.0.1:{upstream_port}",
                "NGINX_MEMCACHED": settings.MEMCACHED_SERVERS[0],
                "NGINX_LISTEN": f"127.0.0.1:{port}",
                "NGINX_KEY_PREFIX": nginx.key_prefix(),
                "NGINX_STATIC_ROOT": str(Path(settings.BASE_DIR) / "static"),
                "NGINX_MEDIA_ROOT": str(root / "media"),
                "NGINX_PAGE_LOG_DIR": str(root),  # the page log, written as in production
            }
        ),
        workdir=root,
        worker_processes="auto",  # as the nginx image runs: one per core
    )
    (root / "nginx.conf").write_text(conf)
    process = subprocess.Popen(
        [binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=(root / "stderr.log").open("wb"),
        start_new_session=True,
    )
    _wait_for(port, process, "nginx", root / "error.log", path="/static/css/site.css")
    return process


def write_page_image(path: Path) -> None:
    """A page image of a scan's size (1400 x 1980 JPEG, about 280 KB: grain compresses as
    poorly as paper does) where nginx serves media from."""
    import io

    from PIL import Image, ImageFilter

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.effect_noise((1400, 1980), 40).filter(ImageFilter.GaussianBlur(1.2))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=60)
    path.write_bytes(buffer.getvalue())


def stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


# --- data ------------------------------------------------------------------------------------


def seed(pages: int = LOAD_PAGES) -> dict:
    """An empty bench database but for a synthetic release of ``pages`` pages, the tag set and
    one main assignment; every denormalisation rebuilt from it."""
    from django.core.management import call_command
    from django.db import connection

    from assignments import actions as assignment_actions
    from reviews.demo import seed_reference_data

    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as c:
        c.execute(
            "TRUNCATE reviews_party, reviews_member, reviews_document, reviews_page, reviews_review, "
            "reviews_skip, reviews_tag, assignments_assignment, assignments_pickerstat, auth_user, "
            "django_session RESTART IDENTITY CASCADE"
        )
    reference = seed_reference_data()
    member = reference["members"][0]
    documents = -(-pages // PAGES_PER_DOCUMENT)
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO reviews_document (id, title, member_id, source, sha256, page_count, status, error, "
            "created, public) SELECT d, 'Load bench document ' || d, %s, 'sources/load-' || d || '.pdf', "
            "md5(d::text) || md5('load' || d), %s, 'imported', '', now(), true FROM generate_series(1, %s) AS d",
            [member.pk, PAGES_PER_DOCUMENT, documents],
        )
        c.execute(
            "INSERT INTO reviews_page (id, document_id, number, image, thumbnail, width, height, review_count, "
            "public) "
            # Named "<document id>-..." as the importer names them: the media gate serves only such
            # names (bench/browser_bench.py fetches the images).
            "SELECT n, (n - 1) / %(per)s + 1, (n - 1) %% %(per)s + 1, "
            "'pages/' || ((n - 1) / %(per)s + 1) || '-load-' || n || '.jpg', "
            "'thumbs/' || ((n - 1) / %(per)s + 1) || '-load-' || n || '.jpg', 1400, 1980, 0, true "
            "FROM generate_series(1, %(pages)s) AS n",
            {"per": PAGES_PER_DOCUMENT, "pages": pages},
        )
        c.execute("SELECT setval(pg_get_serial_sequence('reviews_page', 'id'), %s)", [pages])
        c.execute("SELECT setval(pg_get_serial_sequence('reviews_document', 'id'), %s)", [documents])
    assignment = assignment_actions.create_assignment(
        title="Load bench", slug="load-bench", threshold=THRESHOLD, members=[member.pk]
    )
    assignment_actions.feature_assignment_as_main(assignment_id=assignment.pk)
    from lib.redis_client import get_redis

    get_redis().flushdb()  # the bench's own redis-server: nobody else's data
    call_command("rebuild_denormalisations", verbosity=0, stdout=io.StringIO())
    with connection.cursor() as c:
        c.execute("VACUUM (ANALYZE) reviews_page")
    tag = reference["tags"][0].slug
    return {"assignment": assignment.pk, "tag": tag, "pages": pages}


def reviews_in_postgres() -> int:
    from reviews.models import Review

    return Review.objects.count()


# --- the run ---------------------------------------------------------------------------------


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass
class LoadReport:
    pages: int = 0
    # With the review screen's script (one POST per cycle): what the targets are judged on.
    alone: Recorder | None = None
    closed: Recorder | None = None
    open: Recorder | None = None
    # Without it (review screen + submit per cycle), shown beside.
    nojs_alone: Recorder | None = None
    nojs_closed: Recorder | None = None
    reads: list[ReadResult] = field(default_factory=list)
    submitted: int = 0
    unknown: int = 0
    not_recorded: int = 0
    counted: int = 0
    load: dict[str, str] = field(default_factory=dict)  # moment -> load average
    nginx_missing: bool = False
    seconds: float = 0.0
    seed_seconds: float = 0.0
    when: str = ""

    @property
    def cycles_per_second(self) -> float:
        return self.closed.per_second if self.closed else 0.0

    def read(self, where: str, path: str) -> ReadResult | None:
        return next((r for r in self.reads if r.where == where and r.path == path), None)

    def _beside(self, recorder: Recorder | None, value) -> str:
        return f" (without JS: {value(recorder)})" if recorder and recorder.cycles else ""

    def targets(self) -> list[tuple[str, str, bool]]:
        alone_cycle = self.alone.cycle_ms(0.5)
        rows = [
            (
                f"one reviewer alone, with JS: a cycle (p50, over loopback HTTP) <= {TARGET_ALONE_CYCLE_MS:.0f} ms",
                f"{alone_cycle:.1f} ms"
                + self._beside(self.nojs_alone, lambda r: f"{r.cycle_ms(0.5):.1f} ms"),
                alone_cycle <= TARGET_ALONE_CYCLE_MS,
            ),
            (
                f"review cycles with JS, {CLOSED_REVIEWERS} concurrent reviewers >= {TARGET_CYCLES:.0f}/s",
                f"{self.cycles_per_second:.1f}/s"
                + self._beside(self.nojs_closed, lambda r: f"{r.per_second:.1f}/s"),
                self.cycles_per_second >= TARGET_CYCLES,
            ),
            (
                f"open loop with JS at {OPEN_RATE:.0f} cycles/s: request p99 < {TARGET_OPEN_P99_MS:.0f} ms, "
                "no errors",
                f"p99 {self.open.ms(0.99):.0f} ms, errors: {self.open.error_text()}",
                self.open.ms(0.99) < TARGET_OPEN_P99_MS and not self.open.errors,
            ),
        ]
        home_django, home_nginx = self.read("gunicorn", "/"), self.read("nginx", "/")
        if home_django:
            rows.append(
                (
                    f"cached home page through Django >= {TARGET_DJANGO_RPS:,.0f} req/s",
                    f"{home_django.requests_per_second:,.0f} req/s",
                    home_django.requests_per_second >= TARGET_DJANGO_RPS,
                )
            )
        if home_nginx:
            rows.append(
                (
                    f"cached home page from the nginx front >= {TARGET_NGINX_RPS:,.0f} req/s",
                    f"{home_nginx.requests_per_second:,.0f} req/s",
                    home_nginx.requests_per_second >= TARGET_NGINX_RPS,
                )
            )
        images = self.read("nginx", f"/media/{IMAGE_PATH}")
        if images:
            rows.append(
                (
                    f"page images from the nginx front, each allowed by Django (auth_request) "
                    f">= {TARGET_IMAGES_RPS:,.0f}/s",
                    f"{images.requests_per_second:,.0f}/s (p99 {images.p99_ms:.1f} ms)",
                    images.requests_per_second >= TARGET_IMAGES_RPS and not images.errors,
                )
            )
        rows.append(
            (
                "reviews the client saw accepted = reviews in Postgres",
                (
                    f"{self.submitted:,} = {self.counted:,}"
                    if self.submitted == self.counted
                    else f"{self.submitted:,} vs {self.counted:,} ({self.unknown} unanswered POSTs)"
                )
                + (f"; {self.not_recorded} replies said recorded=false" if self.not_recorded else ""),
                self.targets_met(),
            )
        )
        return rows

    def targets_met(self) -> bool:
        # A recorded=false reply is a double submit, which the bench's browsers never make.
        return self.submitted == self.counted and not self.not_recorded

    def _scenarios(self) -> list[tuple[str, str, Recorder]]:
        """(short name, long name, recorder) of each review scenario run, JS flow first."""
        a, c, o = self.alone, self.closed, self.open
        rows = [
            (
                "with JS, one reviewer alone",
                f"with JS: one reviewer alone ({a.seconds:.0f} s after a 1 s warm-up)",
                a,
            ),
        ]
        if n := self.nojs_alone:
            rows.append(
                (
                    "without JS, one reviewer alone",
                    f"without JS: one reviewer alone ({n.seconds:.0f} s after a 1 s warm-up)",
                    n,
                )
            )
        rows.append(
            (
                f"with JS, closed loop {c.reviewers} reviewers",
                f"with JS: closed loop, {c.reviewers} reviewers without pauses ({c.seconds:.0f} s after a "
                f"{WARMUP_SECONDS:.0f} s warm-up)",
                c,
            )
        )
        if n := self.nojs_closed:
            rows.append(
                (
                    f"without JS, closed loop {n.reviewers} reviewers",
                    f"without JS: closed loop, {n.reviewers} reviewers without pauses ({n.seconds:.0f} s after "
                    f"a {WARMUP_SECONDS:.0f} s warm-up)",
                    n,
                )
            )
        rows.append(
            (
                f"with JS, open loop {OPEN_RATE:.0f} cycles/s offered",
                f"with JS: open loop, {OPEN_RATE:.0f} cycles/s offered for {OPEN_SECONDS:.0f} s ({o.cycles:,} of "
                f"{o.offered:,} done, {o.reviewers} new reviewers besides the closed loop's)",
                o,
            )
        )
        return rows

    def _cpu_rows(self) -> list[tuple[str, dict[str, float]]]:
        return [
            (name, r.cpu_per_cycle)
            for name, r in (("with JS", self.closed), ("without JS", self.nojs_closed))
            if r is not None and r.cpu_per_cycle
        ]

    def _cpu_markdown(self) -> list[str]:
        rows = self._cpu_rows()
        if not rows:
            return []
        groups = list(rows[0][1])
        lines = [
            "CPU per cycle in the closed loops (user + system time from `/proc` over the measured window, "
            "divided by the cycles counted: `bench/proc_cpu.py`). Two cores give 2,000 ms of CPU a "
            "second, so the total bounds the cycles per second.",
            "",
            "| closed loop, 64 reviewers | " + " | ".join(groups) + " | total | bound on cycles/s |",
            "|---|" + "---:|" * (len(groups) + 2),
        ]
        for name, cpu in rows:
            total = sum(cpu.values())
            bound = f"{2000 / total:,.0f}" if total else "-"
            lines.append(
                f"| {name} | "
                + " | ".join(f"{cpu.get(g, 0.0):.2f} ms" for g in groups)
                + f" | {total:.2f} ms | {bound} |"
            )
        return [*lines, ""]

    def summary(self) -> str:
        lines = [f"load: {self.pages:,} pages, gunicorn per gunicorn.conf.py; load average {self.load}"]
        for name, _, r in self._scenarios():
            lines.append(
                f"  {name}: {r.cycles}{f'/{r.offered}' if r.offered else ''} cycles, {r.per_second:.1f}/s over "
                f"{r.seconds:.1f} s, {r.requests_per_cycle:.2f} requests/cycle, cycle p50 {r.cycle_ms(0.5):.1f} ms; "
                f"request p50 {r.ms(0.5):.1f} ms p99 {r.ms(0.99):.1f} ms (screen p50 {r.kind_ms('screen'):.1f}, "
                f"submit p50 {r.kind_ms('submit'):.1f}); errors {r.error_text()}"
            )
        o = self.open
        lines.append(
            f"  open loop, whole cycle from its scheduled start: p50 {percentile(o.cycle_latencies, 0.5) * 1000:.1f} ms "
            f"p99 {percentile(o.cycle_latencies, 0.99) * 1000:.1f} ms"
        )
        for r in self.reads:
            lines.append(
                f"  anonymous {r.path} via {r.where} ({r.tool}, served by {r.served_by}): "
                f"{r.requests_per_second:,.0f} req/s, p50 {r.p50_ms:.2f} ms p99 {r.p99_ms:.2f} ms, errors {r.errors}"
            )
        if self.nginx_missing:
            lines.append("  nginx not installed: no front figures (apt-get install nginx)")
        for name, cpu in self._cpu_rows():
            lines.append(
                f"  CPU per cycle, closed loop {name}: "
                + ", ".join(f"{group} {ms:.2f} ms" for group, ms in cpu.items())
                + f"; total {sum(cpu.values()):.2f} ms"
            )
        lines.append(
            f"  reviews submitted (client) {self.submitted:,}, in Postgres {self.counted:,}, "
            f"JSON replies with recorded=false {self.not_recorded}"
        )
        return "\n".join(lines)

    def markdown(self) -> list[str]:
        o = self.open

        def kind(r: Recorder, name: str) -> str:
            return f"{r.kind_ms(name):.1f}" if r.by_kind.get(name) else "-"

        out = [
            SECTION_HEADING,
            "",
            f"Generated by `python -m bench` (or `python -m bench --load-only`) on {self.when} UTC, "
            f"{self.seconds:.0f} s (seeding {self.seed_seconds:.0f} s). gunicorn as `make run` serves it "
            "(`gunicorn.conf.py`: 3 workers x 4 threads, gthread) on loopback, its own database of "
            f"{self.pages:,} pages (one main assignment, threshold {THRESHOLD}), the bench's own Redis and "
            "memcached; rate limits raised for this run only (`RATE_LIMIT_*`). Client: `bench/http_client.py`, "
            "raw asyncio HTTP/1.1 with one keep-alive connection and cookie jar per reviewer, in one "
            "process on the same 2 cores as the server (it takes a share of them).",
            "",
            "Load average (1, 5, 15 min): " + "; ".join(f"{k}: {v}" for k, v in self.load.items()) + ".",
            "",
            "The targets are judged on the review cycle **with JS** (what a browser with scripts does); "
            "the same measurement **without JS** is shown beside in brackets, not judged. What a cycle "
            "is in each: see below.",
            "",
            "| target (issue 13) | measured | |",
            "|---|---|---|",
            *[
                f"| {what} | {value} | {'met' if ok else '**missed**'} |"
                for what, value, ok in self.targets()
            ],
            "",
            "### Review cycles",
            "",
            "Two flows, measured in the same run against the same server:",
            "",
            "- **With JS** (the review screen's script, on by default): a cycle is **one request**, the "
            "submit: `POST /review/<id>/` (0-2 tags) with `Accept: application/json`, answered with JSON "
            "that names the next page and the CSRF token for its POST. The script swaps that page into "
            "the screen in place (its image prefetched earlier), so no review screen is fetched. A "
            "review screen (GET) is fetched only at a reviewer's start, after their first review (it "
            "made their account: the whole screen is loaded once) and when a reply names no page.",
            "- **Without JS**: a cycle is **two requests**, the review screen (GET, form and CSRF token "
            "read from it), then the submit (POST), whose redirect (302) names the next page's review "
            "screen.",
            "",
            "In both, a reviewer's first cycle starts at `/review/next/` (a redirect to a review screen) "
            "and its first submit creates its anonymous account. Before any scenario, 12 reviewers (half "
            f"with JS) warm the server for {SERVER_WARMUP_SECONDS:.0f} s, not measured. Then, in this "
            "order: one reviewer with JS, one without; 64 without JS, 64 with JS; the open loop, which "
            "takes the JS closed loop's reviewers (every other scenario has reviewers of its own). A "
            "cycle's time is the client's, from its first request sent to its last reply read; request "
            "latencies are from sending a request to the last byte of its reply.",
            "",
            "| scenario | cycles/s | requests/cycle | cycle p50 ms | request p50 ms | request p99 ms "
            "| screen p50 ms | submit p50 ms | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
            *[
                f"| {label} | {r.per_second:.1f} | {r.requests_per_cycle:.2f} | {r.cycle_ms(0.5):.1f} | "
                f"{r.ms(0.5):.1f} | {r.ms(0.99):.1f} | {kind(r, 'screen')} | {kind(r, 'submit')} | "
                f"{r.error_text()} |"
                for _, label, r in self._scenarios()
            ],
            "",
            f"Open loop, whole cycle from its scheduled start: p50 {percentile(o.cycle_latencies, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(o.cycle_latencies, 0.99) * 1000:.1f} ms.",
            "",
            *self._cpu_markdown(),
            "Reviews the client saw accepted (without JS a redirect after the POST; with JS a JSON reply "
            f"saying `recorded`), all scenarios: **{self.submitted:,}**; rows in `reviews_review` "
            f"afterwards: **{self.counted:,}**"
            + (f" ({self.unknown} POSTs got no reply)" if self.unknown else "")
            + f". JSON replies saying `recorded: false` (a double submit, the first kept): {self.not_recorded}.",
            "",
            "### Anonymous readers on cached pages",
            "",
            f"{READ_CONNECTIONS} keep-alive connections for {READ_SECONDS} s per row, no cookies. "
            '"served by" is the `X-Page-Cache` header of a request made just before: `hit` is Django\'s '
            "full-page cache (memcached, no session or database), `nginx` is nginx reading Django's copy "
            "from memcached without Python.",
            "",
            "| page | through | tool | served by | requests/s | p50 ms | p99 ms | errors |",
            "|---|---|---|---|---:|---:|---:|---|",
            *[
                f"| `{r.path}` | {r.where} | {r.tool} | {r.served_by} | {r.requests_per_second:,.0f} | "
                f"{r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} |"
                for r in self.reads
            ],
        ]
        home_django, home_nginx = self.read("gunicorn", "/"), self.read("nginx", "/")
        if home_django and home_nginx:
            out += [
                "",
                f"nginx front against gunicorn on the home page: "
                f"{home_nginx.requests_per_second / home_django.requests_per_second:.1f}x the requests/s.",
            ]
        if self.nginx_missing:
            out += ["", "nginx is not installed here: no front figures (`apt-get install nginx`)."]
        out.append("")
        return out


def run(
    *,
    closed_seconds: float = CLOSED_SECONDS,
    open_seconds: float = OPEN_SECONDS,
    reviewers: int = CLOSED_REVIEWERS,
    rate: float = OPEN_RATE,
    pages: int = LOAD_PAGES,
    warmup: float = WARMUP_SECONDS,
    reads: bool = True,
    alone_seconds: float = ALONE_SECONDS,
    nojs_alone_seconds: float = NOJS_ALONE_SECONDS,
    nojs_closed_seconds: float = NOJS_CLOSED_SECONDS,
) -> LoadReport:
    """Seed, start gunicorn (and nginx), run the scenarios, stop them; bounded in time."""
    started = time.monotonic()
    report = LoadReport(when=f"{datetime.now(UTC):%Y-%m-%d %H:%M}")
    report.load["before"] = _load()
    print(f"load bench: seeding {pages:,} pages ...", flush=True)
    seeded = seed(pages)
    report.pages = pages
    report.seed_seconds = time.monotonic() - started
    workdir = Path(tempfile.mkdtemp(prefix="crowd-load-", dir="/tmp"))
    port = free_port()
    gunicorn = nginx_process = None
    totals = Totals()
    try:
        gunicorn = start_gunicorn(workdir, port)
        from django.conf import settings

        master = gunicorn.pid
        # Postgres titles each backend "postgres: <user> <database> ...": the bench database's
        # are the workers' pooled connections.
        backends = f" {settings.DATABASES['default']['NAME']} "

        # The bench's private servers name their unix sockets on their command lines.
        redis_socket = settings.REDIS_URL.removeprefix("unix://").split("?")[0]
        memcached_socket = settings.MEMCACHED_SERVERS[0].removeprefix("unix:")

        def cpu_groups() -> dict[str, list[int]]:
            return {
                "gunicorn workers": proc_cpu.children_of(master),
                "Postgres backends": proc_cpu.matching(backends),
                "Redis": proc_cpu.matching(redis_socket),
                "memcached": proc_cpu.matching(memcached_socket),
                "client": [os.getpid()],
            }

        print(
            f"load bench: one reviewer alone with and without JS ({alone_seconds:.0f} s, "
            f"{nojs_alone_seconds:.0f} s), {reviewers} reviewers closed loop without JS "
            f"({warmup:.0f} + {nojs_closed_seconds:.0f} s) and with JS ({warmup:.0f} + {closed_seconds:.0f} s), "
            f"then an open loop with JS at {rate:.0f} cycles/s for {open_seconds:.0f} s ...",
            flush=True,
        )

        async def alone(*, seconds: float, fast: bool) -> Recorder:
            # One reviewer alone: the server's time per request with no queue in front.
            recorder, browsers = await closed_loop(
                "127.0.0.1", port, reviewers=1, seconds=seconds, warmup=1.0, totals=totals, seed=3, fast=fast
            )
            for browser in browsers:
                browser.close()
            return recorder

        async def reviews() -> None:
            # Not measured: every worker process serves both flows first (code, templates and
            # connection pools loaded on first use), or the first scenario pays for it alone.
            warming = await asyncio.gather(
                *(
                    closed_loop(
                        "127.0.0.1",
                        port,
                        reviewers=6,
                        seconds=0.0,
                        warmup=SERVER_WARMUP_SECONDS,
                        totals=totals,
                        seed=5,
                        fast=fast,
                    )
                    for fast in (True, False)
                )
            )
            for _, browsers in warming:
                for browser in browsers:
                    browser.close()
            report.alone = await alone(seconds=alone_seconds, fast=True)
            report.nojs_alone = await alone(seconds=nojs_alone_seconds, fast=False)
            report.nojs_closed, browsers = await closed_loop(
                "127.0.0.1",
                port,
                reviewers=reviewers,
                seconds=nojs_closed_seconds,
                warmup=warmup,
                totals=totals,
                seed=4,
                fast=False,
                cpu_groups=cpu_groups,
            )
            for browser in browsers:
                browser.close()
            # One event loop for both: the open loop reuses the closed loop's browsers (their
            # connections belong to this loop), each holding its next page from its last reply.
            report.closed, browsers = await closed_loop(
                "127.0.0.1",
                port,
                reviewers=reviewers,
                seconds=closed_seconds,
                warmup=warmup,
                totals=totals,
                cpu_groups=cpu_groups,
            )
            report.load["after the closed loops"] = _load()
            report.open = await open_loop(
                "127.0.0.1", port, rate=rate, seconds=open_seconds, totals=totals, idle=browsers
            )
            for browser in browsers:
                browser.close()

        asyncio.run(reviews())
        report.load["after the open loop"] = _load()
        report.submitted, report.unknown = totals.submitted, totals.unknown
        report.not_recorded = totals.not_recorded
        report.counted = reviews_in_postgres()
        if reads:
            paths = ["/", f"/tags/{seeded['tag']}/"]
            print("load bench: anonymous readers through gunicorn ...", flush=True)
            for path in paths:
                report.reads.append(_read("gunicorn", "127.0.0.1", port, path))
            nginx_port = free_port()
            nginx_process = start_nginx(workdir, nginx_port, port)
            if nginx_process is None:
                report.nginx_missing = True
            else:
                print("load bench: anonymous readers through nginx ...", flush=True)
                for path in paths:
                    report.reads.append(_read("nginx", "127.0.0.1", nginx_port, path))
                print("load bench: page images through nginx (auth_request) ...", flush=True)
                write_page_image(workdir / "nginx" / "media" / IMAGE_PATH)
                report.reads.append(_read("nginx", "127.0.0.1", nginx_port, f"/media/{IMAGE_PATH}"))
            report.load["after the readers"] = _load()
    finally:
        stop(nginx_process, signal.SIGQUIT)
        stop(gunicorn)
        shutil.rmtree(workdir, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


def splice(document: str, section: list[str], heading: str = SECTION_HEADING) -> str:
    """``document`` with its section under ``heading`` (to the next ``## `` heading or the end)
    replaced by ``section``; appended when it has none. The load section by default; the
    browser bench's section too (``bench.browser_bench``)."""
    lines = document.rstrip("\n").split("\n")
    try:
        start = lines.index(heading)
    except ValueError:
        return "\n".join([*lines, "", *section]).rstrip("\n") + "\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join([*lines[:start], *section, *lines[end:]]).rstrip("\n") + "\n"


def section(document: str, heading: str) -> list[str]:
    """The lines of ``document``'s section under ``heading``, [] when it has none."""
    lines = document.rstrip("\n").split("\n")
    if heading not in lines:
        return []
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]
