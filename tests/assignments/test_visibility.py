"""The one rule of who may see a page (``assignments.visibility``, issue 22's embargo): a fresh
document is staff only until a published assignment (by document, member or party) contains it
or an editor publishes it on its own; a withdrawn page is never public. Stored as
``Document.public``/``Page.public`` (registry entry ``document-page-public``), written by the
actions in their transaction, re-derived after commit for the admin's saves, checked and
repaired by the registry."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.db import connection

from assignments import visibility
from assignments.actions import (
    create_assignment,
    publish_assignment,
    set_assignment_scope,
    unpublish_assignment,
)
from assignments.models import Assignment
from catalogue import actions as catalogue_actions
from catalogue import importer
from catalogue.models import Document, Page
from moderation.actions.embargo import embargo_document, publish_document
from moderation.actions.takedown import reinstate_page, withdraw_page
from reviews.actions import submit_review
from reviews.models import PageTag
from tests import factories
from tests.catalogue.pdf_samples import pdf_bytes, write

pytestmark = pytest.mark.django_db(transaction=True)


def _public(document) -> tuple[bool, set[bool]]:
    """(the document's ``public``, the set of its pages' ``public``) as stored."""
    doc = Document.objects.get(pk=document.pk)
    return doc.public, set(Page.objects.filter(document=doc).values_list("public", flat=True))


@pytest.fixture
def fresh():
    """An embargoed document of member Ann (party Greens), with its owners."""
    party = factories.make_party()
    member = factories.make_member(party=party)
    return {
        "doc": factories.make_document(member=member, pages=3, published=False),
        "member": member,
        "party": party,
    }


@pytest.mark.parametrize("by", ["documents", "members", "parties"])
def test_a_fresh_document_is_public_only_while_a_published_assignment_contains_it(fresh, by):
    owner = {"documents": fresh["doc"], "members": fresh["member"], "parties": fresh["party"]}[by]
    assert _public(fresh["doc"]) == (False, {False})
    draft = create_assignment(
        title="Prep", slug="prep", status=Assignment.Status.DRAFT, active=False, **{by: [owner.pk]}
    )
    assert _public(fresh["doc"]) == (False, {False})  # a draft's scope makes nothing public

    publish_assignment(assignment_id=draft.pk)
    assert _public(fresh["doc"]) == (True, {True})

    unpublish_assignment(assignment_id=draft.pk)
    assert _public(fresh["doc"]) == (False, {False})

    publish_assignment(assignment_id=draft.pk)
    set_assignment_scope(assignment_id=draft.pk, **{by: []})  # out of its scope: embargoed again
    assert _public(fresh["doc"]) == (False, {False})


def test_an_admin_save_of_the_status_is_followed_after_commit(fresh):
    """The admin's form saves the model (no action): the registry's refresh re-derives."""
    draft = factories.make_assignment(documents=[fresh["doc"]], status=Assignment.Status.DRAFT, active=False)
    assert _public(fresh["doc"]) == (False, {False})
    draft.status = Assignment.Status.PUBLISHED
    draft.save()
    assert _public(fresh["doc"]) == (True, {True})


def test_publishing_on_its_own_holds_without_assignment_and_embargo_takes_it_back(fresh, editor):
    publish_document(fresh["doc"], by=editor)
    assert _public(fresh["doc"]) == (True, {True})
    embargo_document(fresh["doc"], by=editor)
    assert _public(fresh["doc"]) == (False, {False})


def test_a_withdrawn_page_is_never_public_and_comes_back_when_reinstated(fresh, editor):
    publish_document(fresh["doc"], by=editor)
    page = fresh["doc"].pages.order_by("number").first()
    withdraw_page(page, by=editor, reason="An address")
    page.refresh_from_db()
    assert not page.public and visibility.page_visibility(page) == "withdrawn"
    assert not visibility.can_see_page(AnonymousUser(), page) and visibility.can_see_page(editor, page)
    assert Document.objects.get(pk=fresh["doc"].pk).public  # the rest of the document stays
    reinstate_page(page, by=editor)
    page.refresh_from_db()
    assert page.public and visibility.page_visibility(page) == "public"


def test_tags_of_an_embargoed_page_are_listed_once_it_is_published(fresh, editor, reviewer, tags):
    """listed_at (what public listings, feeds and exports read) follows the embargo."""
    page = fresh["doc"].pages.first()
    submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"], only_open_pages=False)
    assert PageTag.objects.get(page=page).listed_at is None
    publish_document(fresh["doc"], by=editor)
    assert PageTag.objects.get(page=page).listed_at is not None
    embargo_document(fresh["doc"], by=editor)
    assert PageTag.objects.get(page=page).listed_at is None


def test_an_import_is_embargoed_unless_its_member_is_in_a_published_assignment(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    covered, alone = factories.make_member(), factories.make_member()
    factories.make_assignment(members=[covered])
    documents = {}
    for member, name in ((covered, "covered.pdf"), (alone, "alone.pdf")):
        path = write(tmp_path / name, pdf_bytes(2, sizes=None) + name.encode())
        document = catalogue_actions.create_document_from_path(path=path, member=member, queue=False).document
        importer.import_document(document.pk)
        documents[name] = document
    assert _public(documents["covered.pdf"]) == (True, {True})
    assert _public(documents["alone.pdf"]) == (False, {False})


def test_the_rule_refuses_aliases_it_cannot_use():
    with pytest.raises(ValueError):
        visibility.public_page_sql("p; drop table x")
    with pytest.raises(ValueError):
        visibility.document_public_sql("d")  # the scope's own alias: it would match itself
    assert visibility.public_page_sql("pg") == "(pg.public AND pg.withdrawn_at IS NULL)"


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_check_finds_the_booleans_broken_by_hand_and_rebuild_repairs_them(fresh, editor):
    public = factories.make_document(pages=2)
    assert "ok" in _run("check_denormalisations", "document-page-public")
    # A leak and a loss, as a forgotten sync would leave them.
    Page.objects.filter(document=fresh["doc"]).update(public=True)
    Document.objects.filter(pk=public.pk).update(public=False)
    out = io.StringIO()
    with pytest.raises(CommandError, match="document-page-public"):
        call_command("check_denormalisations", "document-page-public", stdout=out)
    assert f"document {public.pk}: public=False, should be True" in out.getvalue()
    assert "wrong 4" in out.getvalue()  # 3 pages leaked, 1 document lost
    assert "rebuilt" in _run("rebuild_denormalisations", "document-page-public")
    assert "ok" in _run("check_denormalisations", "document-page-public")
    assert _public(fresh["doc"]) == (False, {False}) and _public(public) == (True, {True})


def test_the_orm_and_sql_forms_of_the_rule_select_the_same_pages(fresh, editor):
    public = factories.make_document(pages=2)
    withdrawn = public.pages.first()
    withdraw_page(withdrawn, by=editor, reason="An address")
    by_orm = set(Page.objects.filter(visibility.public_page_q()).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT p.id FROM reviews_page p WHERE {visibility.public_page_sql('p')}")
        by_sql = {row[0] for row in cursor.fetchall()}
    assert by_orm == by_sql == set(public.pages.exclude(pk=withdrawn.pk).values_list("pk", flat=True))
