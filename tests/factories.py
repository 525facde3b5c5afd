"""Factories for bulk test data. Pages made here have image names but no files (fast);
tests that need real images import real PDFs through the pipeline instead."""

from __future__ import annotations

import hashlib
import itertools

from django.contrib.auth import get_user_model
from django.utils import timezone

from assignments.models import Assignment
from catalogue.models import Document, Member, Page, Party, Tag

_seq = itertools.count(1)


def make_party(name: str | None = None) -> Party:
    n = next(_seq)
    name = name or f"Party {n}"
    return Party.objects.create(name=name, slug=f"party-{n}")


def make_member(party: Party | None = None, name: str | None = None) -> Member:
    n = next(_seq)
    return Member.objects.create(name=name or f"Member {n}", slug=f"member-{n}", party=party)


def make_document(
    member: Member | None = None, pages: int = 3, title: str | None = None, *, published: bool = True
) -> Document:
    """A document with ``pages`` pages (bulk-created; see the module docstring).

    ``published`` (the default, as every document was before the embargo, issue 22): published
    on its own, so public whatever assignment holds it. ``published=False``: a fresh upload,
    embargoed (staff only) until a published assignment takes it in or an editor publishes it
    (``assignments.visibility``)."""
    n = next(_seq)
    doc = Document.objects.create(
        published_at=timezone.now() if published else None,
        public=published,
        title=title or f"Document {n}",
        member=member,
        source=f"sources/doc-{n}.pdf",
        sha256=hashlib.sha256(f"doc-{n}".encode()).hexdigest(),
        page_count=pages,
        status=Document.Status.IMPORTED,
    )
    add_pages(doc, pages)
    return doc


def add_pages(document: Document, count: int, start: int = 1) -> list[Page]:
    pages = [
        Page(
            document=document,
            number=i,
            image=f"pages/{document.pk}-{i}.png",
            thumbnail=f"thumbs/{document.pk}-{i}.png",
            width=1400,
            height=1980,
            public=document.public and document.withdrawn_at is None,
        )
        for i in range(start, start + count)
    ]
    return Page.objects.bulk_create(pages)


def make_tag(
    slug: str, *, key: str = "", order: int = 0, active: bool = True, highlights: bool = False
) -> Tag:
    return Tag.objects.create(
        name=slug.replace("-", " ").capitalize(),
        slug=slug,
        key=key,
        order=order,
        active=active,
        highlights=highlights,
    )


def make_assignment(
    *,
    members=(),
    parties=(),
    documents=(),
    threshold: int = 1,
    featured: str = Assignment.Featured.NONE,
    slug: str | None = None,
    active: bool = True,
    status: str = Assignment.Status.PUBLISHED,
) -> Assignment:
    n = next(_seq)
    a = Assignment.objects.create(
        title=f"Assignment {n}",
        slug=slug or f"assignment-{n}",
        threshold=threshold,
        featured=featured,
        active=active,
        status=status,
    )
    a.members.set(members)
    a.parties.set(parties)
    a.documents.set(documents)
    return a


def make_user(username: str | None = None, **extra):
    n = next(_seq)
    return get_user_model().objects.create_user(
        username=username or f"user-{n}", password="pw-123456!", **extra
    )
