"""One Redis round trip for the after-commit writes of one event, however many receivers queue.

A submitted review fans out to several ``review_recorded`` receivers, each with a Redis write
of its own (the reviewer's seen set, the leaderboards ...). Sent one by one that is a round trip
each, on the hot path of every review. Inside :func:`batch` (``reviews.actions.reviews._send``
opens one around the signal), :func:`queue` only collects the commands; they leave together
in one non-transactional pipeline when the batch closes, before the view goes on (so the
picker choosing the next page sees the seen set updated, as before).

Each queued write brings its own ``on_error``: a failure (Redis down, or an error reply to one
of its commands) is reported to the receiver that queued it, which flags its copy stale as it
did when it sent the write itself. Outside a batch, :func:`queue` sends at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis

from lib.redis_client import get_redis
from lib.redis_scripts import execute

Fill = Callable[[redis.client.Pipeline], object]  # queues commands on the pipeline it is given
OnError = Callable[[Exception], None]

_state = threading.local()


@contextmanager
def batch() -> Iterator[None]:
    """Collect :func:`queue`'d writes and send them in one round trip on leaving. Nested
    batches join the outermost one."""
    if getattr(_state, "pending", None) is not None:
        yield
        return
    _state.pending = []
    try:
        yield
    finally:
        pending, _state.pending = _state.pending, None
        if pending:
            _send(pending)


def queue(fill: Fill, on_error: OnError) -> None:
    """Send ``fill``'s commands with the current batch, or now when there is none."""
    pending = getattr(_state, "pending", None)
    if pending is None:
        _send([(fill, on_error)])
    else:
        pending.append((fill, on_error))


def _send(pending: list[tuple[Fill, OnError]]) -> None:
    spans: list[tuple[int, int, OnError]] = []
    try:
        client = get_redis()
        pipe = client.pipeline(transaction=False)
        for fill, on_error in pending:
            start = len(pipe)
            fill(pipe)
            spans.append((start, len(pipe), on_error))
        # Scripts queued by SHA are loaded on NOSCRIPT (lib.redis_scripts).
        replies = execute(pipe, client, raise_on_error=False)
    except redis.RedisError as exc:
        for _, on_error in pending:
            on_error(exc)
        return
    for start, end, on_error in spans:
        failed = next((r for r in replies[start:end] if isinstance(r, Exception)), None)
        if failed is not None:
            on_error(failed)
