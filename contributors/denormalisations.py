"""Denormalisations of contributors' credit (see the ``denorm`` app): the leaderboards (one
entry per kind of board) and the 48-hour buckets. All Redis sorted sets of user id -> reviews.

Kept current after commit:

- a review (``catalogue.signals.review_recorded``): ``ZINCRBY`` of one on each of its boards and
  on its hour's bucket, in one pipeline (atomic per command: concurrent submits add up exactly);
- anything else (review, page and document deletes and cascades, a reviewer's account deleted,
  documents and members that move) through ``denorm.changed``: :func:`refresh_contributors`
  re-derives from Postgres the counts of exactly the (board, reviewer) pairs involved, whole
  boards of owners named in the changes, and every board of a deleted account.

A refresh that reads Postgres and writes an absolute count can race with a ``ZINCRBY`` of the
same reviewer landing in between (milliseconds); the periodic check-and-repair finds and fixes
that, as it does any drift.
"""

from __future__ import annotations

import logging

from django.db.models.signals import post_delete
from django.dispatch import receiver

from assignments.denormalisations.contexts import page_states
from catalogue import signals
from catalogue.models import Document
from contributors import leaderboards, recent
from contributors.clock import clock
from contributors.zsets import read_zsets, replace_zsets, sync_zset, sync_zset_family
from denorm.changes import Changes, PageContext, changed
from denorm.operations import mark_stale
from denorm.redis_sets import scan_keys
from denorm.registry import Denormalisation, Drift, Store, register
from lib import keys, redis_batch
from lib.log_throttle import warn_throttled
from lib.redis_client import get_redis
from lib.redis_scripts import load_script
from reviews.models import Review

log = logging.getLogger("crowd.denormalisation")

RECENT_ADD_LUA = load_script("contributors", "lua/recent_add.lua")
ALL_NAMES = [*leaderboards.FAMILY_NAMES.values(), recent.FAMILY_NAME]


# --- After a review ----------------------------------------------------------------------------


@receiver(signals.review_recorded, dispatch_uid="contributors-review")
def _on_review(
    sender,
    *,
    reviewer_id,
    assignment_id=None,
    document_id=None,
    created=None,
    owners=None,
    quarantined=False,
    **kwargs,
):
    if quarantined:
        return  # a quarantined reviewer's review is on no board
    member_id = party_id = None
    if owners is not None:  # sent by submit_review: no query
        member_id, party_id = owners
    elif document_id is not None:
        row = Document.objects.filter(pk=document_id).values_list("member_id", "member__party_id").first()
        if row is not None:
            member_id, party_id = row
    # Sent with the other receivers' writes (one round trip, lib/redis_batch.py).
    redis_batch.queue(
        _review_commands(
            reviewer_id=reviewer_id,
            assignment_id=assignment_id,
            member_id=member_id,
            party_id=party_id,
            created=created,
        ),
        _boards_not_updated,
    )


def _boards_not_updated(exc: Exception) -> None:
    # The review is committed; the stale flag makes the beat task rebuild once Redis is back.
    mark_stale(ALL_NAMES, repr(exc))
    warn_throttled(
        log, "contributors", "leaderboards not updated, Redis unavailable (flagged stale): %r", exc
    )


def record_review(
    *, reviewer_id: int, assignment_id: int | None, member_id: int | None, party_id: int | None, created=None
) -> None:
    """One more review on each of its boards and in its hour's bucket: one round trip."""
    pipe = get_redis().pipeline(transaction=False)
    _review_commands(
        reviewer_id=reviewer_id,
        assignment_id=assignment_id,
        member_id=member_id,
        party_id=party_id,
        created=created,
    )(pipe)
    pipe.execute()


def _review_commands(
    *, reviewer_id: int, assignment_id: int | None, member_id: int | None, party_id: int | None, created=None
):
    """The commands of :func:`record_review`, to queue on a pipeline (times taken now)."""
    now = clock.now()
    created = created or now
    review_hour, current = recent.hour_of(created), recent.hour_of(now)
    in_window = current - recent.WINDOW_HOURS < review_hour <= current
    boards = leaderboards.boards_of_review(
        assignment_id=assignment_id, member_id=member_id, party_id=party_id
    )

    def fill(pipe) -> None:
        for board in boards:
            pipe.zincrby(board.key, 1, reviewer_id)
        RECENT_ADD_LUA.queue(
            pipe,
            [keys.recent_reviewers_hour(review_hour), keys.recent_reviewers_window(current)],
            [reviewer_id, recent.bucket_ttl(review_hour, now), "1" if in_window else "0"],
        )

    return fill


