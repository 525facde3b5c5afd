"""Helpers for the picker's tests: build the Redis sets from Postgres, and throwaway servers
that a test may stop (never the shared ones under .data/)."""

from __future__ import annotations

import random
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from django.conf import settings

from assignments import picker, pool
from assignments.models import Assignment
from lib import keys, services
from lib.redis_client import get_redis, reset_redis

PICKER_FAMILIES = [
    "assignment-needed",
    "assignment-done",
    "assignment-todo",
    "assignment-todo-rank",
    "assignment-priority",
    "reviewer-seen",
    "active-assignments",
]


def build_sets() -> None:
    """Rebuild the picker's Redis families from Postgres with the registry, as operators do."""
    from denorm import operations, registry

    names = [n for n in PICKER_FAMILIES if n in {e.name for e in registry.all_entries()}]
    if len(names) == len(PICKER_FAMILIES):
        operations.rebuild_entries(registry.select(names))
        return
    # The registry's Redis families are not there: build the to-do sets the same way by hand.
    r = get_redis()
    for assignment in Assignment.objects.all():
        todo = keys.assignment_todo(assignment.pk)
        r.delete(todo, keys.assignment_todo_rank(assignment.pk))
        ids = list(
            assignment.pages().filter(review_count__lt=assignment.threshold).values_list("pk", flat=True)
        )
        if ids:
            r.sadd(todo, *ids)
            r.zadd(keys.assignment_todo_rank(assignment.pk), dict.fromkeys(ids, -assignment.threshold))
    r.set(keys.built_marker(picker.TODO_FAMILY), "1")


def make_assignment(pages: int, threshold: int = 1):
    """An assignment of one new document of ``pages`` pages, and the pages' ids."""
    from tests import factories

    doc = factories.make_document(pages=pages)
    return factories.make_assignment(documents=[doc], threshold=threshold), list(
        doc.pages.values_list("pk", flat=True)
    )


def chi_square(counts, ids: list[int], total: int) -> float:
    expected = total / len(ids)
    return sum((counts[i] - expected) ** 2 / expected for i in ids)


def chi_square_critical(df: int, z: float = 3.0902) -> float:
    """The chi-square value at p = 0.001 (z of the upper 0.1%) by the Wilson-Hilferty
    approximation, accurate to well under 1% at these degrees of freedom."""
    c = 2 / (9 * df)
    return df * (1 - c + z * c**0.5) ** 3


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Python's ``random`` (all the picker's randomness, see :func:`assert_uniform`) seeded for
    the block and restored after it: a statistical test draws one fixed sample, never a fresh
    one per run that fails at random."""
    saved = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(saved)


def assert_uniform(draw: Callable[[], int], ids: list[int], total: int, *, seed: int) -> Counter:
    """``total`` draws of ``draw()`` land uniformly on ``ids``: one sample, with Python's
    ``random`` seeded with ``seed``, and a chi-square test against its critical value at
    p = 0.001. No second sample is drawn when the first fails.

    The picker takes all its randomness from Python's ``random`` (the draw script's rank seed
    and claim fraction, the shuffles, the Postgres fallback's random ids and starts), so the
    seed fixes it; the page ids the test database hands out still differ from run to run.
    False-positive rate: a uniform picker fails one run in 1,000. A biased one fails every run
    where its bias shows (drawing again on failure would let it through whenever one of two
    samples passes). ``random``'s state is restored afterwards. Returns the counts.
    """
    saved = random.getstate()
    random.seed(seed)
    try:
        counts = Counter(draw() for _ in range(total))
    finally:
        random.setstate(saved)
    assert set(counts) <= set(ids), set(counts) - set(ids)
    value, critical = chi_square(counts, ids, total), chi_square_critical(len(ids) - 1)
    lowest = sorted(ids)[:32]
    share = sum(counts[i] for i in lowest) / total
    assert value < critical, f"chi-square {value:.0f} >= {critical:.0f} (32 lowest ids: {share:.0%})"
    return counts


class RoundTrips:
    """Counts the requests redis-py sends (a pipeline is one) on real connections, from its
    creation until the test ends (monkeypatch undoes it). What redis-py sends on its own with
    ``check_health=False`` is not the picker's and is not counted: the health-check PING before a
    command on a connection idle for more than ``health_check_interval`` (30 s: only in a long,
    loaded run) and the handshake of a connection it had to reopen."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = redis.connection.AbstractConnection.send_packed_command

        def counting(conn, command, check_health=True):
            if check_health:
                self.count += 1
            return original(conn, command, check_health)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)


