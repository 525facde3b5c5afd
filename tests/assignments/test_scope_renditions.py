"""The scope rule (``assignments.scope``) is written in several forms, each where it is cheapest:
ORM filters for the model and the admin, SQL fragments for the picker, the review action and the
denormalisations. On one seeded catalogue (documents taken in by document, by member and by
party, overlapping assignments, a withdrawn page, documents in no assignment) every rendition
selects the same (assignment, page) pairs as the model's rule.
"""

from __future__ import annotations

import random

import pytest
from django.db import connection
from django.utils import timezone

from assignments import scope
from assignments.models import Assignment
from catalogue.models import Document, Page
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    rng = random.Random(23)  # one fixed catalogue
    parties = [factories.make_party() for _ in range(3)]
    members = [factories.make_member(party=rng.choice([*parties, None])) for _ in range(6)]
    documents = [factories.make_document(member=rng.choice([*members, None]), pages=2) for _ in range(14)]
    assignments = []
    for _ in range(5):
        assignments.append(
            factories.make_assignment(
                documents=rng.sample(documents, 2),
                members=rng.sample(members, rng.randint(0, 2)),
                parties=rng.sample(parties, rng.randint(0, 1)),
            )
        )
    # A withdrawn page leaves every assignment (the test writes it directly: no action needed).
    Page.objects.filter(pk=documents[0].pages.first().pk).update(withdrawn_at=timezone.now())
    return assignments


def _owned_pages(document_ids) -> set[int]:
    return set(
        Page.objects.filter(document_id__in=document_ids, withdrawn_at__isnull=True).values_list(
            "pk", flat=True
        )
    )


def truth(assignments) -> set[tuple[int, int]]:
    """The model's rule: ``scope.page_filter``."""
    return {
        (a.pk, page_id)
        for a in assignments
        for page_id in Page.objects.filter(scope.page_filter(a.pk)).values_list("pk", flat=True)
    }


def _sql(query: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def test_the_seeded_catalogue_exercises_every_way_in(catalogue):
    expected = truth(catalogue)
    assert expected, "no page in any assignment"
    assert any(a.documents.exists() for a in catalogue) and any(a.members.exists() for a in catalogue)
    assert any(a.parties.exists() for a in catalogue)
    withdrawn = Page.objects.filter(withdrawn_at__isnull=False).values_list("pk", flat=True).get()
    assert all(page != withdrawn for _, page in expected)
    assert Page.objects.exclude(pk__in={p for _, p in expected}).exclude(pk=withdrawn).exists()


def test_every_rendition_of_the_scope_rule_selects_the_same_pages(catalogue):
    expected = truth(catalogue)
    renditions: dict[str, set[tuple[int, int]]] = {}

    renditions["selection_filter"] = {
        (a.pk, page_id)
        for a in catalogue
        for page_id in Page.objects.filter(
            scope.selection_filter(
                members=a.members.values_list("pk", flat=True),
                parties=a.parties.values_list("pk", flat=True),
                documents=a.documents.values_list("pk", flat=True),
            )
        ).values_list("pk", flat=True)
    }
    renditions["DOCUMENTS_OF_ASSIGNMENT_SQL"] = {
        (a.pk, page_id)
        for a in catalogue
        for page_id in _owned_pages([d for (d,) in _sql(scope.documents_of_assignment_sql(), {"aid": a.pk})])
    }
    renditions["PAGE_IN_ASSIGNMENT_SQL"] = {
        (a.pk, page_id)
        for a in catalogue
        for (page_id,) in _sql(
            f"SELECT p.id FROM reviews_page p WHERE {scope.page_in_assignment_sql()}", {"aid": a.pk}
        )
    }
    documents = list(Document.objects.select_related("member"))
    in_scope = set(Assignment.objects.filter(pk__in=[a.pk for a in catalogue]).values_list("pk", flat=True))
    renditions["ASSIGNMENTS_OF_DOCUMENT_SQL"] = {
        (aid, page_id)
        for d in documents
        for (aid,) in _sql(scope.assignments_of_one_document_sql(), {"doc": d.pk})
        for page_id in _owned_pages([d.pk])
    }
    renditions["ASSIGNMENTS_OF_DOCUMENTS_SQL"] = {
        (aid, page_id)
        for doc_id, aid in _sql(scope.assignments_of_documents_sql(), {"docs": [d.pk for d in documents]})
        for page_id in _owned_pages([doc_id])
    }
    renditions["ASSIGNMENT_PAGES_SQL"] = set(_sql(scope.assignment_pages_sql()))
    renditions["containing_document_filter"] = {
        (aid, page_id)
        for d in documents
        for aid in Assignment.objects.filter(
            scope.containing_document_filter(
                document_id=d.pk,
                member_id=d.member_id,
                party_id=d.member.party_id if d.member_id else None,
            )
        )
        .distinct()
        .values_list("pk", flat=True)
        for page_id in _owned_pages([d.pk])
    }
    for name, pairs in renditions.items():
        pairs = {(aid, page) for aid, page in pairs if aid in in_scope}
        assert pairs == expected, (
            f"{name}: {len(pairs - expected)} pairs too many, {len(expected - pairs)} missing"
        )
    assert len(renditions) == 7  # with page_filter, the truth: every rendition of the rule
