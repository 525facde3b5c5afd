"""While Redis is down, reviews, skips and anonymous writes go through and the logs get one
warning line per outage (not a traceback per request); the seen sets are flagged stale so the
beat task rebuilds them once Redis is back."""

import logging

import pytest
from django.test import RequestFactory

from denorm.models import DenormalisationState
from reviews import ratelimit
from reviews.actions import skip_page, submit_review
from reviews.models import Review, Skip
from tests import factories


def _warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.django_db(transaction=True)  # real commits: the receivers run on commit, as in production
def test_it_logs_one_line_for_many_reviews_and_skips_and_flags_the_seen_sets(
    stopped_redis, reviewer, tags, caplog
):
    doc = factories.make_document(pages=8)
    # In an open assignment: its picker copies (reservations, to-do mirror) are what a review
    # touches after commit; a page in none touches none.
    factories.make_assignment(documents=[doc])
    pages = list(doc.pages.order_by("number"))
    caplog.clear()  # the assignment's own refresh failed too: not what this test counts
    caplog.set_level(logging.WARNING)
    for page in pages[:6]:
        assert submit_review(
            only_open_pages=False, reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"]
        ).created
    for page in pages[6:]:
        assert skip_page(only_open_pages=False, reviewer=reviewer, page_id=page.pk)

    assert Review.objects.filter(reviewer=reviewer).count() == 6
    assert Skip.objects.filter(reviewer=reviewer).count() == 2
    warnings = _warnings(caplog)
    # One line per outage for each kind of copy (not one per review or skip): the seen sets;
    # the leaderboards; the picker's to-do mirror, whose scores each review changes (after
    # commit, with the reservation it ends); the reservations skips end (they expire by
    # themselves: not flagged).
    assert sorted(r.getMessage().split(":")[0] for r in warnings) == [
        "assignment done/todo sets not updated, Redis unavailable (flagged stale)",
        # consensus (issue 25): the reviewed page's confidence refresh is queued in Redis
        "confidence refresh not queued, Redis unavailable (flagged stale)",
        "leaderboards not updated, Redis unavailable (flagged stale)",
        "reservation not ended, Redis unavailable",
        "reviewer-seen not updated, Redis unavailable (flagged stale)",
    ]
    assert not any(r.exc_info for r in caplog.records)  # no traceback (send_robust logs one)
    for name in ("reviewer-seen", "assignment-todo-rank"):
        state = DenormalisationState.objects.get(name=name)
        assert state.stale_since is not None
        assert "ConnectionError" in state.stale_reason


@pytest.mark.django_db
def test_the_rate_limiter_falls_back_with_one_line_per_outage(stopped_redis, caplog):
    caplog.set_level(logging.WARNING)
    requests = [RequestFactory().post("/", REMOTE_ADDR=f"198.51.100.{n}") for n in range(20)]
    assert [ratelimit.hit_anonymous_write(r) for r in requests] == [None] * 20
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert warnings[0].getMessage().startswith("rate limits counted per process, Redis unavailable")
    assert not warnings[0].exc_info


@pytest.mark.django_db
def test_first_anonymous_writes_log_one_line_per_outage(stopped_redis, caplog):
    """Each first write of a new browser marks its form's first-write token in Redis; with Redis
    down it fails open (a fresh account each) and says so once, not once per visitor."""
    from reviews.sessions import first_write_account, first_write_token

    caplog.set_level(logging.WARNING)
    created = []
    for n in range(10):
        request = RequestFactory().post(
            "/", {"first_write": first_write_token()}, REMOTE_ADDR=f"198.51.100.{n}"
        )
        with first_write_account(request) as user:
            created.append(user.pk)
    assert len(set(created)) == 10
    warnings = _warnings(caplog)
    assert sorted(w.getMessage().split(",")[0] for w in warnings) == [
        "first-write mark skipped",
        "rate limits counted per process",
    ]
    assert not any(w.exc_info for w in warnings)
