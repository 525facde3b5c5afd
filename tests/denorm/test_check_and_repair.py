"""The periodic check-and-repair (beat): copies broken by hand, with raw SQL and raw Redis
commands, are found, repaired, shown on the staff page and logged, without anyone running a
command."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from denorm import operations, registry, tasks
from denorm.models import DenormalisationState
from denorm.registry import Denormalisation, Drift
from lib import keys
from lib.redis_client import get_redis, reset_redis
from reviews.actions import submit_review
from tests import factories
from tests.denorm_support import drift, imported, maintained_on_commit

pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(settings.BASE_DIR)


@pytest.fixture
def world(reviewer, reviewer2, tags):
    """One party's document of three pages in an assignment with threshold 2: page 0 reviewed
    twice (done), page 1 once (to do), page 2 never; every copy built."""
    party = factories.make_party()
    doc = imported(member=factories.make_member(party=party), pages=3)
    pages = list(doc.pages.order_by("number"))
    assignment = factories.make_assignment(parties=[party], threshold=2)
    for user in (reviewer, reviewer2):
        submit_review(reviewer=user, page_id=pages[0].pk, tag_slugs=["receipt"], assignment_id=assignment.pk)
    submit_review(reviewer=reviewer, page_id=pages[1].pk, tag_slugs=[], assignment_id=assignment.pk)
    operations.rebuild_entries(registry.all_entries())
    assert drift() == {}
    return {"doc": doc, "pages": pages, "assignment": assignment, "reviewer": reviewer}


def break_by_hand(world) -> None:
    """What a hand-made fix (or a forgotten ``changed()``) leaves behind: no declaration at all."""
    pages, a, doc = world["pages"], world["assignment"], world["doc"]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE reviews_page SET review_count = 99 WHERE id = %s", [pages[2].pk])
        cursor.execute("UPDATE assignments_assignment SET completed_count = 7 WHERE id = %s", [a.pk])
        cursor.execute(
            "UPDATE reviews_reviewer SET review_count = 5 WHERE user_id = %s", [world["reviewer"].pk]
        )
        cursor.execute("UPDATE reviews_document SET page_count = 1 WHERE id = %s", [doc.pk])
        cursor.execute("DELETE FROM reviews_pagetag WHERE page_id = %s", [pages[0].pk])
    client = get_redis()
    client.srem(keys.assignment_todo(a.pk), pages[1].pk)
    client.zrem(keys.assignment_todo_rank(a.pk), pages[1].pk)
    client.sadd(keys.assignment_done(a.pk), 987654)
    client.sadd(keys.document_pages(doc.pk), 987654)  # a page that does not exist
    client.srem(keys.reviewer_seen(world["reviewer"].pk), pages[0].pk)
    client.srem(keys.active_assignments(), a.pk)
    client.sadd(keys.party_pages(424242), pages[0].pk)  # a stray set of a party that does not exist


BROKEN = {
    "page-review-count", "assignment-progress", "reviewer-review-count", "document-page-count",
    "page-tags", "assignment-todo", "assignment-todo-rank", "assignment-done", "document-pages",
    "reviewer-seen", "active-assignments", "party-pages",
}  # fmt: skip


def test_the_beat_task_repairs_copies_broken_by_hand_and_says_so(world, client, editor, caplog):
    break_by_hand(world)
    # The page's hand-made 99 reviews also put its assignment's review count out; the recount
    # that repairs assignment-progress (earlier in order) sets all the assignment's counters.
    assert set(drift(maintained_on_commit())) == BROKEN | {"assignment-review-count"}
    with caplog.at_level(logging.WARNING, logger="crowd.denormalisation"):
        repaired = tasks.check_and_repair_denormalisations.apply().get()
    # The pool held page 2: refilled too. The PageTag rows page-tags re-inserts are then listed
    # by page-tag-listed-at (checked after it), a repair of a copy of a copy.
    assert set(repaired) - {"assignment-pool"} == BROKEN | {"page-tag-listed-at"}
    assert drift() == {}
    # Counters were repaired before the sets that read them: page 2 is not "done" at 99 reviews.
    assert str(world["pages"][2].pk) not in get_redis().smembers(keys.assignment_done(world["assignment"].pk))

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for name in BROKEN:
        assert any(m.startswith(f"denormalisation {name} drifted") for m in warnings), name
    assert f"page {world['pages'][2].pk}: 99, should be 0" in caplog.text

    # check_entries (drift() above) overwrote the check columns: run the task again to see what
    # the staff page keeps of a repair.
    break_by_hand(world)
    tasks.check_and_repair_denormalisations.apply()
    client.force_login(editor)
    html = client.get("/staff/denormalisations/").content.decode()
    rows = {name: html.split(f'data-name="{name}"', 1)[1].split("</tr>", 1)[0] for name in BROKEN}
    assert "missing 0, extra 0, wrong 1" in rows["page-review-count"]
    assert f"page {world['pages'][2].pk}: 99, should be 0" in rows["page-review-count"]
    assert "recount of the drifted rows; found missing 0, extra 0, wrong 1" in rows["page-review-count"]
    assert "member by member (SADD/SREM); found missing 0, extra 1, wrong 0" in rows["document-pages"]
    assert "987654 extra" in rows["document-pages"]
    assert "member by member (SADD/SREM); found missing 1, extra 0, wrong 0" in rows["assignment-todo"]
    state = DenormalisationState.objects.get(name="assignment-todo-rank")
    assert state.last_repair_at is not None and state.last_check_seconds is not None


def test_a_run_with_nothing_broken_repairs_nothing_and_logs_no_warning(world, caplog):
    with caplog.at_level(logging.WARNING, logger="crowd.denormalisation"):
        assert tasks.check_and_repair_denormalisations.apply().get() == []
    assert not caplog.records
    states = DenormalisationState.objects.in_bulk(field_name="name")
    assert {e.name for e in registry.all_entries()} <= set(states)  # everything checked at demo scale
    assert all(s.last_check_ok and not s.last_repair_at for s in states.values())


def test_an_entry_whose_rebuild_is_queued_or_running_is_checked_not_repaired(world):
    """The repair takes the entry's rebuild lock; a rebuild holding it does the repair instead."""
    get_redis().set(keys.rebuild_lock("page-review-count"), "1")
    get_redis().set(keys.rebuild_lock("assignment-needed"), "1")  # shares its rebuild with the to-do set
    break_by_hand(world)
    repaired = tasks.check_and_repair_denormalisations.apply().get()
    assert {"page-review-count", "assignment-todo", "assignment-done", "assignment-todo-rank"}.isdisjoint(
        repaired
    )
    assert set(drift(["page-review-count", "assignment-todo"])) == {"page-review-count", "assignment-todo"}
    assert get_redis().exists(keys.rebuild_lock("page-review-count"))  # not taken from the rebuild
    state = DenormalisationState.objects.get(name="page-review-count")
    assert state.last_check_ok is False and not state.last_repair_at


