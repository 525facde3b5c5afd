"""First looks before second looks: an assignment's order. "Fewest reviews first" (the
default) draws uniformly among the to-do pages with the most free places (the fewest reviews,
a page someone is reviewing right now counting as looked at); "random" uniformly among all
to-do pages. O(1) per pick: one band of the to-do mirror, by random rank."""

from __future__ import annotations

import pytest

from assignments.models import Assignment
from assignments.picker import pick_next_page
from catalogue.models import Page
from reviews.actions import submit_review
from tests import factories
from tests.assignments._picker_support import assert_uniform, build_sets, make_assignment


def _with_one_review(page_ids: list[int]) -> None:
    for page_id in page_ids:
        submit_review(reviewer=factories.make_user(), page_id=page_id)


@pytest.mark.django_db
def test_fewest_first_gives_every_page_its_first_look_before_any_gets_its_second(
    settings, django_capture_on_commit_callbacks
):
    """Threshold 3, 12 pages, reviewers one after another (each picks and submits): no page gets
    its second review while a page with none is free, nor its third while one has one."""
    settings.PICKER_RESERVATION_SECONDS = 60
    assignment, ids = make_assignment(12, threshold=3)
    assert assignment.order == Assignment.Order.FEWEST_FIRST
    build_sets()
    for _ in range(36):
        counts = dict(Page.objects.filter(pk__in=ids).values_list("pk", "review_count"))
        user = factories.make_user()
        page_id = pick_next_page(assignment=assignment, reviewer=user).page_id
        assert counts[page_id] == min(c for c in counts.values() if c < 3), counts
        with django_capture_on_commit_callbacks(execute=True):
            submit_review(reviewer=user, page_id=page_id, assignment_id=assignment.pk)
    assert set(Page.objects.filter(pk__in=ids).values_list("review_count", flat=True)) == {3}


@pytest.mark.django_db
def test_a_page_being_reviewed_counts_as_looked_at(settings, reviewer, reviewer2):
    """The stated exception: with reservations, a page someone holds has one free place fewer,
    so the next reviewer gets an untouched page while there is one."""
    settings.PICKER_RESERVATION_SECONDS = 60
    assignment, ids = make_assignment(2, threshold=3)
    build_sets()
    first = pick_next_page(assignment=assignment, reviewer=reviewer).page_id
    assert pick_next_page(assignment=assignment, reviewer=reviewer2).page_id != first


@pytest.mark.django_db
def test_fewest_first_is_uniform_within_the_lowest_tier(settings):
    """150 pages, 50 with one review: 3,000 picks (reservations off) land only on the 100
    without, uniformly: one sample at a fixed seed, chi-square at p = 0.001 (a uniform picker
    fails one run in 1,000; see ``assert_uniform``). The tier (100 ids) is drawn by rank."""
    settings.PICKER_RESERVATION_SECONDS = 0
    assignment, ids = make_assignment(150, threshold=3)
    _with_one_review(ids[:50])
    build_sets()

    def draw():
        result = pick_next_page(assignment=assignment, reviewer=None)
        assert result.source == "redis"
        return result.page_id

    counts = assert_uniform(draw, ids[50:], 3000, seed=150)
    assert set(counts) == set(ids[50:])


@pytest.mark.django_db
def test_random_order_is_uniform_over_every_to_do_page(settings):
    """The same assignment in random order: 3,000 picks over all 150 pages, uniform (one
    sample at a fixed seed, chi-square at p = 0.001)."""
    settings.PICKER_RESERVATION_SECONDS = 0
    assignment, ids = make_assignment(150, threshold=3)
    assignment.order = Assignment.Order.RANDOM
    assignment.save(update_fields=["order"])
    _with_one_review(ids[:50])
    build_sets()
    counts = assert_uniform(
        lambda: pick_next_page(assignment=assignment, reviewer=None).page_id, ids, 3000, seed=151
    )
    assert set(counts) == set(ids)


@pytest.mark.django_db
def test_a_review_moves_the_page_to_its_next_tier_in_every_assignment(
    settings, reviewer, django_capture_on_commit_callbacks
):
    """Kept on commit: the reviewed page's score in the to-do mirror of each assignment
    containing it says one review fewer needed (and the check finds no drift)."""
    from denorm import operations, registry
    from lib import keys
    from lib.redis_client import get_redis

    settings.PICKER_RESERVATION_SECONDS = 60
    doc = factories.make_document(pages=3)
    one = factories.make_assignment(documents=[doc], threshold=3)
    two = factories.make_assignment(documents=[doc], threshold=2)
    build_sets()
    page_id = pick_next_page(assignment=one, reviewer=reviewer).page_id
    r = get_redis()
    assert r.zscore(keys.assignment_todo_rank(one.pk), page_id) == -2  # 3 needed, 1 held
    assert r.zscore(keys.assignment_todo_rank(two.pk), page_id) == -1  # 2 needed, 1 held (copied)
    with django_capture_on_commit_callbacks(execute=True):
        submit_review(reviewer=reviewer, page_id=page_id, assignment_id=one.pk)
    assert r.zscore(keys.assignment_todo_rank(one.pk), page_id) == -2
    assert r.zscore(keys.assignment_todo_rank(two.pk), page_id) == -1
    [(_, drift)] = operations.check_entries(registry.select(["assignment-todo-rank"]))
    assert (drift.missing, drift.extra, drift.wrong) == (0, 0, 0), drift
