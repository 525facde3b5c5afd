"""Denormalisations of assignments (see the ``denorm`` app).

Redis, per active assignment (inactive assignments have no sets), all in the ``{a:<id>}`` hash
slot so that one command may touch them together:

- ``needed``: the ids of the assignment's pages (by its members, parties and documents);
- ``done``: those whose ``review_count`` reached the assignment's threshold;
- ``todo``: ``needed`` minus ``done``, built with ``SDIFFSTORE`` when the sets are rebuilt and then
  kept current member by member (SADD/SREM), so that no request pays for a set difference;
- ``todo-rank``: the same ids in a sorted set whose score encodes each page's free places
  (reviews still needed minus the picker's live reservations) and priority (see
  ``assignments/picker/tiers.lua``), kept in step with ``todo`` (ZADD/ZREM next to every
  SADD/SREM) and re-scored by every review and reservation. The picker draws from it by random
  rank within a band of equal scores (``ZRANGE key r r``, O(log n)): ``SRANDMEMBER`` on a set of
  more than 512 ids (a hashtable) favours some members up to several times over others;
- ``priority``: the ids of the assignment's priority pages (``PriorityPage``).

Postgres: ``Assignment.page_count`` and ``Assignment.completed_count``.

For the picker: :func:`rebuild_assignment_sets` rebuilds one assignment's three sets (build beside,
then swap), and ``denorm.redis_family_ready("assignment-todo")`` says whether the
sets can be trusted (queueing a rebuild when Redis lost them).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict

import redis
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from assignments import scope, visibility
from assignments import signals as assignment_signals
from assignments.actions import sync_visibility
from assignments.models import Assignment, PriorityPage, RetiredPage
from assignments.picker.holds import end_reservations, settle_pages
from assignments.picker.scripts import rank_score
from denorm.changes import Changes, changed
from denorm.operations import mark_stale
from denorm.redis_sets import (
    TEMPORARY_SECONDS,
    hash_tag_id,
    read_scores,
    read_sets,
    scan_keys,
    sync_set,
    write_temporary,
)
from denorm.registry import Denormalisation, Drift, Store, register
from lib import keys, redis_batch
from lib.log_throttle import warn_throttled
from lib.redis_client import get_redis
from lib.redis_scripts import execute
from reviews import signals
from reviews.denormalisations import page_states, relist_pages
from reviews.models import Page

log = logging.getLogger("crowd.denormalisation")

_A = f"{keys.NAMESPACE}:{keys.VERSION}:{{a:*}}"
PATTERNS = {
    "needed": f"{_A}:needed",
    "done": f"{_A}:done",
    "todo": f"{_A}:todo",
    "rank": f"{_A}:todo-rank",
    "priority": f"{_A}:priority",
}
KEY_OF = {
    "needed": keys.assignment_needed,
    "done": keys.assignment_done,
    "todo": keys.assignment_todo,
    "rank": keys.assignment_todo_rank,
    "priority": keys.assignment_priority,
}
SET_NAMES = {
    "needed": "assignment-needed",
    "done": "assignment-done",
    "todo": "assignment-todo",
    "rank": "assignment-todo-rank",
    "priority": "assignment-priority",
}
KINDS = ("needed", "done", "todo", "rank", "priority")
# The picker's reservations: not copies of Postgres, but they go with the assignment's sets.
RESERVATION_KEYS = (
    keys.assignment_holds,
    keys.assignment_hold_counts,
    keys.assignment_holders,
    keys.assignment_hold_addresses,
    keys.assignment_address_holds,
    keys.assignment_soft_holds,
)


def _empty_truth() -> dict:
    return {"needed": set(), "done": set(), "todo": set(), "priority": set(), "remaining": {}}


def assignment_truth(assignment_id: int) -> dict | None:
    """The sets of one assignment from Postgres, and the reviews each to-do page still needs
    (``remaining``); None when it is inactive or gone."""
    row = Assignment.objects.filter(pk=assignment_id).values_list("active", "threshold").first()
    if row is None or not row[0]:
        return None
    threshold = row[1]
    truth = _empty_truth()
    retired = scope.retired_page_ids(assignment_id)  # done early (issue 25): scope's done rule
    for page_id, count in Page.objects.filter(scope.page_filter(assignment_id)).values_list(
        "id", "review_count"
    ):
        truth["needed"].add(page_id)
        if count >= threshold or page_id in retired:
            truth["done"].add(page_id)
        else:
            truth["todo"].add(page_id)
            truth["remaining"][page_id] = threshold - count
    # A withdrawn page leaves the assignment (assignments.scope), its priority mark with it.
    truth["priority"] = set(
        PriorityPage.objects.filter(assignment_id=assignment_id, page__withdrawn_at__isnull=True).values_list(
            "page_id", flat=True
        )
    )
    return truth


def all_assignment_truth() -> dict[int, dict]:
    """The sets of every active assignment in one query (checks)."""
    truth = {pk: _empty_truth() for pk in Assignment.objects.filter(active=True).values_list("pk", flat=True)}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.id, p.id, a.threshold - p.review_count, {scope.retired_sql('a.id', 'p.id')}"
            f" FROM ({scope.ASSIGNMENT_PAGES_SQL}) x"
            " JOIN assignments_assignment a ON a.id = x.assignment_id AND a.active"
            " JOIN reviews_page p ON p.id = x.page_id"
        )
        for assignment_id, page_id, remaining, retired in cursor.fetchall():
            sets = truth[assignment_id]
            sets["needed"].add(page_id)
            if remaining <= 0 or retired:
                sets["done"].add(page_id)
            else:
                sets["todo"].add(page_id)
                sets["remaining"][page_id] = remaining
    for assignment_id, page_id in PriorityPage.objects.filter(
        assignment_id__in=list(truth), page__withdrawn_at__isnull=True
    ).values_list("assignment_id", "page_id"):
        truth[assignment_id]["priority"].add(page_id)
    return truth


def _hold_counts(client, assignment_id: int) -> dict[int, int]:
    return {int(k): int(v) for k, v in client.hgetall(keys.assignment_hold_counts(assignment_id)).items()}


def rank_scores(truth: dict, holds: dict[int, int]) -> dict[int, int]:
    """The to-do mirror's score of each to-do page (see ``assignments/picker/tiers.lua``)."""
    return {
        page_id: rank_score(free=remaining - holds.get(page_id, 0), priority=page_id in truth["priority"])
        for page_id, remaining in truth["remaining"].items()
    }


