"""The picker's Lua scripts and the six keys every one of them takes.

Each script is sent as ``tiers.lua`` (the prelude: the score encoding and the reservation
helpers) followed by its own text, without comment-only lines (EVAL sends the text with every
call). The headers of the ``.lua`` files name their KEYS and ARGV.
"""

from __future__ import annotations

import secrets
from importlib import resources

from lib import keys

# Priority pages' scores sit below -PRIORITY_OFFSET / 2 in the to-do mirror (see tiers.lua).
PRIORITY_OFFSET = 2**40


def _text(name: str) -> str:
    text = resources.files(__package__).joinpath(name).read_text()
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def _script(name: str) -> str:
    return _text("tiers.lua") + "\n" + _text(name) + "\n"


# EVAL, not EVALSHA through redis-py's Script: in a pipeline that costs a SCRIPT EXISTS round trip.
DRAW_LUA = _script("draw.lua")
RESERVE_LUA = _script("reserve.lua")
RELEASE_LUA = _script("release.lua")
COPY_LUA = _script("copy.lua")
PROMOTE_LUA = _script("promote.lua")


def script_keys(assignment_id: int) -> list[str]:
    """The six keys of every picker script, all on the assignment's hash slot."""
    return [
        keys.assignment_todo(assignment_id),
        keys.assignment_todo_rank(assignment_id),
        keys.assignment_holds(assignment_id),
        keys.assignment_hold_counts(assignment_id),
        keys.assignment_holders(assignment_id),
        keys.assignment_priority(assignment_id),
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
    """(holder, remembered): a user, a browser (by a digest of its CSRF cookie, which the view
    passes as ``token``) or, for neither, a random token that nobody can come back with."""
    if uid is not None:
        return f"u{uid}", True
    if token:
        return f"c{token}", True
    return f"t{secrets.token_hex(8)}", False


def eval_args(script: str, assignment_id: int, *argv) -> tuple:
    """The arguments of ``Redis.eval`` (or a pipeline's) for one of the scripts."""
    script_keys_ = script_keys(assignment_id)
    return (script, len(script_keys_), *script_keys_, *argv)
