"""The one rule of what an assignment covers: every page of its documents, of its members'
documents and of its parties' members' documents, except withdrawn pages (``Page.withdrawn_at``,
set by ``moderation.actions.takedown``): a withdrawn page leaves every assignment, so the picker,
the to-do sets and the progress counters drop it, and reinstating it brings it back. Known-answer
(gold) pages (``Page.known_answer``, issue 25) are out of every assignment's scope too: their
reviews count for nothing, and the picker mixes them in at the gold rate only. And the rule
that follows from it for the public: a page's tag counts are public once it has as many reviews
as the lowest threshold of the active assignments containing it (:func:`public_threshold_sql`).

Everything that needs the rule (the model, the picker, the denormalisations, the review action,
the selectors) builds on the query builders and SQL fragments here, so the rule is written once.
The progress counters that follow from it are written by ``assignments.actions``.

This module imports no model module (the model imports it); models are looked up lazily, and
so are the SQL fragments' table names (``lib.sql_names``): the fragments are functions, each
rendered once.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.apps import apps
from django.db.models import Exists, F, Func, IntegerField, OuterRef, Q
from psycopg import sql

from lib.sql_names import compose


def _assignment_model():
    return apps.get_model("assignments", "Assignment")


def page_filter(assignment_id: int) -> Q:
    """A ``Q`` on Page selecting the pages of one assignment (subqueries: no duplicate rows)."""
    assignment = _assignment_model()
    return Q(withdrawn_at__isnull=True, known_answer=False) & (
        Q(
            document_id__in=assignment.documents.through.objects.filter(assignment_id=assignment_id).values(
                "document_id"
            )
        )
        | Q(
            document__member_id__in=assignment.members.through.objects.filter(
                assignment_id=assignment_id
            ).values("member_id")
        )
        | Q(
            document__member__party_id__in=assignment.parties.through.objects.filter(
                assignment_id=assignment_id
            ).values("party_id")
        )
    )


def selection_filter(*, members=(), parties=(), documents=()) -> Q:
    """The same rule as :func:`page_filter`, for a selection not saved yet (the admin shows the
    size of what an editor picked before saving): a ``Q`` on Page."""
    condition = Q(pk__in=[])
    if documents:
        condition |= Q(document_id__in=list(documents))
    if members:
        condition |= Q(document__member_id__in=list(members))
    if parties:
        condition |= Q(document__member__party_id__in=list(parties))
    return Q(withdrawn_at__isnull=True, known_answer=False) & condition


def containing_document_filter(*, document_id: int, member_id: int | None, party_id: int | None) -> Q:
    """A ``Q`` on Assignment selecting those that contain a document (owners already known)."""
    condition = Q(documents=document_id)
    if member_id:
        condition |= Q(members=member_id)
    if party_id:
        condition |= Q(parties=party_id)
    return condition


# --- SQL fragments (named parameters; table aliases as stated) ---------------------------------


@cache
def tables() -> dict[str, Any]:
    """The models whose tables the fragments read, by the placeholder each fragment names them
    with. Reached from the assignment model (no app label of the catalogue written here)."""
    assignment = apps.get_model("assignments", "Assignment")
    retired = apps.get_model("assignments", "RetiredPage")
    return {
        "assignment": assignment,
        "assignment_documents": assignment.documents.through,
        "assignment_members": assignment.members.through,
        "assignment_parties": assignment.parties.through,
        "retiredpage": retired,
        "document": assignment._meta.get_field("documents").related_model,
        "member": assignment._meta.get_field("members").related_model,
        "page": retired._meta.get_field("page").related_model,
    }


@cache
def documents_of_assignment_sql() -> str:
    """The ids of one assignment's documents. Parameter: %(aid)s."""
    return compose(
        """
    SELECT ad.document_id FROM {assignment_documents} ad WHERE ad.assignment_id = %(aid)s
    UNION
    SELECT d.id FROM {document} d
      JOIN {assignment_members} am ON am.member_id = d.member_id
      WHERE am.assignment_id = %(aid)s
    UNION
    SELECT d.id FROM {document} d
      JOIN {member} m ON m.id = d.member_id
      JOIN {assignment_parties} ap ON ap.party_id = m.party_id
      WHERE ap.assignment_id = %(aid)s""",
        **tables(),
    )


