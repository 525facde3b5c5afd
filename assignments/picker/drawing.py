"""The draw of the Redis path: ``draw.lua``'s arguments and reply by name, and the pick's first
round trip (the built markers, the first draw with its claim, the size of the reviewer's seen
set, in one pipeline). ``redis_source`` decides what to do with what it drew.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import redis
from django.conf import settings

from assignments.models import Assignment
from assignments.picker.scripts import DRAW
from lib import keys
from lib.redis_scripts import execute

# The registry's families the Redis path reads (their built markers say they are complete).
TODO_FAMILY = "assignment-todo"
RANK_FAMILY = "assignment-todo-rank"
SEEN_FAMILY = "reviewer-seen"

FIRST_DRAW = 8  # ids drawn by rank in the first draw (each an O(log n) walk of the sorted set)
MORE_DRAWS = (64, 256)
ENUMERATE_LIMIT = 1000
SMALL_SET = 48  # sets up to this size are drawn from whole (one SMEMBERS)


def soft_grace(soft: bool) -> float:
    """The ``soft`` argument of the scripts: the seconds a soft reservation's holder has to load
    the review screen before a reviewer with nothing on screen may take its place over (a
    browser takes well under a second; long enough that visitors do not take each other's
    pages in turn between /review/next/ and the screen), or 0 for a firm one."""
    return settings.PICKER_SOFT_GRACE_SECONDS if soft else 0


# --- the Lua script's arguments and reply (scripts.py loads it; its header names KEYS and ARGV)


@dataclass(frozen=True)
class DrawArgs:
    """The arguments of ``draw.lua`` (see its header), by name."""

    assignment_id: int
    count: int
    claim: bool
    seconds: float
    seed: int  # the script's math.random seed: random.getrandbits(31)
    order: str = "random"
    holder: str = ""
    remember: bool = False
    exclude: tuple[int, ...] = ()
    small: int = SMALL_SET
    whole_max: int = ENUMERATE_LIMIT
    address: str = ""  # the client address a claim counts against ("" for none)
    address_limit: int = 0
    soft: bool = False  # a claim is a soft reservation (see tiers.lua): /review/next/'s picks

    @classmethod
    def for_draw(
        cls,
        assignment_id: int,
        count: int,
        *,
        claim: bool,
        order: str = "random",
        holder: str = "",
        remember: bool = False,
        exclude: Iterable[int] = (),
        address: str = "",
        soft: bool = False,
    ) -> DrawArgs:
        """``count`` ids of the assignment's best band drawn, and with ``claim`` the first one
        claimed for ``holder``. The randomness comes from Python's ``random`` (seeding it makes
        a draw reproducible)."""
        return cls(
            assignment_id=assignment_id,
            count=count,
            claim=claim,
            seconds=settings.PICKER_RESERVATION_SECONDS,
            seed=random.getrandbits(31),
            order=order,
            holder=holder,
            remember=remember,
            exclude=tuple(exclude),
            address=address,
            address_limit=settings.PICKER_MAX_HOLDS_PER_ADDRESS,
            soft=soft,
        )

    def argv(self) -> tuple[Any, ...]:
        """``draw.lua``'s ARGV."""
        return (
            self.count,
            self.small,
            self.seconds,
            self.seed,
            "1" if self.claim else "0",
            self.whole_max,
            self.order,
            self.holder,
            "1" if self.remember else "0",
            self.address,
            self.address_limit,
            soft_grace(self.soft),
            *self.exclude,
        )

    def run(self, r: redis.Redis) -> DrawReply:
        return DrawReply.parse(DRAW.run(r, self.assignment_id, *self.argv()))

    def add(self, pipe: redis.client.Pipeline) -> None:
        """Queue on ``pipe`` (run it with ``lib.redis_scripts.execute``)."""
        DRAW.add(pipe, self.assignment_id, *self.argv())


class DrawReply(NamedTuple):
    """The reply of ``draw.lua`` (see its header)."""

    card: int  # size of the to-do set
    ids: list[int]  # ids with a free place, best band first
    claimed: int | None  # the id claimed, if any
    kept: bool  # the claimed id is the holder's page, returned again
    drawable: int  # pages with a free place
    exhausted: bool  # every page with a free place is in ids
    full: list[int]  # a sample of the pages with no free place (when none has one)
    claimed_holds: int  # live reservations of the claimed page
    mirror_missing: bool  # the to-do set has ids and its mirror none: nothing drawn
    reserved: bool = True  # False: the address holds its limit; the claimed page is not held
    preemptible: tuple[str, ...] = ()  # following-page holds that may be taken over (none free)

    @classmethod
    def parse(cls, raw: list[Any]) -> DrawReply:
        card, ids, claimed, kept, drawable, exhausted, full, holds, missing, reserved, preemptible = raw
        return cls(
            card=int(card),
            ids=[int(x) for x in ids],
            claimed=None if not claimed else int(claimed),
            kept=bool(kept),
            drawable=int(drawable),
            exhausted=bool(exhausted),
            full=[int(x) for x in full],
            claimed_holds=int(holds),
            mirror_missing=bool(missing),
            reserved=bool(reserved),
            preemptible=tuple(str(m) for m in preemptible),
        )


class FirstRoundTrip(NamedTuple):
    """The replies of the pick's first pipeline, by name."""

    todo_built: bool  # the to-do family's built marker
    draw: DrawReply
    seen_built: bool  # the seen family's built marker (False without a reviewer)
    seen_card: int  # size of the reviewer's seen set (0 without a reviewer)


def draw(
    r: redis.Redis, assignment_id: int, count: int, *, order: str = "random", exclude: Iterable[int] = ()
) -> DrawReply:
    """A listing (no claim): up to ``count`` ids with a free place, best band first."""
    return DrawArgs.for_draw(assignment_id, count, claim=False, order=order, exclude=exclude).run(r)


def first_round_trip(
    r: redis.Redis,
    assignment: Assignment,
    seen_key: str | None,
    holder: str,
    remember: bool,
    address: str,
    soft: bool,
) -> FirstRoundTrip:
    """One pipeline: the built markers, the first draw with its claim (one command on the
    assignment's slot) and the size of the reviewer's seen set (other slots: separate commands,
    never inside the script)."""
    pipe = r.pipeline(transaction=False)
    pipe.exists(keys.built_marker(TODO_FAMILY))
    DrawArgs.for_draw(
        assignment.pk,
        FIRST_DRAW,
        claim=True,
        order=assignment.order,
        holder=holder,
        remember=remember,
        address=address,
        soft=soft,
    ).add(pipe)
    if seen_key:
        pipe.exists(keys.built_marker(SEEN_FAMILY))
        pipe.scard(seen_key)
    if seen_key:
        todo_built, raw_draw, seen_built, seen_card = execute(pipe, r)
    else:
        todo_built, raw_draw = execute(pipe, r)
        seen_built, seen_card = False, 0
    return FirstRoundTrip(
        todo_built=bool(todo_built),
        draw=DrawReply.parse(raw_draw),
        seen_built=bool(seen_built),
        seen_card=int(seen_card),
    )
