"""Redis: the pages each reviewer has seen (reviewed or skipped): the picker leaves them out."""

from __future__ import annotations

from collections import defaultdict

from catalogue.denormalisations._common import _rows, _where, log
from denorm.changes import Changes
from denorm.operations import mark_stale
from denorm.redis_sets import hash_tag_id, rebuild_family, repair_family, replace_sets, sync_family
from denorm.registry import Denormalisation, Drift, Store, register
from lib import keys, redis_batch
from lib.log_throttle import warn_throttled
from lib.redis_client import get_redis
from reviews.models import Review, Skip

_SEEN_PATTERN = f"{keys.NAMESPACE}:{keys.VERSION}:{{u:*}}:seen"


def _seen_sql(*conditions: str) -> str:
    """(reviewer, page) of every review and skip matching ``conditions`` (on reviewer_id and page_id)."""
    return " UNION ".join(
        f"SELECT reviewer_id, page_id FROM {table}{_where(*conditions)}"
        for table in (Review._meta.db_table, Skip._meta.db_table)
    )


def seen_truth(users=None) -> dict[int, set[int]]:
    truth: dict[int, set[int]] = defaultdict(set)
    if users is None:
        rows = _rows(_seen_sql())
    else:
        rows = _rows(_seen_sql("reviewer_id = ANY(%(u)s)"), {"u": list(users)})
        for user in users:
            truth[user]  # noqa: B018
    for user, page in rows:
        truth[user].add(page)
    return dict(truth)


def rebuild_reviewer_seen() -> None:
    rebuild_family(seen_truth, keys.reviewer_seen, _SEEN_PATTERN, hash_tag_id)


def check_reviewer_seen() -> Drift:
    return sync_family(seen_truth(), keys.reviewer_seen, _SEEN_PATTERN, hash_tag_id, fix=False)


def repair_reviewer_seen() -> Drift:
    return repair_family(seen_truth, keys.reviewer_seen, _SEEN_PATTERN, hash_tag_id)


def refresh_reviewer_seen(changes: Changes) -> None:
    if changes.seen:
        users = {u for u, _ in changes.seen}
        pages = {p for _, p in changes.seen}
        present = set(
            _rows(
                _seen_sql("reviewer_id = ANY(%(u)s)", "page_id = ANY(%(p)s)"),
                {"u": list(users), "p": list(pages)},
            )
        )
        pipe = get_redis().pipeline(transaction=False)
        for user, page in changes.seen:
            if (user, page) in present:
                pipe.sadd(keys.reviewer_seen(user), page)
            else:
                pipe.srem(keys.reviewer_seen(user), page)
        pipe.execute()
    if changes.users:
        truth = seen_truth(changes.users)
        replace_sets({keys.reviewer_seen(u): truth.get(u, ()) for u in changes.users})


register(
    Denormalisation(
        name="reviewer-seen",
        description="The ids of the pages each reviewer reviewed or skipped: the picker never offers "
        "a reviewer the same page twice.",
        derived_from="`reviews_review` and `reviews_skip` (reviewer, page)",
        lives_in=f"Redis set `{_SEEN_PATTERN.replace('*', '<user id>')}`",
        kept_current_by="after commit: `catalogue.signals.review_recorded` and `page_skipped` (SADD); "
        "`post_delete` of reviews and skips (cascades from pages and users), `pre_delete` of users; "
        "anything else through `denorm.changed`.",
        rebuild=rebuild_reviewer_seen,
        check=check_reviewer_seen,
        repair=repair_reviewer_seen,
        refresh=refresh_reviewer_seen,
        order=40,
        store=Store.REDIS,
    )
)


def _add_seen(reviewer_id: int, page_id: int) -> None:
    # The hot path: one SADD, no Postgres query, sent with the other receivers' writes (one
    # round trip, lib/redis_batch.py).
    redis_batch.queue(lambda pipe: pipe.sadd(keys.reviewer_seen(reviewer_id), page_id), _seen_not_updated)


def _seen_not_updated(exc: Exception) -> None:
    # The review is committed; the stale flag makes the beat task rebuild the sets once Redis
    # is back. Not re-raised: send_robust would log a full traceback for every review of the
    # outage. One line per outage (throttled) says it instead.
    mark_stale(["reviewer-seen"], repr(exc))
    warn_throttled(
        log, "reviewer-seen", "reviewer-seen not updated, Redis unavailable (flagged stale): %r", exc
    )
