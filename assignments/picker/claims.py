"""Claims shared across overlapping assignments.

A page may be in several active assignments (a party and one of its members). A reviewer of
either should get another page while it is being reviewed, so each claim the Redis source makes
is copied into the other active assignments' reservations, with writes whose replies the pick
does not wait for (:class:`DeferredWrites`): this process's next pick reads them first, so its
own picks see them.
"""

from __future__ import annotations

import logging
import os
import threading

import redis
from django.conf import settings

from lib.redis_client import get_redis

log = logging.getLogger("crowd.picker")


class DeferredWrites:
    """Redis writes whose replies nobody waits for, on a connection of their own: sent at once,
    their replies read before the next send or the next pick of this process (by then they have
    arrived, so reading them costs no wait). One per process (a fork starts afresh); the
    instance lives in the picker's state (``state.STATE.deferred``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn = None
        self._pool = None  # the shared client's pool it was made from (a new client: a new server)
        self._pid: int | None = None
        self._unread = 0

    def send(self, commands: list[tuple]) -> None:
        with self._lock:
            try:
                pool = get_redis().connection_pool
                if self._conn is not None and (self._pid != os.getpid() or self._pool is not pool):
                    self._reset()
                if self._conn is None:
                    self._conn, self._pool = pool.make_connection(), pool
                    self._pid, self._unread = os.getpid(), 0
                self._drain()
                self._conn.send_packed_command(self._conn.pack_commands(commands))
                self._unread += len(commands)
            except redis.RedisError as exc:
                self._reset()
                log.info("picker: deferred Redis writes dropped: %r", exc)

    def drain(self) -> None:
        """Wait for the replies of what was sent (so later commands see its effect)."""
        if not self._unread:
            return
        with self._lock:
            try:
                self._drain()
            except redis.RedisError as exc:
                self._reset()
                log.info("picker: deferred Redis writes lost: %r", exc)

    def reset(self) -> None:
        """Drop the connection and anything unread (the state is being reset)."""
        with self._lock:
            self._reset()

    def _drain(self) -> None:
        while self._unread and self._pid == os.getpid():
            self._unread -= 1
            try:
                self._conn.read_response()
            except redis.ResponseError as exc:  # one command refused (a wrong type): the rest stand
                log.warning("picker: deferred Redis write refused: %r", exc)

    def _reset(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.disconnect()
        self._conn, self._unread = None, 0


def copy_claim(r: redis.Redis, others: list[int], page_id: int, holder: str) -> list[int] | None:
    """Take one of ``page_id``'s places in the other active assignments too (``copy.lua``): a
    page may be in several (a party and one of its members), its reviews count in all of them,
    and so must its reservations. One round trip. Returns the assignments where a place was
    taken (or the page is not to do), or None when one of them has no free place for it: then
    the places taken are given back and the caller gives the page up."""
    from assignments.picker.scripts import COPY_LUA, RELEASE_LUA, eval_args

    seconds = settings.PICKER_RESERVATION_SECONDS
    if not others or seconds <= 0:
        return []
    pipe = r.pipeline(transaction=False)
    for other in others:
        pipe.eval(*eval_args(COPY_LUA, other, page_id, holder, seconds))
    replies = pipe.execute()
    if all(int(x) for x in replies):
        return others
    undo = r.pipeline(transaction=False)
    for other, ok in zip(others, replies, strict=True):
        if int(ok):
            undo.eval(*eval_args(RELEASE_LUA, other, page_id, holder, "release"))
    undo.execute()
    return None
