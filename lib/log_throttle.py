"""One warning line per outage instead of one per request.

When Redis is down every review, skip and anonymous write hits the same error; logging each one
buried the logs (1,400 tracebacks in 30 seconds). Callers that degrade gracefully log through
:func:`warn_throttled`: the first failure is logged at once, the following ones under the same
key are counted, and the next line (at most one per ``INTERVAL_SECONDS``) says how many were left
out. Per process: each web or worker process logs its own line.
"""

from __future__ import annotations

import logging
import threading
import time

INTERVAL_SECONDS = 30.0

_lock = threading.Lock()
# key -> (monotonic time of the last line logged, failures left out since then)
_state: dict[str, tuple[float, int]] = {}


def warn_throttled(logger: logging.Logger, key: str, message: str, *args: object) -> bool:
    """Log ``message % args`` as a warning unless a line with this ``key`` was logged less than
    ``INTERVAL_SECONDS`` ago (then only count it). True when a line was logged."""
    now = time.monotonic()
    with _lock:
        last, left_out = _state.get(key, (None, 0))
        if last is not None and now - last < INTERVAL_SECONDS:
            _state[key] = (last, left_out + 1)
            return False
        _state[key] = (now, 0)
    if left_out and last is not None:
        message += " (%d more not logged in the last %d s)"
        args = (*args, left_out, round(now - last))
    logger.warning(message, *args)
    return True


def reset() -> None:
    """Forget every key (tests)."""
    with _lock:
        _state.clear()