@receiver(post_delete, sender=Review, dispatch_uid="contributors-review-delete")
def _on_review_delete(sender, instance, **kwargs):
    # The board of the assignment the review was made in: Postgres forgets it with the row. The
    # page's context carries it to the refresh (for the assignment sets it is a harmless
    # re-derivation of the page's membership).
    if instance.assignment_id:
        changed(pages={instance.page_id: PageContext(assignments={instance.assignment_id})})


# --- Refresh: re-derive what a Changes names ---------------------------------------------------


def refresh_contributors(changes: Changes) -> None:
    users = {u for u, _ in changes.seen}
    owners: dict[str, set[int]] = {
        leaderboards.ASSIGNMENT: set(),
        leaderboards.MEMBER: set(),
        leaderboards.PARTY: set(),
    }
    if changes.pages:
        now = page_states(changes.pages)
        for page_id, before in changes.pages.items():
            context = PageContext().merge(before).merge(now[page_id][0] if page_id in now else None)
            owners[leaderboards.ASSIGNMENT] |= context.assignments
            owners[leaderboards.MEMBER] |= context.members
            owners[leaderboards.PARTY] |= context.parties
        users |= set(
            Review.objects.filter(page_id__in=list(changes.pages))
            .values_list("reviewer_id", flat=True)
            .distinct()
        )
    whole = _whole_boards(changes)
    pipe = get_redis().pipeline(transaction=False)
    if users:
        for kind in leaderboards.KINDS:
            named = None if kind == leaderboards.ALL else owners[kind] - whole[kind]
            if named is not None and not named:
                continue
            for key, counts in leaderboards.truth(kind, owners=named, users=users).items():
                _set_counts(pipe, key, counts, users)
        _refresh_recent(pipe, users)
    pipe.execute()
    for kind, named in whole.items():
        if named:
            replace_zsets(leaderboards.truth(kind, owners=named))
    if changes.users:
        _refresh_accounts(changes.users)


def _whole_boards(changes: Changes) -> dict[str, set[int]]:
    """Owners whose boards are rebuilt whole: those named in the changes (a deleted one's board
    goes), and the current owners of named documents."""
    members, parties = set(changes.members), set(changes.parties)
    for member_id, party_id in Document.objects.filter(pk__in=list(changes.documents)).values_list(
        "member_id", "member__party_id"
    ):
        members |= {member_id} - {None}
        parties |= {party_id} - {None}
    return {
        leaderboards.ASSIGNMENT: set(changes.assignments),
        leaderboards.MEMBER: members,
        leaderboards.PARTY: parties,
    }


def _set_counts(pipe, key: str, counts: dict[int, int], users) -> None:
    present = {u: n for u, n in counts.items() if n > 0}
    if present:
        pipe.zadd(key, {str(u): n for u, n in present.items()})
    gone = [str(u) for u in users if u not in present]
    if gone:
        pipe.zrem(key, *gone)


def _refresh_recent(pipe, users) -> None:
    now = clock.now()
    for key, counts in recent.truth(now, users=users).items():
        _set_counts(pipe, key, counts, users)
    # The window is summed again from the buckets on the next read.
    pipe.delete(keys.recent_reviewers_window(recent.hour_of(now)))


def _refresh_accounts(user_ids) -> None:
    """Reviewers re-derived on every board (a deleted account leaves them all): their counts
    from Postgres, and ZREM from every other board (SCAN; account deletions are rare)."""
    users = set(user_ids)
    pipe = get_redis().pipeline(transaction=False)
    for kind in leaderboards.KINDS:
        found = leaderboards.truth(kind, users=users)
        for key in set(scan_keys(leaderboards.pattern(kind))) | set(found):
            _set_counts(pipe, key, found.get(key, {}), users)
    _refresh_recent(pipe, users)
    pipe.execute()


# --- Rebuild, check, repair --------------------------------------------------------------------


def _board_family(kind: str):
    key_pattern = leaderboards.pattern(kind)

    def rebuild() -> None:
        truth = leaderboards.truth(kind)
        names = sorted(truth)
        for i in range(0, len(names), 200):
            replace_zsets({k: truth[k] for k in names[i : i + 200]})
        stray = [k for k in scan_keys(key_pattern) if k not in truth]
        if stray:
            pipe = get_redis().pipeline(transaction=False)
            for key in stray:  # one DEL per key: different slots
                pipe.delete(key)
            pipe.execute()
        repair()

    def check() -> Drift:
        return sync_zset_family(leaderboards.truth(kind), key_pattern, fix=False)

    def repair() -> Drift:
        actual = read_zsets(scan_keys(key_pattern))  # Redis first, then Postgres
        return sync_zset_family(leaderboards.truth(kind), key_pattern, fix=True, actual=actual)

    return rebuild, check, repair


