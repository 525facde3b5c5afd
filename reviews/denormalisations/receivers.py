"""The signal receivers of this package's denormalisations: what changed, declared to the registry
(``denorm.changes``) or applied after commit."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from assignments.denormalisations.contexts import _cached_document_context, capture_document_pages
from catalogue import signals
from catalogue.models import Document, Member, Page, Party
from denorm.changes import PageContext, changed
from reviews.denormalisations.seen import _add_seen
from reviews.models import Review, Skip


@receiver(signals.review_recorded, dispatch_uid="denormalisation-seen-review")
def _on_review(sender, *, page_id, reviewer_id, **kwargs):
    _add_seen(reviewer_id, page_id)


@receiver(signals.page_skipped, dispatch_uid="denormalisation-seen-skip")
def _on_skip(sender, *, page_id, reviewer_id, **kwargs):
    _add_seen(reviewer_id, page_id)


@receiver(signals.document_imported, dispatch_uid="denormalisation-imported")
def _on_imported(sender, *, document_id, **kwargs):
    changed(pages=list(Page.objects.filter(document_id=document_id).values_list("id", flat=True)))


@receiver(pre_delete, sender=Page, dispatch_uid="denormalisation-page-delete")
def _on_page_delete(sender, instance, **kwargs):
    # Before the delete: afterwards Postgres no longer knows which sets held the page.
    changed(pages={instance.pk: PageContext().merge(_cached_document_context(instance.document_id))})


@receiver(post_delete, sender=Review, dispatch_uid="denormalisation-review-delete")
def _on_review_delete(sender, instance, **kwargs):
    changed(pages=[instance.page_id], seen=[(instance.reviewer_id, instance.page_id)])


@receiver(post_delete, sender=Skip, dispatch_uid="denormalisation-skip-delete")
def _on_skip_delete(sender, instance, **kwargs):
    changed(seen=[(instance.reviewer_id, instance.page_id)])


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="denormalisation-user-delete")
def _on_user_delete(sender, instance, **kwargs):
    changed(users=[instance.pk])


@receiver(pre_delete, sender=Party, dispatch_uid="denormalisation-party-delete")
def _on_party_delete(sender, instance, **kwargs):
    # Members are detached with a bulk UPDATE (SET_NULL): no signal per member, so capture here.
    docs = Document.objects.filter(member__party=instance).values_list("id", flat=True)
    changed(pages=capture_document_pages(list(docs)), parties=[instance.pk])


@receiver(pre_save, sender=Member, dispatch_uid="denormalisation-member-move")
def _before_member_save(sender, instance, update_fields=None, **kwargs):
    instance._crowd_moved = None
    if instance.pk is None or (update_fields is not None and "party" not in update_fields):
        return
    before = Member.objects.filter(pk=instance.pk).values_list("party_id", flat=True).first()
    if before != instance.party_id:
        docs = Document.objects.filter(member_id=instance.pk).values_list("id", flat=True)
        instance._crowd_moved = capture_document_pages(list(docs))


@receiver(pre_save, sender=Document, dispatch_uid="denormalisation-document-move")
def _before_document_save(sender, instance, update_fields=None, **kwargs):
    instance._crowd_moved = None
    if instance.pk is None or (update_fields is not None and "member" not in update_fields):
        return
    before = Document.objects.filter(pk=instance.pk).values_list("member_id", flat=True).first()
    if before != instance.member_id:
        instance._crowd_moved = capture_document_pages([instance.pk])


@receiver(pre_save, sender=Page, dispatch_uid="denormalisation-page-move")
def _before_page_save(sender, instance, update_fields=None, **kwargs):
    instance._crowd_moved = None
    if instance.pk is None or (update_fields is not None and "document" not in update_fields):
        return
    before = Page.objects.filter(pk=instance.pk).values_list("document_id", flat=True).first()
    if before is not None and before != instance.document_id:
        instance._crowd_moved = {instance.pk: PageContext().merge(_cached_document_context(before))}


def _after_move(sender, instance, **kwargs):
    moved = getattr(instance, "_crowd_moved", None)
    if moved:
        instance._crowd_moved = None
        changed(pages=moved)


for _model in (Member, Document, Page):
    post_save.connect(_after_move, sender=_model, dispatch_uid=f"denormalisation-move-{_model.__name__}")


@receiver(post_save, sender=Review, dispatch_uid="denormalisation-review-save")
def _after_review_save(sender, instance, created, **kwargs):
    if created:
        instance._crowd_new = True
        return
    before = getattr(instance, "_crowd_before", None)
    pairs = {(instance.reviewer_id, instance.page_id)} | ({before} if before else set())
    if before != (instance.reviewer_id, instance.page_id):
        changed(pages={p for _, p in pairs}, seen=pairs)


@receiver(pre_save, sender=Review, dispatch_uid="denormalisation-review-before")
def _before_review_save(sender, instance, **kwargs):
    instance._crowd_before = (
        Review.objects.filter(pk=instance.pk).values_list("reviewer_id", "page_id").first()
        if instance.pk and not getattr(instance, "_crowd_new", False)
        else None
    )
