"""Concurrent submits, for real: threads with their own database connections submit reviews at
once (several reviewers racing on the same pages, and each reviewer in two threads at once, as
from two tabs, so one reviewer's count is raised concurrently); every board and the 48-hour
table hold exact counts afterwards, equal to Postgres."""

import threading

import pytest
from django.db import connection

from contributors import leaderboards
from contributors.leaderboards import ALL, ASSIGNMENT, MEMBER, PARTY
from lib.redis_client import get_redis
from reviews.actions import submit_review
from reviews.models import Review
from tests import factories
from tests.contributors._support import board, build, drift

pytestmark = pytest.mark.django_db(transaction=True)  # real commits: receivers run on commit


def test_concurrent_submits_leave_exact_counts(tags):
    party = factories.make_party()
    member = factories.make_member(party=party)
    doc = factories.make_document(member=member, pages=12)
    assignment = factories.make_assignment(members=[member], threshold=8)
    pages = list(doc.pages.order_by("number"))
    users = [factories.make_user(f"racer-{i}") for i in range(3)]
    build()
    halves = [pages[0::2], pages[1::2]]
    work = [(user, half) for user in users for half in halves]  # two threads per reviewer
    barrier = threading.Barrier(len(work))
    errors = []

    def run(user, mine):
        try:
            barrier.wait()
            for page in mine:  # 3 reviewers race on each page, 2 threads on each reviewer
                submit_review(
                    reviewer=user, page_id=page.pk, tag_slugs=["receipt"], assignment_id=assignment.pk
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert Review.objects.count() == len(users) * len(pages)
    expected = {u.pk: len(pages) for u in users}
    assert board(ALL) == expected
    assert board(ASSIGNMENT, assignment.pk) == expected
    assert board(MEMBER, member.pk) == expected
    assert board(PARTY, party.pk) == expected
    from contributors import selectors

    assert {r.user_id: r.count for r in selectors.recent_table(limit=10).rows} == expected
    assert drift() == {}
    # The overall board under the key the site reads it from (leaderboards.OVERALL), not only
    # under the key the test helper computes.
    raw = get_redis().zrange(leaderboards.OVERALL.key, 0, -1, withscores=True)
    assert {int(member): int(score) for member, score in raw} == expected