# The to-do set made from the needed and done sets, created with its expiry in one command (see
# ``denorm.redis_sets.write_temporary``). All three keys share the assignment's hash tag.
_DIFF_EXPIRING = (
    "redis.call('SDIFFSTORE', KEYS[1], KEYS[2], KEYS[3]) return redis.call('EXPIRE', KEYS[1], ARGV[1])"
)


def rebuild_assignment_sets(assignment_id: int) -> None:
    """Rebuild the sets of one assignment from Postgres, safely while the picker reads them: the
    new sets are built beside the old ones (same hash slot), the to-do set with SDIFFSTORE, and
    swapped in one MULTI; then whatever on-commit updates landed during the build are repaired
    member by member. An inactive or deleted assignment loses its sets (and its reservations)."""
    client = get_redis()
    names = [KEY_OF[k](assignment_id) for k in KINDS]
    truth = assignment_truth(assignment_id)
    if truth is None:
        client.delete(*names, *(key(assignment_id) for key in RESERVATION_KEYS))
        return
    scores = rank_scores(truth, _hold_counts(client, assignment_id))
    token = uuid.uuid4().hex[:12]
    tmp = {k: f"{KEY_OF[k](assignment_id)}:tmp:{token}" for k in KINDS}
    build = client.pipeline(transaction=False)
    # A crash mid-build leaves no permanent litter: each temporary key is created with its expiry.
    for kind in ("needed", "done", "priority"):
        write_temporary(build, "SADD", tmp[kind], sorted(truth[kind]))
    build.eval(_DIFF_EXPIRING, 3, tmp["todo"], tmp["needed"], tmp["done"], TEMPORARY_SECONDS)
    write_temporary(
        build,
        "ZADD",
        tmp["rank"],
        [v for member, n in sorted(scores.items()) for v in (n, member)],
        per_item=2,
    )
    build.execute()
    swap = client.pipeline(transaction=True)
    for kind in KINDS:
        if truth["todo" if kind == "rank" else kind]:
            swap.rename(tmp[kind], KEY_OF[kind](assignment_id))
            swap.persist(KEY_OF[kind](assignment_id))
        else:
            swap.delete(KEY_OF[kind](assignment_id), tmp[kind])
    swap.execute()
    sync_assignment_sets(assignment_id, fix=True)


