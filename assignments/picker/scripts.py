"""The picker's Lua scripts and the nine keys every one of them takes.

Each script is ``tiers.lua`` (the prelude: the score encoding and the reservation helpers)
followed by its own text, without comment-only lines, called by SHA (``lib.redis_scripts``:
loaded once per server, again after ``NOSCRIPT``). The headers of the ``.lua`` files name
their KEYS and ARGV. In front of a script's own ARGV goes the reservations' clock
(``assignments.picker.clock.script_argument``: ``''`` in production, where the scripts read the
server's ``TIME``), which the prelude takes off before the script reads its ARGV.
"""

from __future__ import annotations

import secrets
from typing import Any

import redis

from assignments.picker.clock import script_argument
from lib import keys
from lib.redis_scripts import LuaScript, script_text

# Priority pages' scores sit below -PRIORITY_OFFSET / 2 in the to-do mirror (see tiers.lua).
PRIORITY_OFFSET = 2**40


class PickerScript(LuaScript):
    """A picker script: called with an assignment id (its nine keys) and the script's ARGV (the
    reservations' clock is put in front of them here)."""

    def run(self, client: redis.Redis, assignment_id: int, *argv: Any) -> Any:
        return self(client, script_keys(assignment_id), (script_argument(), *argv))

    def add(self, pipe: redis.client.Pipeline, assignment_id: int, *argv: Any) -> None:
        """Queue on ``pipe`` (run it with ``lib.redis_scripts.execute``)."""
        self.queue(pipe, script_keys(assignment_id), (script_argument(), *argv))


def _script(name: str) -> PickerScript:
    return PickerScript(script_text(__package__, "tiers.lua") + script_text(__package__, name), name)


DRAW = _script("draw.lua")
RESERVE = _script("reserve.lua")
RELEASE = _script("release.lua")
COPY = _script("copy.lua")
PROMOTE = _script("promote.lua")
PREEMPT = _script("preempt.lua")
CONFIRM = _script("confirm.lua")


def script_keys(assignment_id: int) -> list[str]:
    """The nine keys of every picker script, all on the assignment's hash slot."""
    return [
        keys.assignment_todo(assignment_id),
        keys.assignment_todo_rank(assignment_id),
        keys.assignment_holds(assignment_id),
        keys.assignment_hold_counts(assignment_id),
        keys.assignment_holders(assignment_id),
        keys.assignment_priority(assignment_id),
        keys.assignment_hold_addresses(assignment_id),
        keys.assignment_address_holds(assignment_id),
        keys.assignment_soft_holds(assignment_id),
    ]


def rank_score(*, free: int, priority: bool) -> int:
    """The to-do mirror's score of a page with ``free`` free places (see tiers.lua)."""
    if free > 0 and priority:
        return -PRIORITY_OFFSET - free
    return -free


def free_places(score: float) -> int:
    """The free places a to-do mirror score encodes (see tiers.lua)."""
    score = int(score)
    return -score - PRIORITY_OFFSET if score < -PRIORITY_OFFSET // 2 else -score


def holder_for(uid: int | None, token: str | None = None) -> tuple[str, bool]:
    """(holder, remembered): a browser (``token``: its visitor id, which the web views pass,
    signed in or not: the same from the visitor's first request to their last, so a first
    review, a claim or a login leaves their reservations theirs), else a user (callers without
    a browser), else a random token that nobody can come back with."""
    if token:
        return f"v{token}", True
    if uid is not None:
        return f"u{uid}", True
    return f"t{secrets.token_hex(8)}", False