_BOARD_DESCRIPTIONS = {
    leaderboards.ALL: (
        "every reviewer",
        "count of counted (not quarantined) `reviews_review` rows per reviewer",
    ),
    leaderboards.ASSIGNMENT: (
        "each assignment (reviews made in it)",
        "count of counted (not quarantined) `reviews_review` rows per (assignment, reviewer)",
    ),
    leaderboards.MEMBER: (
        "each member (reviews of their documents' pages)",
        "`reviews_review` joined with `reviews_page` and `reviews_document`: count per (member, reviewer)",
    ),
    leaderboards.PARTY: (
        "each party (reviews of its members' documents' pages)",
        "`reviews_review` joined with pages, documents and `reviews_member`: count per (party, reviewer)",
    ),
}

_KEPT = (
    "after commit: `catalogue.signals.review_recorded` (ZINCRBY on each board of the review); "
    "`post_delete` of reviews (cascades from pages, documents and accounts), `pre_delete` of "
    "accounts, moves of documents and members, through `denorm.changed` "
    "(`contributors.denormalisations.refresh_contributors` re-derives the affected counts)."
)

for _order, _kind in enumerate(leaderboards.KINDS):
    _rebuild, _check, _repair = _board_family(_kind)
    _who, _from = _BOARD_DESCRIPTIONS[_kind]
    register(
        Denormalisation(
            name=leaderboards.FAMILY_NAMES[_kind],
            description=f"Leaderboard of {_who}: reviewer -> number of reviews, read for the "
            "top ten and a reviewer's rank in O(log n). Names come from Postgres at read time.",
            derived_from=_from,
            lives_in=f"Redis sorted set `{leaderboards.pattern(_kind).replace('*', '<id>')}`",
            kept_current_by=_KEPT,
            rebuild=_rebuild,
            check=_check,
            repair=_repair,
            refresh=refresh_contributors,
            order=60 + _order,
            store=Store.REDIS,
        )
    )


def rebuild_recent() -> None:
    now = clock.now()
    truth = recent.truth(now)
    replace_zsets(truth, ttl={k: recent.bucket_ttl(_hour_of_key(k), now) for k in truth})
    pipe = get_redis().pipeline(transaction=False)
    for key in scan_keys(recent.WINDOW_PATTERN):
        pipe.delete(key)
    pipe.execute()
    repair_recent()


def _hour_of_key(key: str) -> int:
    return int(key.rsplit(":", 1)[1])


def _recent_drift(*, fix: bool) -> Drift:
    now = clock.now()
    window_key = keys.recent_reviewers_window(recent.hour_of(now))
    actual = read_zsets([*(keys.recent_reviewers_hour(h) for h in recent.window_hours(now)), window_key])
    truth = recent.truth(now)
    drift = Drift()
    pipe = get_redis().pipeline(transaction=False)
    for key, counts in truth.items():
        drift.merge(sync_zset(key, counts, actual.get(key, {}), fix=fix, pipe=pipe))
    if actual.get(window_key):
        window = sync_zset(window_key, recent.window_sum(truth), actual[window_key], fix=False)
        if not window.ok:
            drift.merge(window)
            if fix:
                pipe.delete(window_key)  # summed again from the repaired buckets on the next read
    if fix:
        pipe.execute()
    return drift


def check_recent() -> Drift:
    return _recent_drift(fix=False)


def repair_recent() -> Drift:
    return _recent_drift(fix=True)


register(
    Denormalisation(
        name=recent.FAMILY_NAME,
        description="The most active reviewers of the past 48 hours (home page): per hour, "
        "reviewer -> reviews made in that hour; the window sums the current hour and the 47 "
        "before it (summed once an hour into a window key kept current by the write script). Old "
        "hours leave the window without a rebuild and expire.",
        derived_from="`reviews_review` of the window (not quarantined): count per (hour of `created`, reviewer)",
        lives_in=f"Redis sorted sets `{recent.BUCKET_PATTERN.replace('*', '<hour>')}` and "
        f"`{recent.WINDOW_PATTERN.replace('*', '<hour>')}`",
        kept_current_by="after commit: `catalogue.signals.review_recorded` (`recent_add.lua`: "
        "ZINCRBY on the review's hour and on the current window); deletes and account deletions "
        "through `denorm.changed` (`refresh_contributors` re-derives the reviewers' buckets).",
        rebuild=rebuild_recent,
        check=check_recent,
        repair=repair_recent,
        refresh=refresh_contributors,
        order=64,
        store=Store.REDIS,
    )
)