def sync_assignment_sets(assignment_id: int, *, fix: bool, kinds=KINDS) -> Drift:
    """Compare (with ``fix``, repair member by member) one assignment's sets with Postgres.

    Redis is read before Postgres: an on-commit update racing with this can then only make a
    member look missing or extra when it truly is, so a repair never undoes a newer update."""
    client = get_redis()
    actual = _read_kinds(assignment_id, kinds)
    holds = _hold_counts(client, assignment_id)
    truth = assignment_truth(assignment_id) or _empty_truth()
    drift = Drift()
    pipe = client.pipeline(transaction=False)
    for kind in kinds:
        drift.merge(
            _sync(
                kind,
                assignment_id,
                truth,
                holds,
                actual=actual[kind],
                fix=fix,
                label=f"assignment {assignment_id} {kind}",
                pipe=pipe,
            )
        )
    if fix:
        pipe.execute()
    return drift


def _read_kinds(assignment_id: int, kinds) -> dict:
    """The members of one assignment's sets (the mirror: member -> score), in SSCAN/ZSCAN
    batches when large (``denorm.redis_sets``)."""
    plain = [k for k in kinds if k != "rank"]
    actual = dict(zip(plain, read_sets([KEY_OF[k](assignment_id) for k in plain]), strict=True))
    if "rank" in kinds:
        [actual["rank"]] = read_scores([KEY_OF["rank"](assignment_id)])
    return actual


def _sync(
    kind: str,
    assignment_id: int,
    truth: dict,
    holds: dict[int, int],
    *,
    actual,
    fix: bool,
    label: str,
    pipe=None,
) -> Drift:
    key = KEY_OF[kind](assignment_id)
    if kind != "rank":
        return sync_set(key, truth[kind], actual=actual, fix=fix, label=label, pipe=pipe)
    # The mirror: members as the to-do set, each with the score its free places and priority give.
    want = rank_scores(truth, holds)
    have = {int(m): float(sc) for m, sc in actual.items()}
    missing = {p: sc for p, sc in want.items() if p not in have}
    extra = [p for p in have if p not in want]
    wrong = {p: sc for p, sc in want.items() if p in have and have[p] != sc}
    drift = Drift(missing=len(missing), extra=len(extra), wrong=len(wrong))
    for p in sorted(missing)[:2]:
        drift.add_example(f"{label}: {p} missing")
    for p in sorted(extra)[:2]:
        drift.add_example(f"{label}: {p} extra")
    for p in sorted(wrong)[:2]:
        drift.add_example(f"{label}: {p} scored {have[p]:g}, should be {wrong[p]}")
    if fix and (missing or extra or wrong):
        own = pipe is None
        pipe = pipe if pipe is not None else get_redis().pipeline(transaction=False)
        if missing:
            pipe.zadd(key, dict.fromkeys(missing, 0), nx=True)
        if missing or wrong:
            # Scored by the settle script, from the live reservations counted at that moment (a
            # reservation made since the read is not lost).
            settle_pages(pipe, assignment_id, {p: truth["remaining"][p] for p in {**missing, **wrong}})
        if extra:
            pipe.zrem(key, *extra)
        if own:
            execute(pipe, get_redis())
    return drift


def _assignment_ids_with_keys(kind: str) -> set[int]:
    return {hash_tag_id(k) for k in scan_keys(PATTERNS[kind])}


def rebuild_all_assignment_sets() -> None:
    active = set(Assignment.objects.filter(active=True).values_list("pk", flat=True))
    stray = set().union(*(_assignment_ids_with_keys(k) for k in KEY_OF)) - active
    for assignment_id in sorted(active | stray):
        rebuild_assignment_sets(assignment_id)


