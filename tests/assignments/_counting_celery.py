"""A Celery app for ``test_counts_at_exit``: the project's app (``config.celery``, which
autodiscovers ``assignments.tasks`` and so connects its ``worker_process_shutdown`` receiver),
plus one task that counts a pick as the picker does. Run it with
``celery -A tests.assignments._counting_celery worker``, its database named by the environment."""

import os
from pathlib import Path

from assignments import picker_stats
from config.celery import app


@app.task(name="tests.assignments.count_a_pick", ignore_result=True)
def count_a_pick(marker: str) -> None:
    """Count one Redis pick, then write what this process holds pending (and its pid) to ``marker``."""
    # The count must wait for the pool child's exit: with the usual flush_seconds a worker slow
    # to start could flush it at count(), and the test would not tell whether the exit flush works.
    picker_stats.COUNTER.flush_seconds = 10**9
    picker_stats.count(picker_stats.REDIS)
    Path(marker).write_text(f"{os.getpid()} {sorted(picker_stats.pending().items())}")


__all__ = ["app", "count_a_pick"]
