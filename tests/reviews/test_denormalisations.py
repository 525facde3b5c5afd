"""Counters (Page.review_count, PageTag, Reviewer.review_count, Assignment page/progress counts)
and the document/member/party page sets stay equal to Postgres through every kind of change."""

from datetime import timedelta

import pytest
from django.db import connection, transaction

from assignments.models import Assignment
from catalogue.models import Document, Page
from denorm import operations, registry
from denorm.changes import PageContext, changed
from lib import keys
from lib.redis_client import get_redis
from reviews.actions import skip_page, submit_review
from reviews.models import PageTag, Review, Reviewer
from tests import factories
from tests.denorm_support import drift, imported, members

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(reviewer, reviewer2, tags):
    red, blue = factories.make_party(), factories.make_party()
    ann, bea = factories.make_member(party=red), factories.make_member(party=blue)
    doc_a, doc_b = imported(ann, 3), imported(bea, 2)
    by_party = factories.make_assignment(parties=[red], threshold=2)
    by_doc = factories.make_assignment(documents=[doc_b], threshold=1)
    page = doc_a.pages.first()
    submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt", "claim-form"])
    submit_review(reviewer=reviewer2, page_id=page.pk, tag_slugs=["receipt"])
    submit_review(reviewer=reviewer, page_id=doc_b.pages.first().pk, tag_slugs=["hand-written"])
    skip_page(reviewer=reviewer2, page_id=doc_b.pages.last().pk)
    return locals()


def test_it_starts_with_every_copy_equal_to_postgres(world):
    assert drift() == {}
    assert members(keys.document_pages(world["doc_a"].pk)) == set(
        world["doc_a"].pages.values_list("id", flat=True)
    )
    assert members(keys.party_pages(world["red"].pk)) == set(
        world["doc_a"].pages.values_list("id", flat=True)
    )
    assert members(keys.member_pages(world["bea"].pk)) == set(
        world["doc_b"].pages.values_list("id", flat=True)
    )
    assert Assignment.objects.get(pk=world["by_party"].pk).completed_count == 1


def test_deleting_a_reviewer_recounts_pages_tags_and_progress(world, reviewer):
    page = world["page"]
    first = PageTag.objects.get(page=page, tag__slug="receipt").first_tagged_at
    reviewer.delete()
    assert Page.objects.get(pk=page.pk).review_count == 1
    row = PageTag.objects.get(page=page, tag__slug="receipt")
    assert row.count == 1 and row.first_tagged_at > first  # moved to the earliest remaining review
    assert not PageTag.objects.filter(page=page, tag__slug="claim-form").exists()
    assert Assignment.objects.get(pk=world["by_party"].pk).completed_count == 0
    assert Assignment.objects.get(pk=world["by_doc"].pk).completed_count == 0
    assert drift() == {}


def test_deleting_one_review_recounts_its_page_and_reviewer(world, reviewer2):
    Review.objects.get(reviewer=reviewer2, page=world["page"]).delete()
    assert Reviewer.objects.get(user=reviewer2).review_count == 0
    assert drift() == {}


def test_deleting_a_page_recounts_reviewers_and_assignments(world, reviewer):
    world["page"].delete()
    assert Reviewer.objects.get(user=reviewer).review_count == 1
    party = Assignment.objects.get(pk=world["by_party"].pk)
    assert (party.page_count, party.completed_count) == (2, 0)
    assert world["page"].pk not in members(keys.party_pages(world["red"].pk))
    assert drift() == {}


@pytest.mark.parametrize("victim", ["doc_a", "doc_b", "ann", "bea", "red", "blue"])
def test_cascading_deletes_keep_every_copy_equal(world, victim):
    world[victim].delete()
    assert drift() == {}


def test_bulk_queryset_deletes_keep_every_copy_equal(world):
    Page.objects.filter(document__member=world["ann"]).delete()
    Document.objects.filter(pk=world["doc_b"].pk).delete()
    assert not get_redis().exists(keys.member_pages(world["ann"].pk), keys.document_pages(world["doc_b"].pk))
    assert drift() == {}


def test_moving_a_member_to_another_party_moves_their_pages(world):
    ann = world["ann"]
    ann.party = world["blue"]
    ann.save()
    pages = set(world["doc_a"].pages.values_list("id", flat=True))
    assert pages <= members(keys.party_pages(world["blue"].pk))
    assert not get_redis().exists(keys.party_pages(world["red"].pk))
    assert drift() == {}


def test_moving_a_document_to_another_member_moves_its_pages(world):
    doc = world["doc_b"]
    doc.member = world["ann"]
    doc.save()
    assert drift() == {}


def test_an_import_adds_pages_and_counts(world):
    doc = imported(world["ann"], 4)
    assert set(doc.pages.values_list("id", flat=True)) <= members(keys.member_pages(world["ann"].pk))
    assert Assignment.objects.get(pk=world["by_party"].pk).page_count == 7
    assert drift() == {}


def test_deactivating_a_tag_changes_no_copy_and_deleting_it_cascades(world, tags):
    before = list(PageTag.objects.order_by("pk").values_list("pk", "count", "first_tagged_at"))
    tags["receipt"].active = False
    tags["receipt"].save()
    assert list(PageTag.objects.order_by("pk").values_list("pk", "count", "first_tagged_at")) == before
    assert drift() == {}
    tags["claim-form"].delete()
    assert drift() == {}