def _set_check(kind: str):
    def check() -> Drift:
        truth = all_assignment_truth()
        ids = sorted(set(truth) | _assignment_ids_with_keys(kind))
        keys_ = [KEY_OF[kind](a) for a in ids]
        found = read_scores(keys_) if kind == "rank" else read_sets(keys_)
        if kind == "rank":
            read = get_redis().pipeline(transaction=False)
            for assignment_id in ids:
                read.hgetall(keys.assignment_hold_counts(assignment_id))
            all_holds = [{int(k): int(v) for k, v in h.items()} for h in read.execute()]
        else:
            all_holds = [{}] * len(ids)
        drift = Drift()
        for assignment_id, actual, holds in zip(ids, found, all_holds, strict=True):
            want = truth.get(assignment_id, _empty_truth())
            label = f"assignment {assignment_id} {kind}"
            drift.merge(_sync(kind, assignment_id, want, holds, actual=actual, fix=False, label=label))
        return drift

    return check


def _set_repair(kind: str):
    def repair() -> Drift:
        # One assignment at a time, Redis read before Postgres (see sync_assignment_sets).
        ids = _active_truth() | _assignment_ids_with_keys(kind)
        drift = Drift()
        for assignment_id in sorted(ids):
            drift.merge(sync_assignment_sets(assignment_id, fix=True, kinds=(kind,)))
        return drift

    return repair


def refresh_assignment_sets(changes: Changes) -> None:
    """After commit: rebuild the sets of assignments named in ``changes``; re-derive the changed
    pages' membership in the sets of every active assignment that holds or held them."""
    for assignment_id in sorted(changes.assignments):
        rebuild_assignment_sets(assignment_id)
    if not changes.pages:
        return
    now = page_states(changes.pages)
    candidates: set[int] = set()
    for page_id, before in changes.pages.items():
        candidates |= before.assignments
        if page_id in now:
            candidates |= now[page_id][0].assignments
    candidates -= changes.assignments
    thresholds = dict(
        Assignment.objects.filter(pk__in=candidates, active=True).values_list("pk", "threshold")
    )
    priority = set(
        PriorityPage.objects.filter(
            assignment_id__in=list(thresholds), page_id__in=list(changes.pages)
        ).values_list("assignment_id", "page_id")
    )
    retired = scope.retired_pairs(thresholds, changes.pages)  # done early (issue 25)
    ops: dict[tuple[str, str], set[int]] = defaultdict(set)  # (command, key) -> page ids
    settle: dict[int, dict[int, int]] = defaultdict(dict)  # assignment -> page -> remaining
    for page_id, before in changes.pages.items():
        context, count = now.get(page_id, (None, 0))
        inside = context.assignments if context is not None else set()
        for assignment_id in (before.assignments | inside) & thresholds.keys():
            needed = assignment_id in inside
            done = needed and (count >= thresholds[assignment_id] or (assignment_id, page_id) in retired)
            for kind, member in (("needed", needed), ("done", done), ("todo", needed and not done)):
                ops[("sadd" if member else "srem", KEY_OF[kind](assignment_id))].add(page_id)
            marked = needed and (assignment_id, page_id) in priority
            ops[("sadd" if marked else "srem", KEY_OF["priority"](assignment_id))].add(page_id)
            if needed and not done:
                settle[assignment_id][page_id] = thresholds[assignment_id] - count
            else:
                ops[("zrem", KEY_OF["rank"](assignment_id))].add(page_id)
    pipe = get_redis().pipeline(transaction=False)
    for (command, key), members in ops.items():
        getattr(pipe, command)(key, *members)
    for assignment_id, remaining in settle.items():
        # A page new to the mirror enters as if it had no reservation; then its score is set
        # from its remaining reviews, its live reservations and its priority (one script each).
        pipe.zadd(KEY_OF["rank"](assignment_id), dict.fromkeys(remaining, 0), nx=True)
        settle_pages(pipe, assignment_id, remaining)
    execute(pipe, get_redis())


# --- The active assignments (the picker shares claims across them) --------------------------


def _active_truth() -> set[int]:
    return set(Assignment.objects.filter(active=True).values_list("pk", flat=True))


