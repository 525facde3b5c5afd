"""The next-page picker on its normal path: Redis sets, checked against Postgres."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from assignments import picker_stats
from assignments.picker import pick_next_page
from catalogue.models import Page
from lib import keys
from lib.redis_client import get_redis
from reviews.actions import skip_page, submit_review
from tests import factories
from tests.assignments._picker_support import assert_uniform, build_sets, make_assignment, todo_ids


@pytest.fixture(autouse=True)
def _quiet_stats(monkeypatch):
    # Counters are stored every few seconds; keep that write out of the query counts.
    monkeypatch.setattr(picker_stats.COUNTER, "flush_seconds", 10**9)
    picker_stats.reset_pending()


@pytest.mark.django_db
def test_it_picks_uniformly_at_random(settings):
    """4,000 picks of a 20-page assignment (taken whole: SMEMBERS), no reservations: uniform
    (one sample at a fixed seed, chi-square at p = 0.001; see ``assert_uniform``)."""
    settings.PICKER_RESERVATION_SECONDS = 0
    assignment, ids = make_assignment(20)
    build_sets()

    def draw():
        result = pick_next_page(assignment=assignment, reviewer=None)
        assert result.source == "redis"
        return result.page_id

    counts = assert_uniform(draw, ids, 4000, seed=20)
    assert set(counts) == set(ids)


@pytest.mark.django_db
def test_it_picks_uniformly_from_a_set_too_large_to_take_whole(settings):
    """Drawn by random rank from the to-do set's sorted-set mirror: 6,000 picks over 100 pages,
    one sample at a fixed seed, chi-square at p = 0.001."""
    settings.PICKER_RESERVATION_SECONDS = 0
    assignment, ids = make_assignment(100)
    build_sets()
    counts = assert_uniform(
        lambda: pick_next_page(assignment=assignment, reviewer=None).page_id, ids, 6000, seed=100
    )
    assert set(counts) == set(ids)


@pytest.mark.django_db
def test_it_is_uniform_among_the_pages_the_reviewer_has_not_seen(settings, reviewer):
    """10 of 20 pages reviewed or skipped: 2,000 picks land uniformly on the other 10 and never
    on a seen one (one sample at a fixed seed, chi-square at p = 0.001)."""
    settings.PICKER_RESERVATION_SECONDS = 0
    assignment, ids = make_assignment(20, threshold=5)
    seen, unseen = ids[:10], ids[10:]
    for page_id in seen[:7]:
        submit_review(reviewer=reviewer, page_id=page_id)
    for page_id in seen[7:]:
        skip_page(reviewer=reviewer, page_id=page_id)
    build_sets()
    counts = assert_uniform(
        lambda: pick_next_page(assignment=assignment, reviewer=reviewer).page_id, unseen, 2000, seed=10
    )
    assert set(counts) == set(unseen)


@pytest.mark.django_db
def test_it_never_repeats_a_page_for_a_reviewer(reviewer):
    assignment, ids = make_assignment(30, threshold=3)
    build_sets()
    served = []
    while True:
        result = pick_next_page(assignment=assignment, reviewer=reviewer)
        if result.page_id is None:
            break
        served.append(result.page_id)
        assert submit_review(reviewer=reviewer, page_id=result.page_id, assignment_id=assignment.pk).created
        assert len(served) <= len(ids)
    assert sorted(served) == sorted(ids)
    assert result.source == "nothing-left"


@pytest.mark.django_db
def test_it_costs_one_query_on_the_redis_path(reviewer, django_assert_num_queries):
    """The hot path: Redis round trips and exactly one indexed Postgres query."""
    assignment, _ = make_assignment(50)
    build_sets()
    with django_assert_num_queries(1):
        result = pick_next_page(assignment=assignment, reviewer=reviewer)
    assert result.source == "redis"


@pytest.mark.django_db
def test_it_never_serves_a_deleted_page_and_removes_it_from_the_sets(settings):
    settings.PICKER_RESERVATION_SECONDS = 0  # 20 picks of one page: no place to run out of
    assignment, ids = make_assignment(6)
    build_sets()
    deleted = ids[:5]
    with connection.cursor() as cursor:  # behind every signal's back, like a bad manual fix
        cursor.execute("DELETE FROM reviews_page WHERE id = ANY(%s)", [deleted])
    served = {pick_next_page(assignment=assignment, reviewer=None).page_id for _ in range(20)}
    assert served == {ids[5]}
    assert todo_ids(assignment) == {ids[5]}
    assert picker_stats.pending()[picker_stats.STALE_REMOVED] == 5


@pytest.mark.django_db
def test_it_never_serves_a_page_at_its_threshold_even_when_redis_says_to_do(settings):
    settings.PICKER_RESERVATION_SECONDS = 0  # 20 picks of one page: no place to run out of
    assignment, ids = make_assignment(4, threshold=2)
    build_sets()
    Page.objects.filter(pk__in=ids[:3]).update(review_count=2)  # the sets did not hear of it
    served = {pick_next_page(assignment=assignment, reviewer=None).page_id for _ in range(20)}
    assert served == {ids[3]}
    assert todo_ids(assignment) == {ids[3]}
    done = {int(x) for x in get_redis().smembers(keys.assignment_done(assignment.pk))}
    assert set(ids[:3]) <= done


@pytest.mark.django_db
def test_it_never_serves_a_page_that_left_the_assignment(settings):
    settings.PICKER_RESERVATION_SECONDS = 0
    doc_a, doc_b = factories.make_document(pages=2), factories.make_document(pages=2)
    assignment = factories.make_assignment(documents=[doc_a, doc_b])
    build_sets()
    assignment.documents.remove(doc_a)
    keep = set(doc_b.pages.values_list("pk", flat=True))
    served = {pick_next_page(assignment=assignment, reviewer=None).page_id for _ in range(20)}
    assert served == keep


@pytest.mark.django_db
def test_it_says_nothing_left_when_the_reviewer_has_seen_every_page(reviewer, reviewer2):
    assignment, ids = make_assignment(3, threshold=2)
    for page_id in ids:
        submit_review(reviewer=reviewer, page_id=page_id)
    build_sets()
    assert pick_next_page(assignment=assignment, reviewer=reviewer).page_id is None
    assert pick_next_page(assignment=assignment, reviewer=reviewer2).page_id in ids


@pytest.mark.django_db
def test_it_finds_the_last_unseen_pages_of_a_set_the_reviewer_mostly_saw(settings, reviewer):
    """Draws exhausted on a set the reviewer has mostly seen: the bounded whole-set pass."""
    settings.PICKER_RESERVATION_SECONDS = 0
    assignment, ids = make_assignment(1500, threshold=2)
    left = set(ids[-2:])
    with connection.cursor() as cursor:  # 1,498 skips, set-based
        cursor.execute(
            "INSERT INTO reviews_skip (reviewer_id, page_id, created) SELECT %s, unnest(%s::bigint[]), now()",
            [reviewer.pk, ids[:-2]],
        )
    build_sets()
    if not get_redis().exists(keys.built_marker("reviewer-seen")):
        get_redis().sadd(keys.reviewer_seen(reviewer.pk), *ids[:-2])
        get_redis().set(keys.built_marker("reviewer-seen"), "1")
    served = {pick_next_page(assignment=assignment, reviewer=reviewer) for _ in range(10)}
    assert {r.page_id for r in served} == left
    assert {r.source for r in served} == {"redis"}


@pytest.mark.django_db
def test_it_spreads_reviewers_across_the_last_few_pages(settings):
    """Three pages left, thirty reviewers asking: every page gets its share, none all of them."""
    settings.PICKER_RESERVATION_SECONDS = 60
    assignment, ids = make_assignment(3, threshold=50)
    build_sets()
    counts = Counter(pick_next_page(assignment=assignment, reviewer=None).page_id for _ in range(30))
    assert counts == {ids[0]: 10, ids[1]: 10, ids[2]: 10}


@pytest.mark.django_db(transaction=True)
def test_concurrent_reviewers_get_different_pages_while_enough_remain(settings):
    settings.PICKER_RESERVATION_SECONDS = 60
    assignment, _ = make_assignment(40)
    build_sets()
    results, errors = [], []

    def ask():
        try:
            results.append(pick_next_page(assignment=assignment, reviewer=None).page_id)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 16 and len(set(results)) == 16


@pytest.mark.django_db(transaction=True)
def test_concurrent_pickers_stay_spread_over_few_pages(settings):
    settings.PICKER_RESERVATION_SECONDS = 60
    assignment, ids = make_assignment(3, threshold=50)
    build_sets()
    counts, errors = Counter(), []
    lock = threading.Lock()

    def ask():
        try:
            for _ in range(10):
                page_id = pick_next_page(assignment=assignment, reviewer=None).page_id
                with lock:
                    counts[page_id] += 1
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert set(counts) == set(ids)
    # Each claim takes the least recently handed out page atomically: an exact rotation.
    assert max(counts.values()) - min(counts.values()) <= 1


@pytest.mark.django_db(transaction=True)
def test_it_never_serves_a_page_deleted_before_the_pick_while_pages_are_being_deleted(settings):
    """A deleter thread removes pages (half through the ORM, half behind every signal's back)
    while the picker runs; no pick ever returns a page whose deletion had committed before
    that pick began."""
    settings.PICKER_RESERVATION_SECONDS = 0
    assignment, ids = make_assignment(240)
    build_sets()
    doomed = ids[:200]
    deleted: set[int] = set()
    lock = threading.Lock()
    finished = threading.Event()
    errors = []

    def deleter():
        try:
            for n, page_id in enumerate(doomed):
                if n % 2:
                    Page.objects.filter(pk=page_id).delete()
                else:
                    with connection.cursor() as cursor:
                        cursor.execute("DELETE FROM reviews_page WHERE id = %s", [page_id])
                with lock:
                    deleted.add(page_id)
        except Exception as exc:
            errors.append(exc)
        finally:
            finished.set()
            connection.close()

    thread = threading.Thread(target=deleter)
    thread.start()
    picks = 0
    while not finished.is_set() or picks < 50:
        with lock:
            gone_before = set(deleted)
        result = pick_next_page(assignment=assignment, reviewer=None)
        picks += 1
        assert result.page_id is not None
        assert result.page_id not in gone_before
    thread.join()
    assert not errors
    served = {pick_next_page(assignment=assignment, reviewer=None).page_id for _ in range(100)}
    assert served <= set(ids[200:])


@pytest.mark.django_db(transaction=True)
def test_the_threshold_holds_under_concurrent_submits_with_a_bounded_overshoot(settings):
    """Six reviewers review as fast as they can until nothing is left (threshold 2, 40 pages).

    Overshoot happens only when a page handed out is filled by others before its reviewer
    submits. Reservations keep concurrent reviewers on different pages while at least as many
    pages remain as reviewers, so it can only happen among the last (W - 1) open pages, each
    held by at most W - 1 others: at most (W - 1)^2 extra reviews in all, and at most W - 1 on
    any page. Without the threshold check every reviewer would review every page (240).
    """
    settings.PICKER_RESERVATION_SECONDS = 60
    workers, threshold = 6, 2
    assignment, ids = make_assignment(40, threshold=threshold)
    users = [factories.make_user() for _ in range(workers)]
    build_sets()
    errors = []

    def review_until_done(user):
        try:
            while True:
                result = pick_next_page(assignment=assignment, reviewer=user)
                if result.page_id is None:
                    return
                outcome = submit_review(reviewer=user, page_id=result.page_id, assignment_id=assignment.pk)
                assert outcome.created, "served a page this reviewer had already reviewed"
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=review_until_done, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    counts = dict(Page.objects.filter(pk__in=ids).values_list("pk", "review_count"))
    assert min(counts.values()) >= threshold  # finished: nothing left undone
    assert max(counts.values()) <= threshold + workers - 1
    assert sum(counts.values()) <= len(ids) * threshold + (workers - 1) ** 2
