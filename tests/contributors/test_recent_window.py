"""The most active reviewers of the past 48 hours: a true rolling window. A review counts from
the moment it is made until the end of the 47th hour after its own (it drops out between 47 and
48 hours later) with no rebuild; the clock is moved, never slept on."""

from datetime import UTC, datetime, timedelta

import pytest

from contributors import recent, selectors
from contributors.clock import clock
from lib import keys
from lib.redis_client import get_redis
from tests import factories
from tests.contributors._support import build, drift, review

pytestmark = pytest.mark.django_db

ONE_MICROSECOND = timedelta(microseconds=1)


def counts(viewer=None):
    return {r.username: r.count for r in selectors.recent_table(viewer=viewer).rows}


@pytest.fixture
def pages(db):
    return list(factories.make_document(pages=5).pages.order_by("number"))


def _drop_out_time(created) -> datetime:
    """The first moment a review made at ``created`` is out of the window."""
    return datetime.fromtimestamp((recent.hour_of(created) + recent.WINDOW_HOURS) * 3600, tz=UTC)


def test_a_review_counts_until_its_48th_hour_ends_and_then_drops_out(pages, reviewer, reviewer2, tags):
    build()
    first = review(reviewer, pages[0])
    review(reviewer, pages[1])
    review(reviewer2, pages[0])
    assert counts() == {"alice": 2, "bob": 1}
    leaves = _drop_out_time(first.created)
    with clock.frozen(leaves - ONE_MICROSECOND):
        assert counts() == {"alice": 2, "bob": 1}
        assert leaves - first.created > timedelta(hours=47)
    with clock.frozen(leaves):
        assert counts() == {}
        assert drift([recent.FAMILY_NAME]) == {}  # no rebuild needed: the window moved on


def test_reviews_made_later_stay_when_earlier_ones_leave(pages, reviewer, reviewer2, tags):
    build()
    early = review(reviewer, pages[0])
    leaves = _drop_out_time(early.created)
    # bob reviews 30 hours later (the clock and the review's own time moved together)
    later = review(reviewer2, pages[1])
    from reviews.models import Review

    Review.objects.filter(pk=later.pk).update(created=early.created + timedelta(hours=30))
    with clock.frozen(early.created + timedelta(hours=30)) as moving:
        build()  # the buckets follow the reviews' own times
        assert counts() == {"alice": 1, "bob": 1}
        moving.set(leaves)
        assert counts() == {"bob": 1}
        moving.set(leaves + timedelta(hours=30))
        assert counts() == {}


def test_a_review_joins_the_summed_window_at_once(pages, reviewer, reviewer2, tags):
    build()
    review(reviewer, pages[0])
    assert counts(viewer=reviewer2) == {"alice": 1}  # the window is summed now...
    window = keys.recent_reviewers_window(recent.hour_of(clock.now()))
    assert get_redis().exists(window)
    review(reviewer2, pages[0])
    review(reviewer2, pages[1])
    table = selectors.recent_table(viewer=reviewer)
    assert {r.username: r.count for r in table.rows} == {"bob": 2, "alice": 1}  # ...and kept current
    assert table.viewer.rank == 2
    assert drift([recent.FAMILY_NAME]) == {}


def test_the_rebuild_from_postgres_matches_the_window_at_any_clock(pages, reviewer, tags):
    review(reviewer, pages[0])
    created = review(reviewer, pages[1]).created
    for moment in (created, _drop_out_time(created) - ONE_MICROSECOND, _drop_out_time(created)):
        with clock.frozen(moment):
            get_redis().flushdb()
            build([recent.FAMILY_NAME])
            assert drift([recent.FAMILY_NAME]) == {}
            expected = {"alice": 2} if moment < _drop_out_time(created) else {}
            assert counts() == expected