def rebuild_active_assignments() -> None:
    key = keys.active_assignments()
    tmp = f"{key}:tmp:{uuid.uuid4().hex[:12]}"  # same hash tag: RENAME stays in one slot
    ids = sorted(_active_truth())
    pipe = get_redis().pipeline(transaction=True)
    if ids:
        pipe.sadd(tmp, *ids)
        pipe.rename(tmp, key)
    else:
        pipe.delete(key)
    pipe.execute()


def check_active_assignments() -> Drift:
    return sync_set(keys.active_assignments(), _active_truth(), label="active assignments")


def repair_active_assignments() -> Drift:
    actual = get_redis().smembers(keys.active_assignments())  # Redis before Postgres
    return sync_set(
        keys.active_assignments(), _active_truth(), actual=actual, fix=True, label="active assignments"
    )


def refresh_active_assignments(changes: Changes) -> None:
    if not changes.assignments:
        return
    active = set(
        Assignment.objects.filter(pk__in=changes.assignments, active=True).values_list("pk", flat=True)
    )
    pipe = get_redis().pipeline(transaction=False)
    for assignment_id in changes.assignments:
        (pipe.sadd if assignment_id in active else pipe.srem)(keys.active_assignments(), assignment_id)
    pipe.execute()


register(
    Denormalisation(
        name="active-assignments",
        description="The ids of the active assignments. The next-page picker reads it with each "
        "draw and copies the page it hands out into the other assignments' soft reservations, "
        "so that reviewers of overlapping assignments (a party and one of its members) are not "
        "handed the same page at once.",
        derived_from="`assignments_assignment.active`",
        lives_in="Redis set `crowd:v1:{active}:assignments`",
        kept_current_by="after commit: `post_save` and `post_delete` of an assignment (through "
        "`denorm.changed`)",
        rebuild=rebuild_active_assignments,
        check=check_active_assignments,
        repair=repair_active_assignments,
        refresh=refresh_active_assignments,
        order=49,
        store=Store.REDIS,
    )
)


# --- Postgres counters ------------------------------------------------------------------------


def recount_assignments(assignment_ids) -> None:
    """Set ``page_count``, ``completed_count`` and ``review_count`` of these assignments from
    their pages. The
    assignment row is locked first: a concurrent ``submit_review`` either committed before (and is
    counted) or increments after this commits."""
    for assignment_id in sorted(assignment_ids):
        with transaction.atomic():
            threshold = (
                Assignment.objects.select_for_update()
                .filter(pk=assignment_id)
                .values_list("threshold", flat=True)
                .first()
            )
            if threshold is None:
                continue
            counts = Page.objects.filter(scope.page_filter(assignment_id)).aggregate(
                pages=Count("id"),
                # The done rule (assignments.scope): at the threshold, or retired early.
                done=Count(
                    "id",
                    filter=Q(review_count__gte=threshold)
                    | Q(pk__in=RetiredPage.objects.filter(assignment_id=assignment_id).values("page_id")),
                ),
                reviews=Coalesce(Sum("review_count"), 0),
            )
            Assignment.objects.filter(pk=assignment_id).exclude(
                page_count=counts["pages"], completed_count=counts["done"], review_count=counts["reviews"]
            ).update(
                page_count=counts["pages"], completed_count=counts["done"], review_count=counts["reviews"]
            )


def refresh_assignment_counts(changes: Changes) -> None:
    ids = set(changes.assignments)
    if changes.pages:
        now = page_states(changes.pages)
        for page_id, before in changes.pages.items():
            ids |= before.assignments
            if page_id in now:
                ids |= now[page_id][0].assignments
    if ids:
        recount_assignments(ids)


def rebuild_assignment_counts() -> None:
    recount_assignments(Assignment.objects.values_list("pk", flat=True))


def _count_check(field: str):
    def check() -> Drift:
        return _count_drift(field)[0]

    return check


def _count_repair(field: str):
    def repair() -> Drift:
        drift, ids = _count_drift(field)
        if ids:
            recount_assignments(ids)
        return drift

    return repair


