"""A Celery worker SIGKILLed in the middle of a denormalisation rebuild (the staff "Rebuild"
button's task): acks_late redelivers the task, the next worker process completes the rebuild,
and no reader ever sees a half-built set (each set is built under a temporary key and swapped in
atomically), before, during or after the kill. For real: a worker process of its own on the real
Redis broker and the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest
from django.conf import settings
from django.db import connection

from denorm import operations
from denorm.models import DenormalisationState
from denorm.registry import all_entries
from lib import keys
from lib.redis_client import get_redis
from tests import factories

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = 150
PAGES = 1200
# A member no page has: planted in every live to-do set so that a set the rebuild has swapped in
# (without it) is told from one it has not reached yet (with it).
PLANTED = "999999999"


def start_worker(log: Path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in {"CROWD_TESTING", "TEST_REDIS_DB"}}
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{quote(db['HOST'], safe='')}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        MEMCACHED_SERVERS=",".join(settings.MEMCACHED_SERVERS),
        DB_POOL="0",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-c", "1", "--pool", "prefork",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
    )  # fmt: skip


def stop_worker(worker: subprocess.Popen) -> None:
    worker.terminate()  # warm shutdown; the whole process group if it does not finish
    try:
        worker.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)


class Reader(threading.Thread):
    """Reads every assignment's to-do set and its ranked mirror, pipelined, again and again, and
    records any size that is neither the old whole set (planted member included) nor the new."""

    def __init__(self, assignment_ids: list[int], whole: int):
        super().__init__(daemon=True)
        self.ids, self.whole = assignment_ids, whole
        self.stop = threading.Event()
        self.reads = 0
        self.torn: list[tuple[str, int]] = []

    def run(self) -> None:
        client = get_redis()
        while not self.stop.is_set():
            pipe = client.pipeline(transaction=False)
            for a in self.ids:
                pipe.scard(keys.assignment_todo(a))
                pipe.zcard(keys.assignment_todo_rank(a))
            sizes = pipe.execute()
            for i, size in enumerate(sizes):
                if size not in (self.whole, self.whole + 1):
                    self.torn.append((("todo", "rank")[i % 2] + f" of {self.ids[i // 2]}", size))
            self.reads += 1


def planted_in(assignment_ids: list[int]) -> int:
    """How many to-do sets still hold the planted member (not swapped by the rebuild yet)."""
    pipe = get_redis().pipeline(transaction=False)
    for a in assignment_ids:
        pipe.sismember(keys.assignment_todo(a), PLANTED)
    return sum(pipe.execute())


def test_a_worker_killed_mid_rebuild_is_redelivered_and_readers_never_see_a_half_built_set(
    tmp_path, client, editor
):
    documents = [factories.make_document(pages=PAGES // 4) for _ in range(4)]
    assignment_ids = [factories.make_assignment(documents=documents).pk for _ in range(ASSIGNMENTS)]
    operations.rebuild_entries(all_entries())  # every copy whole, the assignments' sets included
    client_redis = get_redis()
    pipe = client_redis.pipeline(transaction=False)
    for a in assignment_ids:  # drift the rebuild will remove, one set at a time
        pipe.sadd(keys.assignment_todo(a), PLANTED)
        pipe.zadd(keys.assignment_todo_rank(a), {PLANTED: 0})
    pipe.execute()
    client.force_login(editor)
    log = tmp_path / "worker.log"
    worker = start_worker(log)
    reader = Reader(assignment_ids, whole=PAGES)
    reader.start()
    try:
        # The staff "Rebuild" button queues the task (and takes the rebuild lock).
        response = client.post("/staff/denormalisations/assignment-todo/rebuild/")
        assert response.status_code == 302

        # Mid-rebuild: some assignments' sets swapped in already, others not yet.
        deadline = time.monotonic() + 120
        while not 0 < planted_in(assignment_ids) < ASSIGNMENTS - 10:
            assert worker.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the rebuild never started"
            time.sleep(0.005)
        (child,) = psutil.Process(worker.pid).children()
        os.kill(child.pid, signal.SIGKILL)
        left = planted_in(assignment_ids)
        assert 0 < left < ASSIGNMENTS, "not killed in the middle of the rebuild"

        # The redelivered task (acks_late, reject on worker lost) completes it in a new process.
        deadline = time.monotonic() + 120
        while (
            planted_in(assignment_ids)
            or not client_redis.get(keys.built_marker("assignment-todo"))
            or (client_redis.exists(keys.rebuild_lock("assignment-todo")))
        ):
            assert worker.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the redelivered rebuild never completed"
            time.sleep(0.05)
        reads_after = reader.reads
        deadline = time.monotonic() + 30
        while reader.reads < reads_after + 5:  # readers keep reading whole sets afterwards
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        reader.stop.set()
        reader.join(30)
        stop_worker(worker)

    assert "WorkerLostError" in log.read_text()  # the kill was seen as such, and redelivered
    assert reader.reads > 20, "the reader did not read during the rebuild"
    assert reader.torn == [], f"half-built sets seen by a reader: {reader.torn[:5]}"
    # The killed attempt's temporary keys are litter that expires, never read, never permanent.
    litter = list(client_redis.scan_iter(match="*:tmp:*", count=1000))
    assert all(0 < client_redis.ttl(key) <= 3600 for key in litter)
    # Zero drift: every registered copy agrees with Postgres.
    drifted = [(e.name, str(d)) for e, d in operations.check_entries(all_entries()) if not d.ok]
    assert drifted == []
    assert DenormalisationState.objects.get(name="assignment-todo").last_rebuild_at is not None
