"""Leaderboards: top reviewers overall and per assignment, member and party.

Each board is a Redis sorted set, user id -> number of reviews (``lib.keys.leaderboard``), so
reading the top ten is ``ZREVRANGE`` and a reviewer's place ``ZCOUNT`` of the higher scores,
both O(log n); names come from Postgres, one query per table, so a claimed ``anon-<n>``
account shows its new name at once.

What counts on which board:

Reviews of quarantined reviewers (``Review.quarantined``) count on no board.

- ``all``: every review;
- ``a:<id>``: reviews made in that assignment (``Review.assignment``);
- ``m:<id>`` / ``p:<id>``: reviews of the pages of that member's documents, of that party's
  members' documents (where the pages live now: a moved document moves its counts).

Kept current after commit (see ``contributors/denormalisations.py``): a review adds one on each
of its boards (``ZINCRBY``, atomic: concurrent submits add up exactly); deletes, moves and
account deletions re-derive the affected (board, reviewer) counts from Postgres. The registry
rebuilds and checks them like every other copy.

Ties: reviewers with the same count share a rank ("=3"); the table lists them by name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from psycopg import sql

from catalogue.models import Document, Member, Page
from lib import keys
from lib.sql_names import compose
from reviews.models import Review

TABLES = {
    "review": Review,
    "page": Page,
    "document": Document,
    "member": Member,
}

ALL = "all"
ASSIGNMENT = "a"
MEMBER = "m"
PARTY = "p"
KINDS = (ALL, ASSIGNMENT, MEMBER, PARTY)

FAMILY_NAMES = {
    ALL: "leaderboard-all",
    ASSIGNMENT: "leaderboard-assignments",
    MEMBER: "leaderboard-members",
    PARTY: "leaderboard-parties",
}


@dataclass(frozen=True)
class Board:
    kind: str
    owner_id: int | None = None

    @property
    def key(self) -> str:
        return keys.leaderboard(self.kind, self.owner_id)

    @property
    def family(self) -> str:
        return FAMILY_NAMES[self.kind]


OVERALL = Board(ALL)


def pattern(kind: str) -> str:
    return keys.leaderboard(kind, None) if kind == ALL else keys.leaderboard(kind, 0).replace(":0}", ":*}")


def owner_of_key(key: str) -> int | None:
    inner = key[key.index("{") + 1 : key.index("}")]
    last = inner.rsplit(":", 1)[1]
    return None if last == "all" else int(last)


# --- The truth, from Postgres -----------------------------------------------------------------

# (owner, reviewer, count) per board of a kind. {where} narrows by owners and/or reviewers.
_TRUTH_SQL = {
    ALL: "SELECT 0, r.reviewer_id, count(*) FROM {review} r WHERE NOT r.quarantined{where} GROUP BY 2",
    ASSIGNMENT: "SELECT r.assignment_id, r.reviewer_id, count(*) FROM {review} r"
    " WHERE r.assignment_id IS NOT NULL AND NOT r.quarantined{where} GROUP BY 1, 2",
    MEMBER: "SELECT d.member_id, r.reviewer_id, count(*) FROM {review} r"
    " JOIN {page} pg ON pg.id = r.page_id JOIN {document} d ON d.id = pg.document_id"
    " WHERE d.member_id IS NOT NULL AND NOT r.quarantined{where} GROUP BY 1, 2",
    PARTY: "SELECT m.party_id, r.reviewer_id, count(*) FROM {review} r"
    " JOIN {page} pg ON pg.id = r.page_id JOIN {document} d ON d.id = pg.document_id"
    " JOIN {member} m ON m.id = d.member_id WHERE m.party_id IS NOT NULL AND NOT r.quarantined{where}"
    " GROUP BY 1, 2",
}
_OWNER_COLUMN = {ALL: None, ASSIGNMENT: "r.assignment_id", MEMBER: "d.member_id", PARTY: "m.party_id"}


def _narrowed(kind: str, *, owners=None, users=None) -> tuple[str, dict]:
    where, params = "", {}
    if owners is not None and kind != ALL:
        where += f" AND {_OWNER_COLUMN[kind]} = ANY(%(owners)s)"
        params["owners"] = sorted(owners)
    if users is not None:
        where += " AND r.reviewer_id = ANY(%(users)s)"
        params["users"] = sorted(users)
    return compose(_TRUTH_SQL[kind], where=sql.SQL(where), **TABLES), params


def truth(kind: str, *, owners=None, users=None) -> dict[str, dict[int, int]]:
    """Board key -> {user id: reviews} from Postgres, for every board of ``kind`` (or the named
    owners'), counting every reviewer (or only ``users``). Boards of named owners without
    reviews are present and empty (their keys must go)."""
    query, params = _narrowed(kind, owners=owners, users=users)
    out: dict[str, dict[int, int]] = defaultdict(dict)
    if kind == ALL:
        out[OVERALL.key]  # noqa: B018 (present even when empty)
    for owner in owners or ():
        if kind != ALL:
            out[Board(kind, owner).key]  # noqa: B018
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for owner, user, count in cursor.fetchall():
            out[Board(kind, None if kind == ALL else owner).key][user] = count
    return dict(out)


def top_sql(board: Board, limit: int) -> tuple[str, dict]:
    """The Postgres fallback of one board's top: the truth query narrowed to the board,
    biggest first (bounded by a statement timeout, see ``contributors.selectors``)."""
    owners = None if board.kind == ALL else [board.owner_id]
    sql, params = _narrowed(board.kind, owners=owners)
    return f"{sql} ORDER BY 3 DESC, 2 LIMIT %(limit)s", {**params, "limit": limit}


def boards_of_review(
    *, assignment_id: int | None, member_id: int | None, party_id: int | None
) -> list[Board]:
    boards = [OVERALL]
    if assignment_id:
        boards.append(Board(ASSIGNMENT, assignment_id))
    if member_id:
        boards.append(Board(MEMBER, member_id))
    if party_id:
        boards.append(Board(PARTY, party_id))
    return boards