def _count_drift(field: str) -> tuple[Drift, list[int]]:
    drift, ids = Drift(), []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.id, a.{field}, count(p.id), count(p.id) FILTER (WHERE p.review_count >= a.threshold"
            f" OR {scope.retired_sql('a.id', 'p.id')}),"
            " coalesce(sum(p.review_count), 0)"
            f" FROM assignments_assignment a LEFT JOIN ({scope.ASSIGNMENT_PAGES_SQL}) x ON x.assignment_id = a.id"
            " LEFT JOIN reviews_page p ON p.id = x.page_id GROUP BY a.id ORDER BY a.id"
        )
        for pk, stored, pages, done, reviews in cursor.fetchall():
            actual = {"completed_count": done, "page_count": pages, "review_count": reviews}[field]
            if actual != stored:
                ids.append(pk)
                drift.wrong += 1
                drift.add_example(f"assignment {pk}: {stored}, should be {actual}")
    return drift, ids


# --- Registry ---------------------------------------------------------------------------------

_SETS_KEPT = (
    "after commit: `reviews.signals.review_recorded` (a page reaching the threshold: SADD done, "
    "SREM todo; every review: one fewer free place in the to-do mirror), `page_skipped` and the "
    "picker's reservations (the mirror's free places), `post_save`/`post_delete` of a "
    "`PriorityPage` (priority), `document_imported`, page deletes and cascades (via `reviews/denormalisations.py`), "
    "`m2m_changed` of the assignment's members, parties and documents and `post_save` changing "
    "its threshold or active flag (the assignment's sets are rebuilt), `post_delete`; anything "
    "else through `denorm.changed`."
)
_SET_DESCRIPTIONS = {
    "needed": "The ids of the pages each active assignment covers (its members', parties' and "
    "documents' pages, except withdrawn ones: `assignments.scope`).",
    "done": "The ids of the pages of each active assignment that at least `threshold` different "
    "reviewers reviewed.",
    "todo": "Needed minus done for each active assignment: what the next-page picker may serve. "
    "Built with SDIFFSTORE at rebuild time, then kept current member by member (SADD/SREM), so no "
    "request pays for a set difference. Small ones (up to 48 ids) are drawn from whole.",
    "rank": "The to-do set again, as a sorted set whose score encodes each page's free places "
    "(threshold - review_count - the picker's live reservations of it, counted in the hash "
    "`{a:<id>}:hold-counts`) and priority: -free, or -2^40 - free for a priority page, while it "
    "has a free place; -free (0 or more) when it has none. So the pages the picker may hand out "
    "are the scores below 0, priority first, the most free places (fewest reviews) first: the "
    "tiers of 'fewest reviews first', each a run of equal scores. Kept in step with the to-do "
    "set (ZADD/ZREM beside each SADD/SREM); re-scored by the picker's Lua scripts as "
    "reservations start and end and by every review. The picker draws from a tier by random rank "
    "(ZRANGE key r r, O(log n)), which is exactly uniform: SRANDMEMBER on a set of more than 512 "
    "ids (hashtable encoding) favours some members over others.",
    "priority": "The ids of each active assignment's priority pages (`assignments_prioritypage`), "
    "which the picker serves before the others (the to-do mirror's scores read it).",
}
_LIVES_IN = {"rank": "Redis sorted set"}
for _order, _kind in enumerate(KINDS):
    register(
        Denormalisation(
            name=SET_NAMES[_kind],
            description=_SET_DESCRIPTIONS[_kind],
            derived_from="`assignments_assignment` (active, threshold) with its members, parties "
            "and documents; `reviews_page` (document, review_count, withdrawn_at); "
            "`assignments_prioritypage`",
            lives_in=f"{_LIVES_IN.get(_kind, 'Redis set')} `{PATTERNS[_kind].replace('*', '<id>')}`",
            kept_current_by=_SETS_KEPT,
            # All are rebuilt together (to-do is made from needed and done, rank from to-do).
            rebuild=rebuild_all_assignment_sets,
            check=_set_check(_kind),
            repair=_set_repair(_kind),
            refresh=refresh_assignment_sets,
            order=50 + _order,
            store=Store.REDIS,
        )
    )

