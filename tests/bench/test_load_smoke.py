"""A tiny run of the load benchmark's scenarios against a live Django server: the client follows
the real review flow (form, CSRF token, first-write account, the submit's redirect) and every
review it saw accepted is in Postgres, and no other."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from bench import load_bench
from reviews.models import Review
from tests import factories
from tests.bench._support import run_async

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(live_server, settings, tags):
    settings.RATE_LIMIT_SESSION_PER_MINUTE = 10**6
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 10**6
    settings.RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR = 10**6
    # More pages than three browsers can review in the run: none reaches the "done" page.
    doc = factories.make_document(pages=400)
    factories.make_assignment(documents=[doc], threshold=3, featured="main", slug="load")
    url = urlsplit(live_server.url)
    return url.hostname, url.port


@pytest.mark.parametrize("fast", [True, False], ids=["with JS", "without JS"])
def test_submitted_reviews_equal_the_reviews_in_postgres(server, fast):
    host, port = server
    totals = load_bench.Totals()

    async def scenarios():
        closed, browsers = await load_bench.closed_loop(
            host, port, reviewers=3, seconds=1.5, warmup=0.0, totals=totals, fast=fast
        )
        # The open loop's new reviewers run the script; the closed loop's keep their flow.
        opened = await load_bench.open_loop(host, port, rate=20, seconds=0.5, totals=totals, idle=browsers)
        for browser in browsers:
            browser.close()
        return closed, opened

    closed, opened = run_async(scenarios())
    assert not closed.errors and not opened.errors
    # Every offered open-loop cycle was done (the closed loop's count depends on the machine).
    assert opened.cycles == opened.offered == 10
    assert len(closed.by_kind["submit"]) == closed.cycles > 0
    if fast:
        # One POST per cycle: each browser fetched two review screens, its first (after
        # /review/next/) and the one after its first review (which made its account; the script
        # then loads the whole screen once); every reply after that named the next page.
        assert len(closed.by_kind["next"]) == 3
        assert len(closed.by_kind["screen"]) == 6
    else:
        # A review screen for each cycle (the first reached through /review/next/), and at most
        # one more per browser whose submit was still on its way at the end.
        assert closed.cycles <= len(closed.by_kind["screen"]) <= closed.cycles + 3
    assert totals.unknown == totals.not_recorded == 0
    assert totals.submitted == Review.objects.count() > 0
    # One account per browser (the closed loop's three and any the open loop added): each
    # browser's cookies held its own session.
    accounts = Review.objects.order_by().values("reviewer").distinct().count()
    assert accounts == 3 + opened.reviewers


@pytest.mark.parametrize("fast", [True, False], ids=["with JS", "without JS"])
def test_a_refused_submit_is_an_error_and_not_counted(server, settings, fast):
    """Rate limits left low: refused submits (429, an HTML page in both flows) are errors, and
    submitted still equals Postgres."""
    host, port = server
    settings.RATE_LIMIT_SESSION_PER_MINUTE = 2
    totals = load_bench.Totals()

    async def scenario():
        recorder, browsers = await load_bench.closed_loop(
            host, port, reviewers=1, seconds=2.0, warmup=0.0, totals=totals, fast=fast
        )
        for browser in browsers:
            browser.close()
        return recorder

    recorder = run_async(scenario())
    assert recorder.errors["POST 429"] > 0
    assert totals.submitted == Review.objects.count() > 0