@cache
def page_in_assignment_sql() -> str:
    """A predicate: page ``p`` (with its ``withdrawn_at`` column) belongs to assignment %(aid)s.
    Written with uncorrelated ARRAY(...) subqueries (run once per query) and scalar subqueries by
    primary key (run per row), so its cost per page does not grow with the size of the assignment
    (the picker checks candidates with it)."""
    return compose(
        """(p.withdrawn_at IS NULL AND NOT p.known_answer AND (
    p.document_id = ANY(ARRAY(SELECT ad.document_id FROM {assignment_documents} ad
                              WHERE ad.assignment_id = %(aid)s))
    OR (SELECT d.member_id FROM {document} d WHERE d.id = p.document_id)
       = ANY(ARRAY(SELECT am.member_id FROM {assignment_members} am
                   WHERE am.assignment_id = %(aid)s))
    OR (SELECT m.party_id FROM {document} d JOIN {member} m ON m.id = d.member_id
        WHERE d.id = p.document_id)
       = ANY(ARRAY(SELECT ap.party_id FROM {assignment_parties} ap
                   WHERE ap.assignment_id = %(aid)s))))""",
        **tables(),
    )


@cache
def assignments_of_document_sql(document: str) -> str:
    """The ids of the assignments containing the document whose id is the SQL expression
    ``document`` (a parameter, or a column of the caller's query such as ``"p.document_id"``:
    its own aliases ``ad``, ``am``, ``ap``, ``d`` and ``m`` shadow the caller's). Document
    level: callers that ask about one page check its ``withdrawn_at`` themselves."""
    return compose(
        """
    SELECT ad.assignment_id FROM {assignment_documents} ad WHERE ad.document_id = {doc}
    UNION
    SELECT am.assignment_id FROM {assignment_members} am
      JOIN {document} d ON d.member_id = am.member_id WHERE d.id = {doc}
    UNION
    SELECT ap.assignment_id FROM {assignment_parties} ap
      JOIN {member} m ON m.party_id = ap.party_id
      JOIN {document} d ON d.member_id = m.id WHERE d.id = {doc}""",
        doc=sql.SQL(document),
        **tables(),
    )


def assignments_of_one_document_sql() -> str:
    """The same for one document given as a parameter: %(doc)s."""
    return assignments_of_document_sql("%(doc)s")


@cache
def assignments_of_documents_sql() -> str:
    """(document id, assignment id) for each of several documents. Parameter: %(docs)s (an
    array)."""
    return compose(
        """
    SELECT ad.document_id, ad.assignment_id FROM {assignment_documents} ad
     WHERE ad.document_id = ANY(%(docs)s)
    UNION
    SELECT d.id, am.assignment_id FROM {assignment_members} am
      JOIN {document} d ON d.member_id = am.member_id WHERE d.id = ANY(%(docs)s)
    UNION
    SELECT d.id, ap.assignment_id FROM {assignment_parties} ap
      JOIN {member} m ON m.party_id = ap.party_id
      JOIN {document} d ON d.member_id = m.id WHERE d.id = ANY(%(docs)s)""",
        **tables(),
    )


@cache
def assignment_pages_sql() -> str:
    """(assignment_id, page_id) for every page of every assignment. No parameters."""
    return compose(
        """
    SELECT ad.assignment_id, p.id AS page_id FROM {assignment_documents} ad
      JOIN {page} p ON p.document_id = ad.document_id AND p.withdrawn_at IS NULL AND NOT p.known_answer
    UNION
    SELECT am.assignment_id, p.id FROM {assignment_members} am
      JOIN {document} d ON d.member_id = am.member_id
      JOIN {page} p ON p.document_id = d.id AND p.withdrawn_at IS NULL AND NOT p.known_answer
    UNION
    SELECT ap.assignment_id, p.id FROM {assignment_parties} ap
      JOIN {member} m ON m.party_id = ap.party_id JOIN {document} d ON d.member_id = m.id
      JOIN {page} p ON p.document_id = d.id AND p.withdrawn_at IS NULL AND NOT p.known_answer""",
        **tables(),
    )


# --- Done: at the threshold, or retired (issue 25) ---------------------------------------------
#
# A page of an assignment is done once ``review_count >= threshold``, or once the assignment
# retired it early because the crowd is confident (``assignments.RetiredPage``, written by
# ``assignments.actions.retire_pages``). Every reader of "still to do" (the to-do sets, the
# pool's Postgres probes, the picker's check, the progress counters) uses these fragments.


@cache
def retired_sql(assignment: str = "%(aid)s", page: str = "p.id") -> str:
    """Page ``page`` was retired by assignment ``assignment`` (SQL expressions, e.g. ``"a.id"``,
    ``"p.id"``; by default page ``p`` and the parameter %(aid)s). The unique (assignment, page)
    index: one probe."""
    return compose(
        """((SELECT 1 FROM {retiredpage} rp
    WHERE rp.assignment_id = {assignment_id} AND rp.page_id = {page_id}) IS NOT NULL)""",
        assignment_id=sql.SQL(assignment),
        page_id=sql.SQL(page),
        **tables(),
    )


def retired_page_ids(assignment_id: int) -> set[int]:
    return set(
        apps.get_model("assignments", "RetiredPage")
        .objects.filter(assignment_id=assignment_id)
        .values_list("page_id", flat=True)
    )


