"""Retiring pages when the crowd is sure: through the one done rule, the page leaves the Redis
to-do set, the memcached pool and the Postgres fallback, the progress counts it complete, and
every registered copy stays equal to Postgres (zero drift)."""

from __future__ import annotations

import pytest

from assignments import actions as assignment_actions
from assignments import picker, pool
from assignments.models import Assignment, RetiredPage
from assignments.picker import pick_next_page, postgres_source
from catalogue.models import Tag
from consensus import actions, model
from consensus.models import Reliability
from lib import keys
from lib.redis_client import get_redis
from reviews.models import PageTag
from tests import factories
from tests.assignments._picker_support import PICKER_FAMILIES, build_sets
from tests.consensus._support import review
from tests.denorm_support import drift, imported

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def experts(tags):
    """Two reviewers at 0.95 on every tag: weight log 19 each."""
    users = [factories.make_user(f"expert-{i}") for i in range(2)]
    for user in users:
        for tag in Tag.objects.all():
            Reliability.objects.create(
                user=user, tag=tag, accuracy=0.95, weight=model.weight(0.95), updated="2026-12-06T00:00Z"
            )
    return users


def _assignment(retire: bool = True, pages: int = 4):
    doc = imported(None, pages)
    assignment = factories.make_assignment(documents=[doc], threshold=3)
    assignment.retire_when_confident = retire
    assignment.save(update_fields=["retire_when_confident"])
    return assignment, list(doc.pages.order_by("number").values_list("pk", flat=True))


def todo(assignment) -> set[int]:
    return {int(m) for m in get_redis().smembers(keys.assignment_todo(assignment.pk))}


def test_two_agreeing_experts_retire_a_page_everywhere(experts, settings, client):
    settings.PICKER_POOL_SIZE = 10
    settings.RESULTS_IN_ORDER_SETTLE_SECONDS = 0
    assignment, ids = _assignment()
    build_sets()
    assert picker.refill_pool(assignment_id=assignment.pk) == 4
    review(reviewer=experts[0], page_id=ids[0], tag_slugs=["receipt"])
    assert not RetiredPage.objects.exists()  # one review: below min_reviews (2)
    review(reviewer=experts[1], page_id=ids[0], tag_slugs=["receipt"])
    assert list(RetiredPage.objects.values_list("assignment_id", "page_id", "review_count")) == [
        (assignment.pk, ids[0], 2)
    ]
    assert todo(assignment) == set(ids[1:])
    assert int(ids[0]) in {int(m) for m in get_redis().smembers(keys.assignment_done(assignment.pk))}
    assert ids[0] not in pool.get_pool(assignment.pk)
    assert Assignment.objects.get(pk=assignment.pk).completed_count == 1
    # Public from its retirement, though below the public threshold (3): listings and exports.
    assert PageTag.objects.get(page_id=ids[0], tag__slug="receipt").listed_at is not None
    assert f'href="/pages/{ids[0]}/"' in client.get("/tags/receipt/").content.decode()
    assert drift() == {}
    newcomer = factories.make_user("newcomer")
    served = {pick_next_page(assignment=assignment, reviewer=newcomer).page_id for _ in range(20)}
    assert ids[0] not in served
    # The Postgres fallback follows the same rule.
    for _ in range(20):
        assert postgres_source.pick_from_postgres(assignment, newcomer.pk).page_id != ids[0]
    assert ids[0] not in postgres_source.postgres_definitive(assignment, newcomer.pk, limit=100)
    # A late review (the threshold is the ceiling, a reviewer may still submit) crosses nothing.
    review(reviewer=newcomer, page_id=ids[0], tag_slugs=["receipt"])
    assert Assignment.objects.get(pk=assignment.pk).completed_count == 1
    assert drift() == {}


def test_a_rebuild_from_postgres_keeps_retired_pages_done(experts):
    assignment, ids = _assignment()
    for user in experts:
        review(reviewer=user, page_id=ids[1], tag_slugs=[])
    get_redis().flushdb()
    build_sets()  # the picker's families, from Postgres
    assert todo(assignment) == {ids[0], ids[2], ids[3]}
    assert drift([*PICKER_FAMILIES, "assignment-progress"]) == {}


def test_disagreement_or_the_option_off_keeps_the_page_to_do(experts):
    assignment, ids = _assignment()
    review(reviewer=experts[0], page_id=ids[0], tag_slugs=["receipt"])
    review(reviewer=experts[1], page_id=ids[0], tag_slugs=[])
    off, off_ids = _assignment(retire=False)
    for user in experts:
        review(reviewer=user, page_id=off_ids[0], tag_slugs=[])
    assert not RetiredPage.objects.exists()
    assert drift() == {}


def test_newcomers_alone_are_not_enough(tags):
    """Two newcomers (0.6 each) agreeing: odds 2.25, confidence 0.69: still to do."""
    assignment, ids = _assignment()
    for i in range(2):
        review(reviewer=factories.make_user(f"new-{i}"), page_id=ids[0], tag_slugs=[])
    assert not RetiredPage.objects.exists()


