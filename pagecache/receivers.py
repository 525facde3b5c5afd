"""Which writes bump which generations (see ``pagecache.generations``), always after commit.

Writes that Django sends no signal for (``QuerySet.update()``, raw SQL) reach the page cache
through ``denorm.changes.changed`` and the ``refresh`` of the ``page-cache-generations`` entry
(pagecache/denormalisations.py).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from assignments.models import Assignment
from catalogue import signals
from catalogue.models import Document, Member, Page, Party, Tag
from pagecache import generations as g
from pagecache import media
from reviews.models import Discovery, Review


@receiver(signals.review_recorded, dispatch_uid="pagecache-review")
def _review_recorded(sender, page_id, tag_ids=(), tag_slugs=None, quarantined=False, **kwargs):
    if quarantined:
        return  # changed no count anyone sees
    # Sent after commit. Tag listings are keyed by slug: submit_review sends them; otherwise one
    # small query for the review's tags.
    if tag_slugs is not None:
        slugs = list(tag_slugs)
    else:
        slugs = list(Tag.objects.filter(pk__in=list(tag_ids or ())).values_list("slug", flat=True))
    g.bump([g.COUNTS, g.page(page_id), *(g.tag(s) for s in slugs)])


@receiver(post_delete, sender=Review, dispatch_uid="pagecache-review-delete")
def _review_deleted(sender, instance, **kwargs):
    g.bump_on_commit([g.COUNTS, g.page(instance.page_id), g.CATALOGUE])


@receiver(post_save, sender=Discovery, dispatch_uid="pagecache-discovery-save")
@receiver(post_delete, sender=Discovery, dispatch_uid="pagecache-discovery-delete")
def _discovery_changed(sender, instance, **kwargs):
    g.bump_on_commit([g.DISCOVERIES, g.page(instance.page_id)])


@receiver(post_save, sender=Assignment, dispatch_uid="pagecache-assignment-save")
@receiver(post_delete, sender=Assignment, dispatch_uid="pagecache-assignment-delete")
def _assignment_changed(sender, **kwargs):
    g.bump_on_commit([g.ASSIGNMENTS])


@receiver(m2m_changed, sender=Assignment.members.through, dispatch_uid="pagecache-assignment-members")
@receiver(m2m_changed, sender=Assignment.parties.through, dispatch_uid="pagecache-assignment-parties")
@receiver(m2m_changed, sender=Assignment.documents.through, dispatch_uid="pagecache-assignment-documents")
def _assignment_scope_changed(sender, action, **kwargs):
    if action.startswith("post_"):
        g.bump_on_commit([g.ASSIGNMENTS])


@receiver(post_delete, sender=Page, dispatch_uid="pagecache-page-delete")
@receiver(post_save, sender=Page, dispatch_uid="pagecache-page-save")
def _page_changed(sender, instance, **kwargs):
    g.bump_on_commit([g.CATALOGUE, g.page(instance.pk)])
    # Its images' nginx entries (pagecache.media): the names as saved (a deleted page is gone
    # from Postgres by commit time).
    names = [instance.image.name, instance.thumbnail.name]
    transaction.on_commit(lambda: media.forget_names(names))


def _catalogue_changed(sender, created=False, **kwargs):
    if created and sender is Document:
        return  # no page yet: its pages arrive with document_imported, which bumps
    g.bump_on_commit([g.CATALOGUE])
    if sender is Document:
        document_id = kwargs["instance"].pk
        transaction.on_commit(lambda: media.forget_documents([document_id]))


for _model in (Tag, Document, Member, Party):
    post_save.connect(_catalogue_changed, sender=_model, dispatch_uid=f"pagecache-{_model.__name__}-save")
    post_delete.connect(_catalogue_changed, sender=_model, dispatch_uid=f"pagecache-{_model.__name__}-delete")


@receiver(signals.document_imported, dispatch_uid="pagecache-imported")
def _document_imported(sender, **kwargs):
    g.bump([g.CATALOGUE])
