"""Issue 21: a review costs the same whatever the number of active assignments. Ending,
copying and releasing reservations touch only the assignments that contain the page, and the
scripts go by SHA. Measured with the real Redis server's own counters (INFO commandstats, which
count the commands run inside scripts too) and the round trips the client sends.

The counters are the whole server's, so the test runs on a redis-server of its own: on the shared
one, a Celery worker or a dev server polling its broker there (BRPOP, its tasks' scripts) was
counted as the picker's cost and failed the comparison now and then."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from django.test import Client

from assignments.models import Assignment
from lib import redis_scripts, services
from lib.redis_client import get_redis, reset_redis
from tests import factories
from tests.assignments._picker_support import build_sets
from tests.round_trips import counting

pytestmark = pytest.mark.django_db(transaction=True)

CYCLES = 8


@pytest.fixture
def own_redis(settings):
    """A throwaway redis-server that only this test's process talks to."""
    workdir = Path(tempfile.mkdtemp(prefix="cost-redis-", dir="/tmp"))  # short socket path
    sock = workdir / "r.sock"
    pidfile = services.start_redis_server(sock, workdir, persist=False)
    settings.REDIS_URL = f"unix://{sock}"
    reset_redis()
    # Loaded up front: a script first used inside a measured window would answer NOSCRIPT there
    # and cost one EVALSHA more (the shared server had them from earlier tests).
    assert redis_scripts.load_defined(get_redis()) > 10
    yield
    reset_redis()
    services.stop_pidfile(pidfile)
    shutil.rmtree(workdir, ignore_errors=True)


def _stats() -> dict[str, int]:
    return {
        name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in get_redis().info("commandstats").items()
    }


def _cycles(client: Client, monkeypatch) -> tuple[dict[str, float], float]:
    """CYCLES review cycles (screen, submit): Redis commands per cycle by name, and round trips."""
    response = client.get("/review/next/")
    url = response["Location"]
    client.get(url)  # one cycle unmeasured: the first review of all makes the account
    url = client.post(url, {"action": "submit"})["Location"]
    get_redis().config_resetstat()
    with counting(monkeypatch) as trips:
        for _ in range(CYCLES):
            assert client.get(url).status_code == 200
            response = client.post(url, {"action": "submit"})
            assert response.status_code == 302, response.status_code
            url = response["Location"]
    stats = _stats()
    stats.pop("config|resetstat", None)
    stats.pop("config", None)
    stats.pop("info", None)
    return {name: calls / CYCLES for name, calls in stats.items()}, trips["redis"] / CYCLES


def test_a_review_cycle_costs_the_same_with_30_other_active_assignments(
    own_redis, tags, settings, monkeypatch
):
    settings.REVIEW_FAST_PATH = False
    doc = factories.make_document(pages=400)
    factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN, threshold=1)
    build_sets()
    client = Client()
    alone, trips_alone = _cycles(client, monkeypatch)

    for _ in range(30):  # a newsroom's other assignments: other documents, all open
        factories.make_assignment(documents=[factories.make_document(pages=3)], threshold=2)
    build_sets()
    crowded, trips_crowded = _cycles(client, monkeypatch)

    # Scripts by SHA, never their text; as many script calls and round trips either way.
    assert alone.get("eval", 0) == crowded.get("eval", 0) == 0, (alone, crowded)
    assert alone["evalsha"] == crowded["evalsha"], (alone, crowded)
    assert trips_alone == trips_crowded, (trips_alone, trips_crowded, alone, crowded)
    # Every command, those run by the scripts included: the draws' sampled ranks vary a little.
    total_alone, total_crowded = sum(alone.values()), sum(crowded.values())
    assert total_crowded <= total_alone * 1.2, (alone, crowded)
