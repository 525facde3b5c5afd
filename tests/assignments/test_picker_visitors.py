"""Issue 21: new visitors over real HTTP (a live server, one cookie jar per visitor), the way the
bug was found: a visitor's first review must not orphan the reservation made before it, a
hoarder must not hold pages from real reviewers, and a visitor keeps their page and following
page when they claim their account or log in.

Reservations are made long here (10 minutes) unless a test needs them to expire: a place
orphaned by a visitor would then stall the assignment for the whole test, which the step bound
of each visitor turns into a failure instead of a wait.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from django.db.models import Count

from assignments.picker.clock import reservations
from bench.visitors import Visitor, visit_all
from catalogue.models import Page
from lib import keys
from lib.redis_client import get_redis
from reviews.models import Review
from tests import factories
from tests.assignments._picker_support import build_sets
from tests.bench._support import run_async

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(live_server, settings, tags):
    settings.RATE_LIMIT_SESSION_PER_MINUTE = 10**6
    settings.RATE_LIMIT_ADDRESS_PER_MINUTE = 10**6
    settings.RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR = 10**6
    settings.RATE_LIMIT_NEXT_PER_ADDRESS_PER_MINUTE = 10**6
    settings.PICKER_RESERVATION_SECONDS = 600
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    url = urlsplit(live_server.url)
    return url.hostname, url.port


def _assignment(pages: int, threshold: int):
    doc = factories.make_document(pages=pages)
    factories.make_assignment(documents=[doc], threshold=threshold, featured="main", slug="visitors")
    build_sets()  # as the beat task does on a running site: the picker's normal source
    return doc


def _own_address(i: int) -> str:
    """Visitor ``i``'s own address (sent as X-Forwarded-For through the trusted loopback proxy;
    no traffic goes there): each visitor counts against its own PICKER_MAX_HOLDS_PER_ADDRESS."""
    return f"198.18.{i // 250}.{i % 250 + 1}"


def _own_address(i: int) -> str:
    """Visitor ``i``'s own address (sent as X-Forwarded-For through the trusted loopback proxy;
    no traffic goes there): each visitor counts against its own PICKER_MAX_HOLDS_PER_ADDRESS."""
    return f"198.18.{i // 250}.{i % 250 + 1}"


def _counts(doc) -> list[int]:
    return sorted(Page.objects.filter(document=doc).values_list("review_count", flat=True))


def _reviews_per_page(doc) -> list[int]:
    rows = Review.objects.filter(page__document=doc).values("page").annotate(n=Count("id"))
    return sorted(row["n"] for row in rows)


@pytest.mark.parametrize("prefetch", [True, False], ids=["prefetch", "no prefetch"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "form posts"])
def test_new_visitors_in_small_waves_finish_without_waiting_or_busy(server, settings, fast, prefetch):
    """30 new visitors, three at a time, on 4 pages at threshold 3: exactly 12 reviews, three a
    page, every visitor reaches the done page, and nobody is ever sent to "busy" (no page is
    ever held by nobody). Before issue 21 each first review orphaned the place its visitor held
    under their pre-account name, and the last pages became unreachable."""
    settings.REVIEW_PREFETCH_NEXT = prefetch
    host, port = server
    doc = _assignment(pages=4, threshold=3)
    visits = []
    for _ in range(10):
        visits += run_async(visit_all(host, port, 3, fast=fast, max_steps=60))
    assert [v.errors for v in visits if v.errors] == []
    assert sum(v.busy for v in visits) == 0
    assert all(v.done for v in visits)
    assert sum(len(v.reviews) for v in visits) == Review.objects.count() == 12
    assert _reviews_per_page(doc) == _counts(doc) == [3, 3, 3, 3]


@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "form posts"])
def test_thirty_new_visitors_at_once_make_exactly_the_reviews_needed(server, fast):
    """30 at once on 12 places: those without a place wait on the busy page (which asks again by
    itself), and all finish with exactly 12 reviews, without any reservation expiring."""
    host, port = server
    doc = _assignment(pages=4, threshold=3)
    visits = run_async(visit_all(host, port, 30, fast=fast, max_steps=400, busy_wait=0.05))
    assert [v.errors for v in visits if v.errors] == []
    assert all(v.done for v in visits)
    assert sum(len(v.reviews) for v in visits) == Review.objects.count() == 12
    assert _reviews_per_page(doc) == [3, 3, 3, 3]


def test_visitors_who_walk_away_hold_their_page_only_until_it_expires(server, settings):
    """200 new visitors at once (each from its own address) on 50 pages at threshold 2, a fifth
    of them leaving after their first review screen: the others wait for those reservations to
    expire, then finish: exactly 100 reviews, never a page past its threshold (the stated
    bound: no overshoot unless a reservation expires while its holder is still reviewing, or an
    address past PICKER_MAX_HOLDS_PER_ADDRESS is served without reservations)."""
    settings.PICKER_RESERVATION_SECONDS = 8  # longer than any reviewer's cycle in this run
    host, port = server
    doc = _assignment(pages=50, threshold=2)
    walkers = frozenset(range(0, 200, 5))
    started = time.monotonic()
    visits = run_async(
        visit_all(
            host,
            port,
            200,
            walk_away=walkers,
            address_of=_own_address,
            max_steps=600,
            busy_wait=0.5,
            in_flight=16,
        )
    )
    assert [v.errors for v in visits if v.errors] == []
    stayers = [v for i, v in enumerate(visits) if i not in walkers]
    assert all(v.done for v in stayers)
    assert all(not v.reviews for i, v in enumerate(visits) if i in walkers)
    assert Review.objects.count() == 100
    assert _reviews_per_page(doc) == [2] * 50
    # Walkers held 40 places firmly (they loaded their screens): the stayers got them by expiry.
    assert time.monotonic() - started >= settings.PICKER_RESERVATION_SECONDS


def test_a_hoarder_gains_nothing(server, settings):
    """100 GET /review/next/ from one address, each with fresh cookies, on 10 pages at threshold
    1: afterwards (once the grace of PICKER_SOFT_GRACE_SECONDS has passed) 10 visitors from
    other addresses review all 10 pages at once, none sent to busy (what a hoarder holds without
    ever loading a review screen is a soft reservation, taken over by a reviewer who needs a
    page); and the hoarder never holds more than PICKER_MAX_HOLDS_PER_ADDRESS places.

    Another assignment has plenty of work, as on a real site: a visitor who finds every page
    left held by the other *visitors* (each about to load or review it) is moved there rather
    than told "busy" (views_next), and stops. Without it that visitor waits on the busy page
    for a moment, rightly, and whether one does depends on the machine's timing. A hoarder's
    holds, by contrast, would move every visitor away at once: the 10 reviews show they did
    not."""
    settings.PICKER_SOFT_GRACE_SECONDS = 1
    host, port = server
    doc = _assignment(pages=10, threshold=1)
    assignment_id = doc.assignments.get().pk
    other = factories.make_document(pages=100)
    factories.make_assignment(documents=[other], threshold=3, slug="plenty")
    build_sets()

    async def hoard():
        for _ in range(100):
            hoarder = Visitor(host, port, address="198.51.100.7")
            try:
                response = await hoarder.connection.request("GET", "/review/next/", headers=hoarder.headers)
                assert response.status == 302, response.status
            finally:
                hoarder.close()

    with reservations.frozen():  # the live server's threads time reservations by it too
        run_async(hoard())
        held = get_redis().hgetall(keys.assignment_address_holds(assignment_id))
        assert 0 < int(held.get("198.51.100.7", 0)) <= 10  # every page, softly
        reservations.advance(
            1.1
        )  # past the soft reservations' grace (a browser would have loaded its screen)
        # The visitors' own soft reservations get a grace long enough for a loaded test machine:
        # only the hoarder's are taken over.
        settings.PICKER_SOFT_GRACE_SECONDS = 30
        visits = run_async(
            visit_all(
                host, port, 10, address_of=lambda i: f"203.0.113.{i + 1}", max_steps=40, stop_when_moved=True
            )
        )
    assert [v.errors for v in visits if v.errors] == []
    assert sum(v.busy for v in visits) == 0
    # Moved: by /review/next/, or by a submit whose reply named a page of the other assignment.
    ours = set(doc.pages.values_list("pk", flat=True))
    assert all(v.done or v.moved or set(v.screens) - ours for v in visits)
    assert Review.objects.filter(page__document=doc).count() == 10
    assert _reviews_per_page(doc) == [1] * 10


def test_one_address_holds_at_most_its_limit(server, settings):
    """Past PICKER_MAX_HOLDS_PER_ADDRESS live reservations, an address's visitors are served pages
    with a free place without reserving them: the other pages stay free for everyone else."""
    settings.PICKER_MAX_HOLDS_PER_ADDRESS = 5
    host, port = server
    doc = _assignment(pages=30, threshold=1)
    assignment_id = doc.assignments.get().pk

    async def hoard():
        for _ in range(40):
            hoarder = Visitor(host, port, address="198.51.100.8")
            try:
                await hoarder.get("/review/next/")  # the review screen too: firm reservations
            finally:
                hoarder.close()

    run_async(hoard())
    r = get_redis()
    assert int(r.hget(keys.assignment_address_holds(assignment_id), "198.51.100.8")) == 5
    assert r.zcard(keys.assignment_holds(assignment_id)) == 5
    assert r.zcount(keys.assignment_todo_rank(assignment_id), "-inf", "(0") == 25  # 25 pages free


def test_the_per_address_count_follows_reservations_that_end(server, settings):
    """A reservation ended by a submit gives its address's place back."""
    settings.PICKER_MAX_HOLDS_PER_ADDRESS = 2
    settings.REVIEW_PREFETCH_NEXT = False
    host, port = server
    doc = _assignment(pages=10, threshold=1)
    assignment_id = doc.assignments.get().pk
    visits = run_async(visit_all(host, port, 1, address_of=lambda i: "198.51.100.9", max_steps=40))
    assert visits[0].done and len(visits[0].reviews) == 10
    assert not get_redis().hget(keys.assignment_address_holds(assignment_id), "198.51.100.9")


def test_sixty_four_new_visitors_on_sixteen_pages_at_threshold_four(server):
    """The liveness scenario of `make bench` (bench/picker_load.py), as behaviour: 64 new visitors
    at once, from their own addresses, start an assignment of 16 pages at threshold 4 (the main
    assignment has plenty of work): all 64 reviews go in, nobody is told "busy", and every
    visitor either reaches the done page or is moved to the assignment with work once every
    page left is held by others (no page held by nobody, no waiting for an expiry)."""
    host, port = server
    big = factories.make_document(pages=300)
    factories.make_assignment(documents=[big], threshold=3, featured="main", slug="main")
    doc = factories.make_document(pages=16)
    factories.make_assignment(documents=[doc], threshold=4, slug="liveness")
    build_sets()
    visits = run_async(
        visit_all(
            host,
            port,
            64,
            address_of=_own_address,
            max_steps=200,
            busy_wait=0.05,
            start="/assignments/liveness/start/",
            stop_when_moved=True,
        )
    )
    assert [v.errors for v in visits if v.errors] == []
    assert sum(v.busy for v in visits) == 0
    assert all(v.done or v.moved for v in visits)
    assert _reviews_per_page(doc) == [4] * 16