def retired_pairs(assignment_ids=None, page_ids=None) -> set[tuple[int, int]]:
    """(assignment id, page id) of retired pages, narrowed to these assignments and pages."""
    qs = apps.get_model("assignments", "RetiredPage").objects.all()
    if assignment_ids is not None:
        qs = qs.filter(assignment_id__in=list(assignment_ids))
    if page_ids is not None:
        qs = qs.filter(page_id__in=list(page_ids))
    return set(qs.values_list("assignment_id", "page_id"))


@cache
def retired_publicly_sql(page: str) -> str:
    """Page ``page`` (an SQL expression) was retired early by an active assignment: its counts
    are public from then on, like those of a page at its public threshold (issue 25). The rule
    the listings follow too (``PageTag.listed_at``); an index probe on ``retiredpage_page_idx``."""
    return compose(
        """EXISTS (SELECT 1 FROM {retiredpage} prt_rp
    JOIN {assignment} prt_a ON prt_a.id = prt_rp.assignment_id AND prt_a.active
    WHERE prt_rp.page_id = {page_id})""",
        page_id=sql.SQL(page),
        **tables(),
    )


def retired_publicly_expression(page_field: str = "pk") -> Exists:
    """The same as an ORM expression on a queryset whose ``page_field`` is a page's id."""
    retired = apps.get_model("assignments", "RetiredPage").objects.filter(
        page_id=OuterRef(page_field), assignment__active=True
    )
    return Exists(retired)


def page_retired_publicly(page_id: int) -> bool:
    return (
        apps.get_model("assignments", "RetiredPage")
        .objects.filter(page_id=page_id, assignment__active=True)
        .exists()
    )


# --- When a page's tag counts are public --------------------------------------------------------
#
# The rule a reader can check on the page itself: a page's tag counts are public once its
# review_count reached the LOWEST threshold among the active assignments containing it (so an
# assignment asking for more eyes does not hide pages a lenient one is happy with), or
# DEFAULT_PUBLIC_THRESHOLD when no active assignment contains it. Drafts are never active.

DEFAULT_PUBLIC_THRESHOLD = 1  # the model's default threshold: one review makes a page public


@cache
def public_threshold_sql(document: str) -> str:
    """A scalar SQL expression: the public threshold of every page of the document whose id is
    the SQL expression ``document`` (e.g. ``"p.document_id"``). Its own aliases are prefixed
    ``pth_`` so that they never shadow the caller's. Three index probes and a primary-key lookup
    per evaluation: evaluate it per document (:func:`document_public_thresholds_sql`) when many
    pages share few documents."""
    return compose(
        """(SELECT coalesce(min(pth_a.threshold), {default})
    FROM {assignment} pth_a WHERE pth_a.active AND pth_a.id IN (
      SELECT pth_ad.assignment_id FROM {assignment_documents} pth_ad
       WHERE pth_ad.document_id = {doc}
      UNION ALL
      SELECT pth_am.assignment_id FROM {assignment_members} pth_am
        JOIN {document} pth_d ON pth_d.member_id = pth_am.member_id WHERE pth_d.id = {doc}
      UNION ALL
      SELECT pth_ap.assignment_id FROM {assignment_parties} pth_ap
        JOIN {member} pth_m ON pth_m.party_id = pth_ap.party_id
        JOIN {document} pth_d ON pth_d.member_id = pth_m.id WHERE pth_d.id = {doc}))""",
        default=sql.SQL(str(DEFAULT_PUBLIC_THRESHOLD)),
        doc=sql.SQL(document),
        **tables(),
    )


@cache
def document_public_thresholds_sql(documents: str) -> str:
    """A derived table ``(document_id, threshold)`` of the documents matching ``documents`` (a
    condition on ``pth_doc.id``), to join pages or reviews to. ``OFFSET 0`` keeps Postgres from
    pulling the subquery up into the caller's join, which would evaluate the threshold once per
    joined row (per review) instead of once per document."""
    return compose(
        "(SELECT pth_doc.id AS document_id, {threshold} AS threshold"
        " FROM {document} pth_doc WHERE {documents} OFFSET 0)",
        threshold=sql.SQL(public_threshold_sql("pth_doc.id")),
        documents=sql.SQL(documents),
        **tables(),
    )


def public_threshold_expression(document_field: str = "document_id") -> Func:
    """The same rule as an ORM expression on a queryset whose ``document_field`` is a page's
    document id (``"document_id"`` on Page, ``"page__document_id"`` on PageTag)."""
    # Func's template is %-formatted: the fragment has no other % sign.
    return Func(
        F(document_field),
        template=public_threshold_sql("%(expressions)s"),
        output_field=IntegerField(),
    )
