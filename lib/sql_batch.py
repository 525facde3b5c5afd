"""Several SQL statements in one Postgres round trip.

A review's transaction writes a handful of rows whose statements each live in the module that
owns their rule (the listing stamp in ``reviews.denormalisations``, the assignments' progress in
``assignments.actions``). Sent one by one, each is a round trip and a pass through Django's
cursor; those modules hand out a :class:`Statement` instead, and the caller sends them together
with :func:`run`.

It relies on Django's psycopg 3 backend binding parameters on the client (its default, unless
``OPTIONS["server_side_binding"]`` is set): the text goes out as one simple query, which may
hold several ``;``-separated statements, run in order, each seeing the previous ones' writes.
Each statement names its own parameters (``%(name)s``); :func:`run` keeps them apart.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_NAMED = re.compile(r"(?<!%)%\((\w+)\)s")


@dataclass(frozen=True)
class Statement:
    sql: str
    params: dict[str, object] = field(default_factory=dict)


def run(cursor: Any, statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
    """Send ``statements`` in one round trip, in order; each one's rows (empty for one that
    returns none). Nothing is sent for no statement. An error in one stops those after it and
    raises, as usual: the caller's transaction decides what to undo."""
    if not statements:
        return []
    texts, params = [], {}
    for i, statement in enumerate(statements):
        texts.append(_renamed(statement.sql, i))
        params.update({f"s{i}_{name}": value for name, value in statement.params.items()})
    cursor.execute(";\n".join(texts), params)
    results = []
    while True:
        results.append(cursor.fetchall() if cursor.description is not None else [])
        if not cursor.nextset():
            return results


def run_named(cursor: Any, statements: Mapping[str, Statement]) -> dict[str, list[tuple[Any, ...]]]:
    """:func:`run`, each statement's rows under the name it was given: callers read what they
    asked for by name, not by a position that shifts when a statement is added or left out."""
    return dict(zip(statements, run(cursor, list(statements.values())), strict=True))


@functools.lru_cache(maxsize=256)  # a few fixed texts, on every review
def _renamed(sql: str, i: int) -> str:
    """``sql`` with each parameter ``%(name)s`` renamed ``%(s<i>_name)s``."""
    return _NAMED.sub(lambda m: f"%(s{i}_{m[1]})s", sql)
