"""Uniformity where it is hardest: a to-do set large enough to be a hashtable in Redis, pages
held by other reviewers and a reviewer with a history, all at once."""

from __future__ import annotations

import pytest

from assignments import picker
from assignments.picker import pick_next_page
from lib import keys
from lib.redis_client import get_redis
from reviews.actions import skip_page, submit_review
from tests.assignments._picker_support import assert_uniform, build_sets, make_assignment


@pytest.mark.django_db
def test_every_eligible_page_of_a_large_set_is_equally_likely_and_no_seen_or_held_page_is_served(
    settings, reviewer
):
    """640 to-do pages (above 512 ids: a hashtable in Redis, drawn by rank from the mirror);
    the reviewer reviewed 40 and skipped 24 of them; other reviewers hold 48 others, with live
    reservations restored after every pick (so each pick is independent and goes through the
    claim, the release of refused claims and the held/free rules). The remaining 528 pages are
    each drawn with the same probability and no seen or held page is ever served: 6,336 picks
    (12 per page), one sample at a fixed seed, chi-square at p = 0.001 (a uniform picker fails
    one run in 1,000; see ``assert_uniform``)."""
    settings.PICKER_RESERVATION_SECONDS = 60
    assignment, ids = make_assignment(640, threshold=3)
    reviewed, skipped, held = ids[100:140], ids[300:324], ids[500:548]
    for page_id in reviewed:
        submit_review(reviewer=reviewer, page_id=page_id)
    for page_id in skipped:
        skip_page(reviewer=reviewer, page_id=page_id)
    build_sets()
    r = get_redis()
    assert r.object("encoding", keys.assignment_todo(assignment.pk)) in (b"hashtable", "hashtable")
    assert r.scard(keys.assignment_todo(assignment.pk)) == 640  # seen pages are still to do for others
    assert r.scard(keys.reviewer_seen(reviewer.pk)) == 64
    reserved = keys.assignment_reserved(assignment.pk)
    sec, usec = r.time()
    others = {page_id: float((sec + 600) * 1_000_000 + usec + n) for n, page_id in enumerate(held)}
    eligible = sorted(set(ids) - set(reviewed) - set(skipped) - set(held))
    assert len(eligible) == 528

    def draw() -> int:
        r.delete(reserved)
        r.zadd(reserved, others)
        result = pick_next_page(assignment=assignment, reviewer=reviewer)
        assert result.source == "redis"
        return result.page_id

    counts = assert_uniform(draw, eligible, 12 * len(eligible), seed=640)
    assert set(counts) == set(eligible)  # and so never a seen or a held page
    assert r.zmscore(reserved, held) == [others[page_id] for page_id in held]  # never taken over
    assert picker.SEEN_FILTER_RATIO * 64 < 640  # the first draw is not filtered by the seen set
