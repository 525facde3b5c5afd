"""The signal receivers of the assignments' denormalisations: reviews and skips, priority pages,
an assignment's scope, threshold and active flag."""

from __future__ import annotations

import redis
from django.db import connection
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from psycopg import sql

from assignments import scope
from assignments import signals as assignment_signals
from assignments.denormalisations.sets import log
from assignments.models import Assignment, PriorityPage
from assignments.picker.holds import end_reservations
from catalogue import signals
from denorm.changes import changed
from denorm.operations import mark_stale
from lib import keys, redis_batch
from lib.log_throttle import warn_throttled
from lib.sql_names import compose


def _active_assignments_of(page_id: int, given) -> list[int]:
    """The active assignments containing the page: as the action found them in its transaction
    (``active_assignment_ids``), else (a sender that did not say) from Postgres."""
    if given is not None:
        return list(given)
    with connection.cursor() as cursor:
        cursor.execute(
            compose(
                "SELECT a.id FROM {assignment} a JOIN {page} p ON p.id = %(page)s "
                "WHERE a.active AND a.id IN ({containing})",
                containing=sql.SQL(scope.assignments_of_document_sql("p.document_id")),
                **scope.tables(),
            ),
            {"page": page_id},
        )
        return [row[0] for row in cursor.fetchall()]


@receiver(signals.review_recorded, dispatch_uid="denormalisation-assignment-review")
def _on_review(
    sender,
    *,
    page_id,
    reviewer_id,
    completed_assignment_ids,
    quarantined=False,
    active_assignment_ids=None,
    holder=None,
    **kwargs,
):
    # The hot path: no query. The reviewer's reservation ends and the page needs one review
    # fewer in the active assignments containing it, and only those (one round trip, whatever
    # the number of active assignments); a quarantined reviewer's review counts for nothing, so
    # only the reservation ends.
    active = _active_assignments_of(page_id, active_assignment_ids)
    try:
        end_reservations(
            page_id=page_id,
            user_id=reviewer_id,
            reviewed=not quarantined,
            assignment_ids=active,
            holder=holder,
        )
    except redis.RedisError as exc:
        _sets_not_updated(exc)
        return
    completed = [a for a in completed_assignment_ids if a in set(active)]
    if not completed:
        return

    def fill(pipe) -> None:
        for assignment_id in completed:
            pipe.sadd(keys.assignment_done(assignment_id), page_id)
            pipe.srem(keys.assignment_todo(assignment_id), page_id)
            pipe.zrem(keys.assignment_todo_rank(assignment_id), page_id)

    # Sent with the other receivers' writes (one round trip, lib/redis_batch.py), before the
    # view picks the next page.
    redis_batch.queue(fill, _sets_not_updated)


@receiver(assignment_signals.pages_retired, dispatch_uid="denormalisation-assignment-retired")
def _on_retired(sender, *, assignment_id, page_ids, **kwargs):
    # Retired early (issue 25): done, as if the threshold had been reached (scope's done rule).
    def fill(pipe) -> None:
        pipe.sadd(keys.assignment_done(assignment_id), *page_ids)
        pipe.srem(keys.assignment_todo(assignment_id), *page_ids)
        pipe.zrem(keys.assignment_todo_rank(assignment_id), *page_ids)

    redis_batch.queue(fill, _sets_not_updated)


@receiver(signals.page_skipped, dispatch_uid="denormalisation-assignment-skip")
def _on_skip(sender, *, page_id, reviewer_id, active_assignment_ids=None, holder=None, **kwargs):
    try:
        end_reservations(
            page_id=page_id,
            user_id=reviewer_id,
            reviewed=False,
            assignment_ids=_active_assignments_of(page_id, active_assignment_ids),
            holder=holder,
        )
    except redis.RedisError as exc:
        # The reservation expires by itself; nothing to flag.
        warn_throttled(log, "assignment-reservations", "reservation not ended, Redis unavailable: %r", exc)


def _sets_not_updated(exc: Exception) -> None:
    # The review is committed and the stale flag gets the sets rebuilt; re-raising made
    # send_robust log a traceback for every review while Redis was down.
    mark_stale(["assignment-done", "assignment-todo", "assignment-todo-rank"], repr(exc))
    warn_throttled(
        log,
        "assignment-sets",
        "assignment done/todo sets not updated, Redis unavailable (flagged stale): %r",
        exc,
    )


@receiver(post_save, sender=PriorityPage, dispatch_uid="denormalisation-priority-save")
@receiver(post_delete, sender=PriorityPage, dispatch_uid="denormalisation-priority-delete")
def _on_priority_change(sender, instance, **kwargs):
    changed(pages=[instance.page_id])


def _on_scope_change(sender, instance, action, reverse, pk_set, **kwargs):
    if not reverse:
        if action in ("post_add", "post_remove", "post_clear"):
            changed(assignments=[instance.pk])
    elif action in ("post_add", "post_remove") and pk_set:
        changed(assignments=pk_set)
    elif action == "pre_clear":
        changed(assignments=instance.assignments.values_list("pk", flat=True))


for _field in ("members", "parties", "documents"):
    m2m_changed.connect(
        _on_scope_change,
        sender=getattr(Assignment, _field).through,
        dispatch_uid=f"denormalisation-assignment-{_field}",
    )


@receiver(pre_save, sender=Assignment, dispatch_uid="denormalisation-assignment-before")
def _before_assignment_save(sender, instance, **kwargs):
    instance._crowd_before = (
        Assignment.objects.filter(pk=instance.pk).values_list("threshold", "active", "status").first()
        if instance.pk
        else None
    )


@receiver(post_save, sender=Assignment, dispatch_uid="denormalisation-assignment-after")
def _after_assignment_save(sender, instance, created, **kwargs):
    # The status too: publishing a draft (or taking it back) changes which documents are public
    # (``document-page-public``), whoever saved it (the admin's form saves the model).
    now = (instance.threshold, instance.active, instance.status)
    if created or getattr(instance, "_crowd_before", None) != now:
        changed(assignments=[instance.pk])


@receiver(post_delete, sender=Assignment, dispatch_uid="denormalisation-assignment-delete")
def _on_assignment_delete(sender, instance, **kwargs):
    changed(assignments=[instance.pk])