def test_an_entry_without_a_repair_is_rebuilt(world, monkeypatch):
    built = []
    fake = Denormalisation(
        name="fake-copy", description="", derived_from="", lives_in="", kept_current_by="",
        rebuild=lambda: built.append(1), check=lambda: Drift(wrong=0 if built else 1),
    )  # fmt: skip
    monkeypatch.setitem(registry._registry, "fake-copy", fake)
    assert "fake-copy" in tasks.check_and_repair_denormalisations.apply().get()
    assert built == [1]
    assert DenormalisationState.objects.get(name="fake-copy").last_repair.startswith("rebuild; found")
    assert not get_redis().exists(keys.rebuild_lock("fake-copy"))


def test_a_small_budget_checks_the_oldest_entries_and_rotates(world, settings):
    """At scale each run covers what fits in the budget; the next run carries on from there."""
    operations.check_and_repair(budget_seconds=60)  # measures every entry's check time
    DenormalisationState.objects.update(last_check_seconds=1.0)
    settings.DENORMALISATION_CHECK_BUDGET_SECONDS = 3
    names = [e.name for e in registry.all_entries()]
    seen: list[str] = []
    for _ in range(-(-len(names) // 3)):
        outcomes = operations.check_and_repair(budget_seconds=3)
        assert len(outcomes) <= 3
        seen += [o.name for o in outcomes]
        DenormalisationState.objects.update(last_check_seconds=1.0)
    # One full cycle in ceil(16 / 3) runs: no entry again before every other one had its turn.
    runs = -(-len(names) // 3)
    assert set(seen) == set(names) and len(seen) == 3 * runs
    assert len(set(seen[: 3 * (runs - 1)])) == 3 * (runs - 1)


def test_with_redis_down_the_task_logs_one_line_and_returns(world, settings, caplog):
    settings.REDIS_URL = "unix:///tmp/crowd-b-no-redis.sock?db=0"
    reset_redis()
    try:
        with caplog.at_level(logging.WARNING, logger="crowd.denormalisation"):
            assert tasks.check_and_repair_denormalisations.apply().get() == []
    finally:
        reset_redis()
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith("denormalisation check skipped, Redis unavailable")


def test_two_runs_never_overlap(world):
    get_redis().set(keys.check_lock(), "1")
    assert operations.check_and_repair(budget_seconds=60) == []


# --- A real worker with beat --------------------------------------------------------------------

_WORKER_APP = "tests.denorm._beat_worker_app"


@pytest.mark.slow
def test_a_real_beat_repairs_a_copy_broken_by_hand_within_two_minutes(world):
    """`celery worker --beat` against this checkout's embedded services and the test database,
    checking every 2 s (DENORMALISATION_CHECK_SECONDS): drift made with raw SQL and raw Redis
    commands is gone well within two minutes, without anyone running a command."""
    break_by_hand(world)
    # The page's hand-made 99 reviews also put its assignment's review count out; the recount
    # that repairs assignment-progress (earlier in order) sets all the assignment's counters.
    assert set(drift(maintained_on_commit())) == BROKEN | {"assignment-review-count"}
    workdir = Path(tempfile.mkdtemp(prefix="crowd-beat-", dir="/tmp"))
    log_path = workdir / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(BASE_DIR),
        "CROWD_TESTING": "1",  # the test Redis database (and broker) and the test settings
        "BEAT_TEST_DATABASE": connection.settings_dict["NAME"],
        "DENORMALISATION_CHECK_SECONDS": "2",
    }
    celery = str(Path(sys.executable).parent / "celery")
    with open(log_path, "w") as log:
        # `timeout`: the worker stops by itself even if this test process dies.
        worker = subprocess.Popen(
            ["timeout", "-s", "TERM", "110", celery, "-A", _WORKER_APP, "worker", "--beat", "--pool", "solo",
             "--schedule", str(workdir / "beat-schedule"), "--loglevel", "INFO", "--without-mingle",
             "--without-gossip"],
            env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    started = time.monotonic()
    try:
        while True:
            assert worker.poll() is None, log_path.read_text()[-3000:]
            # Read without recording: check_entries would overwrite what the worker recorded.
            left = {e.name for e in registry.select(maintained_on_commit()) if not e.check().ok}
            if not left:
                break
            assert time.monotonic() - started < 90, f"still drifted: {left}\n{log_path.read_text()[-3000:]}"
            time.sleep(1)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    assert elapsed < 120
    repaired = set(
        DenormalisationState.objects.filter(last_repair_at__isnull=False).values_list("name", flat=True)
    )
    assert repaired >= BROKEN