_COUNTS_KEPT = (
    "`reviews.actions.submit_review` (completed_count and review_count, in the review's transaction, "
    "through `assignments.actions.assignment_progress_statement`); after commit, "
    "a recount of the affected assignments by `denorm.changed` (imports, page "
    "deletes and cascades, edits of members, parties, documents and threshold)."
)
register(
    Denormalisation(
        name="assignment-page-count",
        description="How many pages each assignment covers: the `max` of its progress bar.",
        derived_from="count of the assignment's pages (`assignments.scope.page_filter`)",
        lives_in="`assignments_assignment.page_count`",
        kept_current_by=_COUNTS_KEPT,
        rebuild=rebuild_assignment_counts,
        check=_count_check("page_count"),
        repair=_count_repair("page_count"),
        refresh=refresh_assignment_counts,
        order=20,
    )
)
register(
    Denormalisation(
        name="assignment-progress",
        description="How many of each assignment's pages reached its threshold: the `value` of its "
        "progress bar.",
        derived_from="count of the assignment's pages with `review_count >= threshold`",
        lives_in="`assignments_assignment.completed_count`",
        kept_current_by=_COUNTS_KEPT,
        rebuild=rebuild_assignment_counts,
        check=_count_check("completed_count"),
        repair=_count_repair("completed_count"),
        refresh=refresh_assignment_counts,
        order=21,
    )
)
register(
    Denormalisation(
        name="assignment-review-count",
        description="How many reviews the pages of each assignment have had (whichever assignment "
        "each was filed under): the “N reviews so far” beside its progress bar.",
        derived_from="sum of `reviews_page.review_count` over the assignment's pages",
        lives_in="`assignments_assignment.review_count`",
        kept_current_by=_COUNTS_KEPT,
        rebuild=rebuild_assignment_counts,
        check=_count_check("review_count"),
        repair=_count_repair("review_count"),
        refresh=refresh_assignment_counts,
        order=22,
    )
)


# --- Receivers ----------------------------------------------------------------------------------


def _active_assignments_of(page_id: int, given) -> list[int]:
    """The active assignments containing the page: as the action found them in its transaction
    (``active_assignment_ids``), else (a sender that did not say) from Postgres."""
    if given is not None:
        return list(given)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id FROM assignments_assignment a JOIN reviews_page p ON p.id = %(page)s "
            f"WHERE a.active AND a.id IN ({scope.assignments_of_document_sql('p.document_id')})",
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


# --- The picker's memcached pools (issue 4) ----------------------------------------------------


def _rebuild_pools() -> None:
    from assignments import picker, pool

    try:
        picker.refill_all_pools()
    except pool.PoolUnavailable as exc:
        # memcached down must not fail a full rebuild: the beat task and the picker's on-demand
        # refills fill the pools again when it is back.
        log.warning("assignment-pool not rebuilt: %s", exc)


# How stale a pool may be by design: refilled every minute by beat (one missed beat and the
# refill's own time allowed for). Stale ids within this are "lagging", older ones drift.
POOL_LAG_SECONDS = 180


def _check_pools() -> Drift:
    from assignments import picker, pool

    try:
        return picker.check_pools(lag_seconds=POOL_LAG_SECONDS)
    except pool.PoolUnavailable as exc:
        drift = Drift(missing=1)  # cannot be checked: reported, like a Redis family with Redis down
        drift.add_example(f"memcached unavailable, pools not checked ({exc})")
        return drift


register(
    Denormalisation(
        name="assignment-pool",
        description="Up to `PICKER_POOL_SIZE` to-do page ids per active assignment: the next-page "
        "picker's fallback when Redis is down. Every id is checked in Postgres before it is served "
        "and dropped from the pool when it is stale, so drift here costs a little speed, never a "
        "bad page.",
        derived_from="the assignment's to-do pages (`reviews_page.review_count < threshold`), sampled "
        "from the Redis to-do set when it is built, else by bounded Postgres probes",
        lives_in="memcached `crowd:v1:pool:a:<id>` (comma-separated ids, one hour expiry)",
        kept_current_by="the `assignments.tasks.refill_pools` beat task every minute; an on-demand "
        "refill by the picker when a pool is missing or low (at most one per assignment per 30 s); "
        "the picker drops stale ids it finds",
        rebuild=_rebuild_pools,
        check=_check_pools,
        order=90,
        kept_current_on_commit=False,
        lag_seconds=POOL_LAG_SECONDS,
        repaired_by="the `picker-refill-pools` beat task (every 60 s) and the picker dropping stale ids",
        store=Store.MEMCACHED,
    )
)


