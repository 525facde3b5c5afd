"""Known-answer (gold) pages mixed into a reviewer's picks at a tapering rate.

Gravity Spy asked for gold at 40% of a newcomer's first 20 subjects, tapering to 10% (panoptes
#1895); ours: ``GOLD_RATE_NEW`` (0.2) over a reviewer's first ``GOLD_NEWCOMER_REVIEWS`` (20)
reviews, then ``GOLD_RATE`` (0.05). Never the same gold page twice for one reviewer (their
reviews and skips), and nothing on screen says a page is gold: it is served like any other.

The choice among the gold pages a reviewer has not seen is uniform: gold pages are a few dozen
to a few hundred editor-made rows, so a random order over them (``ORDER BY random()`` on
``consensus_goldanswer``, bounded by its size) costs less than anything cleverer, and it is
never run over ``reviews_page``.
"""

from __future__ import annotations

import random
import types
from functools import cache

from django.conf import settings
from django.db import connection
from psycopg import sql

from assignments import scope
from assignments.models import Assignment
from catalogue.models import Page
from consensus.models import GoldAnswer
from lib.sql_names import compose
from reviews.models import Review, Skip

TABLES = {"review": Review, "goldanswer": GoldAnswer, "page": Page, "skip": Skip}


# The reviewer's reviews (counted only as far as the taper needs: index
# review_reviewer_created_idx) and a gold page they have not reviewed or skipped, at random,
# among those they may review: public (not embargoed, not withdrawn) and open (its document in
# an active assignment, as ``submit_review`` requires).
@cache  # scope's fragments: built on first use, when the models are loaded
def _gold_sql() -> str:
    return compose(
        """
    SELECT (SELECT count(*) FROM (SELECT 1 FROM {review} WHERE reviewer_id = %(uid)s LIMIT %(cap)s) r),
           (SELECT g.page_id FROM {goldanswer} g JOIN {page} p ON p.id = g.page_id
             WHERE p.withdrawn_at IS NULL AND p.public
               AND EXISTS (SELECT 1 FROM {assignment} a WHERE a.active
                           AND a.id IN ({containing}))
               AND NOT EXISTS (SELECT 1 FROM {review} r WHERE r.reviewer_id = %(uid)s AND r.page_id = g.page_id)
               AND NOT EXISTS (SELECT 1 FROM {skip} s WHERE s.reviewer_id = %(uid)s AND s.page_id = g.page_id)
             ORDER BY random() LIMIT 1)""",
        containing=sql.SQL(scope.assignments_of_document_sql("p.document_id")),
        assignment=Assignment,
        **TABLES,
    )


def gold_rate(reviews_so_far: int) -> float:
    """The share of picks that are gold for a reviewer with this many reviews."""
    if reviews_so_far < settings.GOLD_NEWCOMER_REVIEWS:
        return settings.GOLD_RATE_NEW
    return settings.GOLD_RATE


def pick_gold_page(*, user_id: int | None, rng: random.Random | None = None) -> int | None:
    """A gold page for this reviewer now, or None (not this time, none left, or a visitor
    without an account yet: their first review makes one, and they get gold from then).

    Thinning, so that most picks pay nothing: a first draw against the highest rate decides
    without a query (four picks in five at the defaults); only then one query reads the
    reviewer's count and an unseen gold page, and the draw is kept with probability
    ``rate / highest``, so that the chance of gold is exactly ``gold_rate``."""
    if user_id is None:
        return None
    draw_from: random.Random | types.ModuleType = rng or random
    highest = max(settings.GOLD_RATE_NEW, settings.GOLD_RATE)
    draw = draw_from.random()
    if draw >= highest:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_gold_sql(), {"uid": user_id, "cap": settings.GOLD_NEWCOMER_REVIEWS})
        done, page_id = cursor.fetchone()
    if draw >= gold_rate(done):
        return None
    return page_id
