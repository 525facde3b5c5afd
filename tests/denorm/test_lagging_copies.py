"""check_denormalisations reports a copy that lags by design (the picker's memcached pool,
refilled every minute) as "lagging (within N s, repaired by ...)" and passes; it fails only when
the copy is stale past its stated bound (nobody refilled it)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from assignments import picker, pool
from assignments.denormalisations import POOL_LAG_SECONDS
from denorm import registry
from lib import keys
from reviews.actions import submit_review
from tests import factories
from tests.assignments._picker_support import own_memcached

pytestmark = pytest.mark.django_db


@pytest.fixture
def memcached():
    with own_memcached() as server:
        yield server


@pytest.fixture
def stale_pool(memcached):
    """A pool filled, then three of its pages reviewed to their threshold (ordinary reviews)."""
    doc = factories.make_document(pages=6)
    assignment = factories.make_assignment(documents=[doc], threshold=1)
    picker.refill_pool(assignment_id=assignment.pk)
    for page_id in list(doc.pages.values_list("pk", flat=True))[:3]:
        submit_review(reviewer=factories.make_user(), page_id=page_id, only_open_pages=True)
    return assignment


def _check() -> str:
    out = io.StringIO()
    call_command("check_denormalisations", "assignment-pool", stdout=out)
    return out.getvalue()


def test_a_pool_stale_within_its_bound_is_lagging_and_the_check_passes(stale_pool):
    text = _check()
    assert f"assignment-pool: lagging (3 stale, within {POOL_LAG_SECONDS} s, repaired by" in text
    assert registry.get("assignment-pool").lag_seconds == POOL_LAG_SECONDS


def test_a_pool_stale_past_its_bound_fails_the_check(stale_pool):
    key = keys.assignment_pool(stale_pool.pk)
    pool._client().run(keys.assignment_pool_filled(stale_pool.pk), "set", b"0", route=key)  # filled long ago
    with pytest.raises(CommandError, match="assignment-pool"):
        _check()


def test_a_fresh_pool_is_simply_ok(memcached):
    doc = factories.make_document(pages=3)
    assignment = factories.make_assignment(documents=[doc], threshold=1)
    picker.refill_pool(assignment_id=assignment.pk)
    assert "assignment-pool: ok" in _check()