def test_update_and_raw_sql_are_declared_with_changed(world):
    """Django sends nothing for update() or raw SQL: callers declare what they touched."""
    doc_a, doc_b = world["doc_a"], world["doc_b"]
    moved = doc_a.pages.order_by("number").last()
    with transaction.atomic():
        changed(
            pages={
                moved.pk: PageContext(
                    documents={doc_a.pk},
                    members={world["ann"].pk},
                    parties={world["red"].pk},
                    assignments={world["by_party"].pk},
                )
            }
        )
        Page.objects.filter(pk=moved.pk).update(document=doc_b, number=99)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM reviews_review_tags WHERE tag_id = %s", [world["tags"]["receipt"].pk])
        changed(pages=[world["page"].pk])
    assert moved.pk in members(keys.assignment_todo(world["by_doc"].pk))
    assert not PageTag.objects.filter(tag__slug="receipt").exists()
    assert drift() == {}


def test_without_changed_an_update_is_drift_that_check_reports(world):
    moved = world["doc_a"].pages.order_by("number").last()
    Page.objects.filter(pk=moved.pk).update(document=world["doc_b"], number=99)
    found = drift()
    assert {"document-pages", "member-pages", "party-pages", "assignment-needed"} <= found.keys()


def test_check_reports_and_rebuild_repairs_counter_corruption(world, reviewer):
    page = world["page"]
    Page.objects.filter(pk=page.pk).update(review_count=5)
    PageTag.objects.filter(page=page, tag__slug="claim-form").delete()
    PageTag.objects.filter(page=page, tag__slug="receipt").update(
        first_tagged_at=page.reviews.first().created - timedelta(days=1)
    )
    PageTag.objects.create(
        page=world["doc_b"].pages.last(),
        tag=world["tags"]["retired"],
        count=3,
        first_tagged_at=page.reviews.first().created,
    )
    Reviewer.objects.filter(user=reviewer).update(review_count=0)
    Assignment.objects.filter(pk=world["by_party"].pk).update(page_count=1, completed_count=3)
    found = drift()
    assert found["page-review-count"].startswith("missing 0, extra 0, wrong 1")
    assert found["page-tags"].startswith("missing 1, extra 1, wrong 1")
    assert found["reviewer-review-count"].startswith("missing 0, extra 0, wrong 1")
    assert "wrong 1" in found["assignment-page-count"] and "wrong 1" in found["assignment-progress"]
    operations.rebuild_entries(registry.all_entries())
    assert drift() == {}


def test_check_reports_and_rebuild_repairs_page_set_corruption(world):
    client = get_redis()
    client.srem(keys.document_pages(world["doc_a"].pk), world["page"].pk)
    client.sadd(keys.member_pages(world["bea"].pk), 31337)
    client.sadd(keys.party_pages(424242), 1)
    found = drift(["document-pages", "member-pages", "party-pages"])
    assert found["document-pages"].startswith("missing 1, extra 0")
    assert found["member-pages"].startswith("missing 0, extra 1")
    assert found["party-pages"].startswith("missing 0, extra 1")
    operations.rebuild_entries(registry.select(["document-pages", "member-pages", "party-pages"]))
    assert drift() == {}


def test_deleting_pages_recounts_their_documents_and_check_sees_a_wrong_count(world):
    doc = world["doc_a"]
    doc.pages.order_by("number").last().delete()
    assert Document.objects.get(pk=doc.pk).page_count == 2
    Document.objects.filter(pk=doc.pk).update(page_count=12)
    assert drift(["document-page-count"]) == {
        "document-page-count": f"missing 0, extra 0, wrong 1 (e.g. document {doc.pk}: 12, should be 2)"
    }
    operations.rebuild_entries(registry.select(["document-page-count"]))
    assert drift() == {}


@pytest.mark.parametrize(
    "edit",
    [
        lambda w: Review.objects.get(reviewer=w["reviewer"], page=w["page"]).tags.remove(
            w["tags"]["receipt"]
        ),
        lambda w: Review.objects.get(reviewer=w["reviewer2"], page=w["page"]).tags.add(
            w["tags"]["claim-form"]
        ),
        lambda w: Review.objects.get(reviewer=w["reviewer"], page=w["page"]).tags.clear(),
        lambda w: w["tags"]["receipt"].reviews.remove(*Review.objects.filter(page=w["page"])),
        lambda w: w["tags"]["receipt"].reviews.clear(),
    ],
    ids=["remove", "add", "clear", "reverse-remove", "reverse-clear"],
)
def test_editing_the_tags_of_an_existing_review_is_declared_with_changed(world, edit):
    with transaction.atomic():
        edit(world)
        changed(pages=[world["page"].pk])
    assert drift() == {}


def test_an_undeclared_tag_edit_is_drift_that_check_reports(world):
    Review.objects.get(reviewer=world["reviewer"], page=world["page"]).tags.clear()
    assert set(drift()) == {"page-tags"}


def test_moving_an_existing_review_to_another_page_recounts_both(world, reviewer2):
    review = Review.objects.get(reviewer=reviewer2, page=world["page"])
    review.page = world["doc_b"].pages.first()
    review.save()
    assert review.page.pk in members(keys.reviewer_seen(reviewer2.pk))
    assert world["page"].pk not in members(keys.reviewer_seen(reviewer2.pk))
    assert drift() == {}