def test_the_reestimation_sweep_retires_pages_it_became_sure_of(experts, tags):
    """Reviews by newcomers first; once reliability is set, the sweep after a re-estimation
    retires what is now confident (here: by hand-set weights that the re-fit keeps close)."""
    assignment, ids = _assignment()
    newcomers = [factories.make_user(f"nc-{i}") for i in range(2)]
    for user in newcomers:
        review(reviewer=user, page_id=ids[2], tag_slugs=[])
    assert not RetiredPage.objects.exists()
    for user in newcomers:
        for tag in Tag.objects.all():
            Reliability.objects.create(
                user=user, tag=tag, accuracy=0.99, weight=model.weight(0.99), updated="2099-01-01T00:00Z"
            )
    retired = actions.retire_confident_pages([ids[2]])
    assert retired == {assignment.pk: [ids[2]]}
    assert drift() == {}


def test_confident_means_every_tag_on_one_side_of_the_target():
    assert actions.confident([0.96, 0.04, 0.999], target=0.95)
    assert not actions.confident([0.96, 0.5], target=0.95)
    assert not actions.confident([0.94], target=0.95)


def test_a_lone_review_retires_a_page_only_when_it_is_confidently_untagged():
    # Two reviews or more: every tag on one side of the target, either side.
    assert actions.may_retire([0.99, 0.01], reviews=2, target=0.9, min_reviews=1)
    # One review: a review that applied no tag, every tag confidently absent, or it stays.
    assert actions.may_retire([0.01, 0.05], reviews=1, target=0.9, min_reviews=1, tagged=False)
    assert not actions.may_retire([0.5, 0.01], reviews=1, target=0.9, min_reviews=1, tagged=False)
    # A tag it applied gets a second look, whether the model believes it or overrules it.
    assert not actions.may_retire([0.99, 0.01], reviews=1, target=0.9, min_reviews=1, tagged=True)
    assert not actions.may_retire([0.05, 0.01], reviews=1, target=0.9, min_reviews=1, tagged=True)
    # Never below min_reviews, never with no review.
    assert not actions.may_retire([0.01, 0.01], reviews=1, target=0.9, min_reviews=2)
    assert not actions.may_retire([0.01], reviews=0, target=0.9, min_reviews=0)


def test_with_min_reviews_1_a_trusted_reviewer_who_finds_nothing_retires_the_page_and_a_tag_waits(experts):
    """An expert (0.95) at prevalence 0.5: one "nothing" makes every tag 5% likely, which is
    below 1 - 0.9, so the page leaves. One "receipt" makes receipt 95% likely, above 0.9, yet
    the page stays for a second look, and leaves once the second expert agrees."""
    assignment, ids = _assignment()
    assignment_actions.set_retirement(
        assignment_id=assignment.pk, retire_when_confident=True, confidence_target=0.9, min_reviews=1
    )
    build_sets()
    review(reviewer=experts[0], page_id=ids[0], tag_slugs=[])
    review(reviewer=experts[0], page_id=ids[1], tag_slugs=["receipt"])
    assert set(RetiredPage.objects.values_list("page_id", flat=True)) == {ids[0]}
    assert ids[0] not in todo(assignment) and ids[1] in todo(assignment)
    review(reviewer=experts[1], page_id=ids[1], tag_slugs=["receipt"])
    assert set(RetiredPage.objects.values_list("page_id", flat=True)) == {ids[0], ids[1]}
    assert drift() == {}


def test_a_retired_page_is_public_on_its_page_the_api_and_profiles(experts, client, settings):
    """Below its public threshold (3) but retired: public wherever the listings already say so.
    A page with the same two reviews and no retirement (the option off) is the control."""
    settings.RESULTS_IN_ORDER_SETTLE_SECONDS = 0
    assignment, ids = _assignment()
    off, off_ids = _assignment(retire=False)
    for user in experts:
        review(reviewer=user, page_id=ids[0], tag_slugs=["receipt"])
        review(reviewer=user, page_id=off_ids[0], tag_slugs=["receipt"])
    assert list(RetiredPage.objects.values_list("page_id", flat=True)) == [ids[0]]

    def shown(page_id: int) -> tuple[bool, bool, bool]:
        visible = client.get(f"/pages/{page_id}/").context["tags"].visible
        api = client.get(f"/api/pages/{page_id}/").json()
        profile = client.get(f"/users/{experts[0].username}/").content.decode()
        return (visible, api["tags_visible"], f"/pages/{page_id}/" in profile)

    assert shown(ids[0]) == (True, True, True)
    assert "retired early" in client.get(f"/pages/{ids[0]}/").content.decode()
    assert shown(off_ids[0]) == (False, False, False)
    listed = {row["id"]: row["tags_visible"] for row in client.get("/api/pages/").json()["results"]}
    assert (listed[ids[0]], listed[off_ids[0]]) == (True, False)