def todo_ids(assignment) -> set[int]:
    return {int(x) for x in get_redis().smembers(keys.assignment_todo(assignment.pk))}


class Server:
    def __init__(self, pidfile: Path, workdir: Path):
        self.pidfile = pidfile
        self.workdir = workdir
        self.running = True

    def stop(self) -> None:
        if self.running:
            services.stop_pidfile(self.pidfile)
            self.running = False


def _short_tempdir(prefix: str) -> Path:
    # Unix socket paths must stay short: not under pytest's long tmp_path.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


@contextmanager
def own_redis():
    """A private redis-server on a temporary socket, used by the code under test."""
    workdir = _short_tempdir("pk-redis-")
    sock = workdir / "r.sock"
    saved = settings.REDIS_URL
    server = Server(services.start_redis_server(sock, workdir, persist=False), workdir)
    settings.REDIS_URL = f"unix://{sock}"
    reset_redis()
    picker.reset_state()
    try:
        yield server
    finally:
        server.stop()
        settings.REDIS_URL = saved
        reset_redis()
        picker.reset_state()
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def own_memcached():
    """A private memcached on a temporary socket, used by the picker's pool."""
    workdir = _short_tempdir("pk-mc-")
    sock = workdir / "m.sock"
    saved = settings.MEMCACHED_SERVERS
    server = Server(services.start_memcached_server(sock, workdir), workdir)
    settings.MEMCACHED_SERVERS = [f"unix:{sock}"]
    pool.reset_client()
    try:
        yield server
    finally:
        server.stop()
        settings.MEMCACHED_SERVERS = saved
        pool.reset_client()
        shutil.rmtree(workdir, ignore_errors=True)


# --- reservations (capacity-aware: see assignments/picker/tiers.lua) ---------------------------


def holds_of(assignment) -> dict[str, float]:
    """The assignment's reservations, live or expired: "<page>:<holder>" -> expiry (us)."""
    return dict(get_redis().zrange(keys.assignment_holds(assignment.pk), 0, -1, withscores=True))


def held_pages(assignment) -> set[int]:
    """The pages of the assignment with at least one reservation."""
    return {int(member.split(":", 1)[0]) for member in holds_of(assignment)}


def take_place(assignment, page_id: int, holder: str, *, seconds: float = 60.0) -> bool:
    """``holder`` (another reviewer) takes one of the page's free places, as a pick would
    (``reserve.lua``, not remembered). False when it has none."""
    from assignments.picker.scripts import RESERVE

    reply = RESERVE.run(get_redis(), assignment.pk, seconds, holder, "0", "", 0, 0, page_id)
    return bool(reply)


def fill(assignment, page_ids: list[int], *, seconds: float = 60.0) -> dict[str, float]:
    """Other reviewers take every free place of ``page_ids``; returns their reservations."""
    members = []
    for page_id in page_ids:
        n = 0
        while take_place(assignment, page_id, f"o{page_id}x{n}", seconds=seconds):
            members.append(f"{page_id}:o{page_id}x{n}")
            n += 1
    holds = holds_of(assignment)
    return {m: holds[m] for m in members}


def release_place(assignment, page_id: int, holder: str) -> None:
    """End ``holder``'s reservation of the page (as a skip does)."""
    from assignments.picker.scripts import RELEASE

    RELEASE.run(get_redis(), assignment.pk, page_id, holder, "release")


def clear_holds(assignment) -> None:
    """End every reservation of the assignment (their places are free again)."""
    for member in holds_of(assignment):
        page_id, holder = member.split(":", 1)
        release_place(assignment, int(page_id), holder)
