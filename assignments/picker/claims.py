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
import time

import redis
from django.conf import settings

from lib import keys
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
                client = get_redis()
                if getattr(settings, "REDIS_CLUSTER", False):
                    # The keys sit on several nodes: one pipeline per node, replies awaited.
                    pipe = client.pipeline(transaction=False)
                    for command in commands:
                        pipe.execute_command(*command)
                    pipe.execute(raise_on_error=False)
                    return
                pool = client.connection_pool
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


def share_claim(deferred: DeferredWrites, others: list[int], page_id: int) -> None:
    """Copy a reservation into the other active assignments' reservations: a page may be in
    several (a party and one of its members), and a reviewer of either should get another page
    while it is being reviewed. ``GT``: never shortens a longer reservation. An assignment that
    does not hold the page keeps a harmless entry until it expires. Deferred (no reply awaited):
    the pick does not wait for it; this process's next pick does, so its own picks see it."""
    seconds = settings.PICKER_RESERVATION_SECONDS
    if not others or seconds <= 0:
        return
    till = (time.time() + seconds) * 1_000_000  # this host's clock: close enough for a soft hold
    commands: list[tuple] = []
    for other in others:
        key = keys.assignment_reserved(other)
        commands.append(("ZADD", key, "GT", till, page_id))
        commands.append(("PEXPIRE", key, int(seconds * 2000)))
    deferred.send(commands)
