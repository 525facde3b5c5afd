"""The picker's first draw skips the seen-set filter while the reviewer has seen little of a
large to-do set: the Postgres check must still refuse the pages the reviewer saw."""

from __future__ import annotations

import pytest

from assignments import picker
from assignments.picker import pick_next_page
from config import keys
from config.redis_client import get_redis
from reviews.actions import skip_page, submit_review
from tests import factories
from tests.assignments._picker_support import build_sets


@pytest.mark.django_db
def test_it_never_serves_a_seen_page_when_the_first_draw_is_not_filtered_by_the_seen_set(settings, reviewer):
    settings.PICKER_RESERVATION_SECONDS = 0
    doc = factories.make_document(pages=200)
    assignment = factories.make_assignment(documents=[doc], threshold=5)
    ids = list(doc.pages.values_list("pk", flat=True))
    seen = ids[:12]  # 6% of the set: below 1 / SEEN_FILTER_RATIO, so no SMISMEMBER in round one
    assert len(seen) * picker.SEEN_FILTER_RATIO < len(ids)
    for page_id in seen[:8]:
        submit_review(reviewer=reviewer, page_id=page_id)
    for page_id in seen[8:]:
        skip_page(reviewer=reviewer, page_id=page_id)
    build_sets()
    served = {pick_next_page(assignment=assignment, reviewer=reviewer).page_id for _ in range(400)}
    assert served and not served & set(seen)
    assert served <= set(ids)
    # The seen pages drawn and refused by Postgres are still in the reviewer's seen set.
    assert get_redis().smismember(keys.reviewer_seen(reviewer.pk), seen) == [1] * len(seen)
