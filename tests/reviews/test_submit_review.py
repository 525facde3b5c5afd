"""``submit_review`` and ``skip_page``: one review per reviewer per page, its counters in the same
transaction, bad input refused with nothing written, and a double submit (sequential or truly
simultaneous) recorded once."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from assignments.models import Assignment
from catalogue.models import Page
from reviews.actions import MAX_TAGS_PER_REVIEW, ReviewError, skip_page, submit_review
from reviews.models import PageTag, Review, Reviewer, Skip
from tests import factories

pytestmark = pytest.mark.django_db


def test_it_records_a_review_and_its_counters(reviewer, tags):
    doc = factories.make_document(pages=2)
    page = doc.pages.first()
    a = factories.make_assignment(documents=[doc], threshold=1)
    outcome = submit_review(
        only_open_pages=False, reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt", "hand-written"]
    )
    assert outcome.created
    assert outcome.review_count == 1
    assert outcome.completed_assignment_ids == [a.pk]
    assert set(outcome.review.tags.values_list("slug", flat=True)) == {"receipt", "hand-written"}
    page.refresh_from_db()
    assert page.review_count == 1
    assert PageTag.objects.filter(page=page).count() == 2
    assert Reviewer.objects.get(user=reviewer).review_count == 1
    a.refresh_from_db()
    assert a.completed_count == 1


def test_it_keeps_the_first_review_on_a_double_submit(reviewer, tags):
    page = factories.make_document(pages=1).pages.get()
    submit_review(only_open_pages=False, reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"])
    second = submit_review(
        only_open_pages=False, reviewer=reviewer, page_id=page.pk, tag_slugs=["claim-form"]
    )
    assert not second.created
    assert list(second.review.tags.values_list("slug", flat=True)) == ["receipt"]
    page.refresh_from_db()
    assert page.review_count == 1
    assert Review.objects.count() == 1


@pytest.mark.parametrize("slugs", [["nope"], ["retired"], ["receipt", "nope"]])
def test_it_refuses_unknown_or_inactive_tags_and_changes_nothing(reviewer, tags, slugs):
    page = factories.make_document(pages=1).pages.get()
    with pytest.raises(ReviewError) as err:
        submit_review(only_open_pages=False, reviewer=reviewer, page_id=page.pk, tag_slugs=slugs)
    assert err.value.code == "unknown_tag"
    assert Review.objects.count() == 0
    assert Page.objects.get().review_count == 0


def test_it_refuses_more_tags_than_the_limit_and_changes_nothing(reviewer, tags):
    """MAX_TAGS_PER_REVIEW distinct slugs pass the count (then fail as unknown); one more is
    refused as too many, before any lookup; repeats of one slug count once."""
    page = factories.make_document(pages=1).pages.get()
    at_limit = ["receipt"] + [f"made-up-{i}" for i in range(MAX_TAGS_PER_REVIEW - 1)]
    with pytest.raises(ReviewError) as err:
        submit_review(only_open_pages=False, reviewer=reviewer, page_id=page.pk, tag_slugs=at_limit)
    assert err.value.code == "unknown_tag"
    with pytest.raises(ReviewError) as err:
        submit_review(
            only_open_pages=False, reviewer=reviewer, page_id=page.pk, tag_slugs=[*at_limit, "claim-form"]
        )
    assert err.value.code == "too_many_tags"
    assert err.value.message == "Too many tags."
    assert Review.objects.count() == 0 and PageTag.objects.count() == 0
    assert Reviewer.objects.count() == 0
    assert Page.objects.get().review_count == 0
    outcome = submit_review(
        only_open_pages=False, reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"] * 60
    )
    assert outcome.created and list(outcome.review.tags.values_list("slug", flat=True)) == ["receipt"]


def test_it_refuses_a_forged_page_id(reviewer, tags):
    with pytest.raises(ReviewError) as err:
        submit_review(only_open_pages=False, reviewer=reviewer, page_id=987654, tag_slugs=[])
    assert err.value.code == "no_such_page"
    assert Review.objects.count() == 0 and Reviewer.objects.count() == 0


def test_threshold_counts_reviews_from_any_assignment(reviewer, reviewer2, tags):
    party = factories.make_party()
    member = factories.make_member(party=party)
    doc = factories.make_document(member=member, pages=1)
    page = doc.pages.get()
    by_party = factories.make_assignment(parties=[party], threshold=2)
    by_member = factories.make_assignment(members=[member], threshold=1)
    submit_review(only_open_pages=False, reviewer=reviewer, page_id=page.pk, assignment_id=by_member.pk)
    assert Assignment.objects.get(pk=by_member.pk).completed_count == 1
    assert Assignment.objects.get(pk=by_party.pk).completed_count == 0
    submit_review(only_open_pages=False, reviewer=reviewer2, page_id=page.pk, assignment_id=by_member.pk)
    assert Assignment.objects.get(pk=by_party.pk).completed_count == 1
    assert Assignment.objects.get(pk=by_member.pk).completed_count == 1


def test_skip_counts_for_nothing(reviewer, tags):
    page = factories.make_document(pages=1).pages.get()
    assert skip_page(only_open_pages=False, reviewer=reviewer, page_id=page.pk)
    assert not skip_page(only_open_pages=False, reviewer=reviewer, page_id=page.pk)
    assert Skip.objects.count() == 1
    assert Page.objects.get().review_count == 0


def test_skip_refuses_what_submit_refuses_and_records_nothing_then(reviewer, editor, tags):
    """A missing, withdrawn or not open page is refused with its own code; a page the reviewer
    reviewed already is not skipped (False); each in one statement."""
    from moderation.actions.takedown import withdraw_page

    doc = factories.make_document(pages=3)
    reviewed, withdrawn, open_page = doc.pages.order_by("number")
    closed = factories.make_document(pages=1).pages.get()
    factories.make_assignment(documents=[doc])
    submit_review(reviewer=reviewer, page_id=reviewed.pk)
    withdraw_page(withdrawn, by=editor, reason="court order")
    for page_id, code in [(987654, "no_such_page"), (withdrawn.pk, "withdrawn"), (closed.pk, "not_open")]:
        with pytest.raises(ReviewError) as err:
            skip_page(reviewer=reviewer, page_id=page_id)
        assert err.value.code == code
    assert skip_page(reviewer=reviewer, page_id=closed.pk, only_open_pages=False)
    assert not skip_page(reviewer=reviewer, page_id=reviewed.pk)
    with CaptureQueriesContext(connection) as ctx:
        assert skip_page(reviewer=reviewer, page_id=open_page.pk)
    assert len(ctx.captured_queries) == 1
    assert sorted(Skip.objects.values_list("page_id", flat=True)) == sorted([closed.pk, open_page.pk])


def test_submit_uses_a_bounded_number_of_queries(reviewer, tags):
    pages = list(factories.make_document(pages=2).pages.all())
    submit_review(only_open_pages=False, reviewer=reviewer, page_id=pages[0].pk, tag_slugs=["receipt"])
    with CaptureQueriesContext(connection) as ctx:
        submit_review(
            only_open_pages=False, reviewer=reviewer, page_id=pages[1].pk, tag_slugs=["receipt", "claim-form"]
        )
    # Was 15: the tags with the review and its reviewer and page rows (one batch), its tags and
    # counters (one batch), and the savepoint and its release (the test's own transaction).
    assert len(ctx.captured_queries) <= 4


@pytest.mark.django_db(transaction=True)
def test_a_submit_is_two_statements_between_begin_and_commit(reviewer, tags):
    """Four Postgres round trips in all: BEGIN, the review (tags, reviewer, page, crediting
    assignment and insert), its tags and counters (tag rows, tag counts, listing stamp,
    assignment progress), COMMIT. Both batches hold what they should."""
    doc = factories.make_document(pages=2)
    factories.make_assignment(documents=[doc], threshold=1)
    page = doc.pages.order_by("number").first()
    with CaptureQueriesContext(connection) as ctx:
        outcome = submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt", "claim-form"])
    assert outcome.created and outcome.completed_assignment_ids
    sqls = [q["sql"].replace('"', "") for q in ctx.captured_queries]  # table names are quoted identifiers
    transaction_sqls = sqls[sqls.index("BEGIN") + 1 : sqls.index("COMMIT")]
    assert len(transaction_sqls) == 2, transaction_sqls
    review, counters = transaction_sqls
    assert "FROM reviews_tag " in review and "INSERT INTO reviews_reviewer" in review
    assert "INSERT INTO reviews_review " in review
    assert "UPDATE reviews_page" in review and "assignments_assignment" in review
    for table in ("reviews_review_tags", "reviews_pagetag", "assignments_assignment"):
        assert table in counters


def test_a_double_submit_answers_the_first_review_whatever_the_page_state_now(reviewer, editor, tags):
    """Withdrawn or no longer open since: the second submit still answers created=False with the
    first review (not an error), and changes nothing."""
    from moderation.actions.takedown import withdraw_page

    doc = factories.make_document(pages=2)
    withdrawn, closed = doc.pages.order_by("number")
    assignment = factories.make_assignment(documents=[doc], threshold=2)
    first = submit_review(reviewer=reviewer, page_id=withdrawn.pk, tag_slugs=["receipt"])
    submit_review(reviewer=reviewer, page_id=closed.pk)
    withdraw_page(withdrawn, by=editor, reason="court order")
    assignment.active = False
    assignment.save()
    with pytest.raises(ReviewError) as err:
        submit_review(reviewer=factories.make_user("newcomer"), page_id=closed.pk)
    assert err.value.code == "not_open"

    def state():
        return (
            list(Review.objects.order_by("id").values_list("id", "page_id", "tags__slug")),
            list(Reviewer.objects.values_list("user_id", "review_count")),
            list(Page.objects.order_by("id").values_list("id", "review_count")),
            list(PageTag.objects.values_list("page_id", "tag_id", "count")),
            list(Assignment.objects.values_list("id", "review_count", "completed_count")),
        )

    before = state()
    again = submit_review(reviewer=reviewer, page_id=withdrawn.pk, tag_slugs=["claim-form"])
    assert not again.created and again.review.pk == first.review.pk and again.own_count == 2
    again = submit_review(reviewer=reviewer, page_id=closed.pk, tag_slugs=["receipt"])
    assert not again.created and again.review.page_id == closed.pk and again.own_count == 2
    assert state() == before


def test_the_outcome_carries_the_reviewers_own_count_as_the_review_screen_shows_it(reviewer, editor, tags):
    """The reviewer's count after the submit; a double submit's is the current one; a
    quarantined reviewer's counts all their reviews (they are not to notice the quarantine)
    while their Reviewer.review_count stays put."""
    from moderation.actions.quarantine import quarantine_reviewer
    from reviews.selectors import reviewer_status

    doc = factories.make_document(pages=4)
    factories.make_assignment(documents=[doc], threshold=3)
    pages = list(doc.pages.order_by("number"))
    assert submit_review(reviewer=reviewer, page_id=pages[0].pk).own_count == 1
    assert submit_review(reviewer=reviewer, page_id=pages[1].pk, tag_slugs=["receipt"]).own_count == 2
    assert submit_review(reviewer=reviewer, page_id=pages[1].pk).own_count == 2  # double submit
    quarantine_reviewer(reviewer, by=editor, reason="spam")
    outcome = submit_review(reviewer=reviewer, page_id=pages[2].pk, tag_slugs=["receipt"])
    assert outcome.created and outcome.own_count == 3
    assert reviewer_status(user=reviewer, page_id=pages[3].pk) == (3, False)
    assert Reviewer.objects.get(user=reviewer).review_count == 2
    assert submit_review(reviewer=reviewer, page_id=pages[2].pk).own_count == 3  # double submit
    assert submit_review(reviewer=reviewer, page_id=pages[3].pk).own_count == 4


def _waiting_for_locks() -> int:
    """Backends of this database waiting for a lock (the page row, here)."""
    with connection.cursor() as cursor:
        # Statistics views are read once per transaction unless the snapshot is dropped.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submits_of_the_same_review_record_it_once(reviewer, tags):
    """The double-click race, for real: two threads, each with its own database connection,
    submit the same reviewer's review of the same page at once. The page row is held locked
    until both submits are waiting (one on it, the other on the reviewer row the first one
    holds), so both are under way before either inserts. One records the review, the other
    returns it unchanged; no error, every counter counted once."""
    doc = factories.make_document(pages=2)
    page = doc.pages.order_by("number").first()
    assignment = factories.make_assignment(documents=[doc], threshold=1)
    barrier = threading.Barrier(3)
    outcomes, errors = [], []

    def submit(tag: str) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes.append(
                submit_review(
                    only_open_pages=False,
                    reviewer=reviewer,
                    page_id=page.pk,
                    tag_slugs=[tag],
                    assignment_id=assignment.pk,
                )
            )
        except Exception as exc:  # reported below: the test thread must see it
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=submit, args=(tag,)) for tag in ("receipt", "claim-form")]
    with transaction.atomic():
        Page.objects.select_for_update().get(pk=page.pk)  # the lock every submit takes first
        for thread in threads:
            thread.start()
        barrier.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _waiting_for_locks() < 2 and any(t.is_alive() for t in threads):
            assert time.monotonic() < deadline, "the submits never reached the page lock"
            time.sleep(0.01)
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()

    assert errors == []
    assert sorted(o.created for o in outcomes) == [False, True]
    assert outcomes[0].review.pk == outcomes[1].review.pk
    review = Review.objects.get()
    winner = next(o for o in outcomes if o.created)
    assert list(review.tags.values_list("slug", flat=True)) == [winner.review.tags.get().slug]
    page.refresh_from_db()
    assert page.review_count == 1
    assert list(PageTag.objects.values_list("page_id", "count")) == [(page.pk, 1)]
    assert Reviewer.objects.get(user=reviewer).review_count == 1
    assignment.refresh_from_db()
    assert assignment.completed_count == 1