# --- The embargo: Document.public and Page.public (issue 22) -------------------------------------
#
# The rule lives in ``assignments.visibility``; ``assignments.actions.sync_visibility`` writes the
# two booleans in the transaction of each action that changes the truth. This entry re-derives
# them after commit for changes made elsewhere (the admin's form saving an assignment's status or
# scope, a member changing party, a document changing member), and checks and repairs them.

_PAGE_PUBLIC_TRUTH = "({rule} AND p.withdrawn_at IS NULL)"


def _page_public_drift(cursor) -> Drift:
    drift = Drift()
    rule = visibility.document_public_sql("doc")
    cursor.execute(
        f"SELECT doc.id, doc.public FROM reviews_document doc WHERE doc.public IS DISTINCT FROM {rule} "
        "ORDER BY doc.id"
    )
    for doc_id, stored in cursor.fetchall():
        drift.wrong += 1
        drift.add_example(f"document {doc_id}: public={stored}, should be {not stored}")
    truth = _PAGE_PUBLIC_TRUTH.format(rule=rule)
    cursor.execute(
        f"SELECT p.id, p.public FROM reviews_page p JOIN reviews_document doc ON doc.id = p.document_id "
        f"WHERE p.public IS DISTINCT FROM {truth} ORDER BY p.id"
    )
    for page_id, stored in cursor.fetchall():
        drift.wrong += 1
        drift.add_example(f"page {page_id}: public={stored}, should be {not stored}")
    return drift


def check_document_page_public() -> Drift:
    with connection.cursor() as cursor:
        return _page_public_drift(cursor)


def rebuild_document_page_public() -> None:
    """Every document from the rule, then every page from its document (only differing rows are
    written); the flipped pages are relisted as the action does."""
    sync_visibility()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE reviews_page p SET public = (d.public AND p.withdrawn_at IS NULL) "
            "FROM reviews_document d WHERE d.id = p.document_id "
            "AND p.public IS DISTINCT FROM (d.public AND p.withdrawn_at IS NULL) RETURNING p.id, p.document_id"
        )
        flipped = cursor.fetchall()
        if flipped:
            relist_pages(sorted(pid for pid, _ in flipped))
            changed(documents={doc for _, doc in flipped})


def repair_document_page_public() -> Drift:
    drift = check_document_page_public()
    if not drift.ok:
        rebuild_document_page_public()
    return drift


def refresh_document_page_public(changes: Changes) -> None:
    if changes.assignments or changes.members or changes.parties:
        sync_visibility()  # an assignment's status or scope, or an owner moved: any document
        return
    documents = set(changes.documents)
    if changes.pages:
        documents |= set(
            Page.objects.filter(pk__in=list(changes.pages)).values_list("document_id", flat=True).distinct()
        )
    if documents:
        sync_visibility(document_ids=documents)


register(
    Denormalisation(
        name="document-page-public",
        description="Whether the public may see each document and page (the embargo, issue 22; "
        "the rule is `assignments.visibility`): a document is public when it is not withdrawn and "
        "an editor published it on its own or it is in a published assignment (by document, "
        "member or party); a page when its document is public and it is not withdrawn. Stored so "
        "that every public surface (pages, review screen, API, listings, feeds, exports, "
        "profiles, search, image URLs) pays for one column. A fresh upload starts embargoed.",
        derived_from="`reviews_document` (published_at, withdrawn_at, member), `reviews_member.party`, "
        "`assignments_assignment.status` and its documents, members and parties; "
        "`reviews_page.withdrawn_at`",
        lives_in="`reviews_document.public`, `reviews_page.public`",
        kept_current_by="`assignments.actions.sync_visibility` in the transaction of the action "
        "that changes the truth (`moderation.actions.embargo` publish/embargo, "
        "`publish_assignment`, `unpublish_assignment`, `set_assignment_scope`, "
        "`moderation.actions.takedown`, the import's `commit_document_pages`, `update_document`), "
        "which also relists the flipped pages' `listed_at`; after commit, this entry's refresh for "
        "assignments, owners, documents and pages declared changed (the admin's form saves).",
        rebuild=rebuild_document_page_public,
        check=check_document_page_public,
        repair=repair_document_page_public,
        refresh=refresh_document_page_public,
        order=3,
    )
)
