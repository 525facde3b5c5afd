"""Faults under load, against real servers: a private PostgreSQL, Redis and memcached, a real
gunicorn and a real Celery worker (with beat), and simulated reviewers reviewing over HTTP the
whole time (tests/faults/_stack.py). Each scenario stops a server while they review, brings it
back, and then checks that nobody saw a 5xx (a 503 with Retry-After only while Postgres is down),
that every review the reviewers were told was recorded is in Postgres and no other, and that the
site recovered by itself: no web process or worker was restarted, nobody ran a command."""

from __future__ import annotations

import time

import pytest

from tests.faults._servers import wait_for
from tests.faults._stack import reviewing, running_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack():
    with running_stack() as stack:
        yield stack


def wait_for_reviews(tally, more: int, timeout: float = 60) -> None:
    target = tally.submitted + more
    wait_for(lambda: tally.submitted >= target, f"{more} more reviews (at {tally.submitted})", timeout)


def assert_processes_alive(stack) -> None:
    for name, proc in stack.procs.items():
        assert proc.poll() is None, f"{name} died:\n{stack.log_tail(name)}"


def wait_for_no_drift(stack, timeout: float = 90) -> None:
    """check_denormalisations (the operators' command, read only) reports no drift, once the
    worker's self-healing (queued rebuilds, the periodic check-and-repair) has run."""
    last = None

    def clean() -> bool:
        nonlocal last
        last = stack.check_denormalisations()
        return last.returncode == 0

    try:
        wait_for(clean, "zero drift", timeout)
    except AssertionError:
        raise AssertionError(f"drift remains:\n{last.stdout}\n{last.stderr}") from None


def test_redis_stopped_then_back_empty(stack):
    before = stack.reviews_in_postgres()
    with reviewing(stack) as tally:
        wait_for_reviews(tally, 10)
        stack.stop_redis()
        at_stop = tally.submitted
        wait_for_reviews(tally, 20)  # /review/next/ answers from the memcached pool, then Postgres
        during_outage = tally.submitted - at_stop
        stack.start_redis()  # restarted empty: no sets, no built markers, no queued tasks
        wait_for_reviews(tally, 20)
    assert tally.server_errors() == []
    assert during_outage >= 20
    assert stack.reviews_in_postgres() - before == tally.submitted  # no review lost, none invented
    wait_for_no_drift(stack)
    assert (
        stack.sql("SELECT count(*) FROM reviews_review GROUP BY reviewer_id, page_id HAVING count(*) > 1")
        == []
    )
    assert_processes_alive(stack)


def test_memcached_stopped_then_back(stack):
    before = stack.reviews_in_postgres()
    with reviewing(stack) as tally:
        wait_for_reviews(tally, 10)
        stack.memcached.stop()  # pools gone, sessions read from Postgres (cached_db)
        wait_for_reviews(tally, 20)
        stack.memcached.start()
        wait_for_reviews(tally, 20)
    assert tally.server_errors() == []
    assert stack.reviews_in_postgres() - before == tally.submitted
    assert_processes_alive(stack)


def test_postgres_restarted(stack):
    before = stack.reviews_in_postgres()
    checks_before = stack.sql("SELECT coalesce(max(last_check_at), 'epoch') FROM crowd_denormalisationstate")[
        0
    ][0]
    with reviewing(stack) as tally:
        wait_for_reviews(tally, 10)
        down_at = time.monotonic()
        stack.stop_postgres("fast")
        time.sleep(3)  # requests meanwhile get the 503 page
        stack.start_postgres()
        up_at = time.monotonic()
        wait_for_reviews(tally, 30)  # the same web processes recover, through the psycopg pool
        recovered_at = time.monotonic()
        wait_for_reviews(tally, 20)
    errors = tally.server_errors()
    assert errors, "no request met the restart: the scenario did not exercise it"
    assert {e[3] for e in errors} <= {503}, errors[:5]  # friendly, with Retry-After (checked per reply)
    assert all(down_at <= e[0] <= up_at + 15 for e in errors), errors[:5]
    assert not [e for e in errors if e[0] > recovered_at]
    assert "Traceback" not in "".join(e[4] for e in errors)
    assert stack.reviews_in_postgres() - before == tally.submitted
    # The worker and beat recovered too: the periodic check ran again since the restart.
    wait_for(
        lambda: (
            stack.sql("SELECT coalesce(max(last_check_at), 'epoch') FROM crowd_denormalisationstate")[0][0]
            > checks_before
        ),
        "a periodic check after the restart",
        60,
    )
    assert_processes_alive(stack)


def test_pages_and_documents_deleted_while_reviewers_pick(stack):
    documents = [row[0] for row in stack.sql("SELECT id FROM reviews_document ORDER BY id")]
    doomed_document = documents[-1]
    doomed_pages = {
        r[0] for r in stack.sql("SELECT id FROM reviews_page WHERE document_id = %s", [documents[-2]])
    }
    doomed_pages = set(sorted(doomed_pages)[::2])
    deleted = doomed_pages | {
        r[0] for r in stack.sql("SELECT id FROM reviews_page WHERE document_id = %s", [doomed_document])
    }
    before = stack.reviews_in_postgres()
    with reviewing(stack) as tally:
        wait_for_reviews(tally, 10)
        # Through the actions, which lock the page rows first: a review racing with the delete
        # either committed before it (and goes with its page, counted here) or finds no page.
        out = stack.manage(
            "shell", "-c",
            "from catalogue.actions import delete_document, delete_pages\n"
            f"gone = delete_document(document_id={doomed_document})\n"
            f"gone += delete_pages(page_ids={sorted(doomed_pages)})\n"
            "print('reviews-deleted', gone)\n",
        )  # fmt: skip
        deleted_at = time.monotonic()
        reviews_deleted = int(out.stdout.split("reviews-deleted")[-1].split()[0])
        wait_for_reviews(tally, 30)
    assert stack.sql("SELECT count(*) FROM reviews_page WHERE id = ANY(%s)", [sorted(deleted)]) == [(0,)]
    served_after = [page for started, page in tally.served if started > deleted_at]
    assert served_after and not set(served_after) & deleted
    assert tally.server_errors() == []
    # Every review reported recorded is in Postgres, but for those that went with their pages.
    assert stack.reviews_in_postgres() == before + tally.submitted - reviews_deleted
    wait_for_no_drift(stack)
    assert_processes_alive(stack)
