"""CPU time of the load bench's processes, from ``/proc``: where a review cycle's CPU goes.

On two cores the cycles per second are bounded by the CPU a cycle costs in all processes
together (gunicorn's workers, Postgres' backends, the client, Redis, memcached). The load bench
reads each group's user + system time at the start and the end of a closed loop's measured
window and divides by the cycles done, so each run says which share dominates, beside the
throughput it explains.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

PROC = Path("/proc")
_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:  # gone since it was listed
        return None
    # The command name is in parentheses and may hold spaces: the fields after it are plain.
    return text[text.rindex(")") + 2 :].split()


def cpu_ms(pids: Iterable[int]) -> float:
    """User + system CPU time of these processes (all their threads), in ms; those gone count 0."""
    total = 0.0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            total += (int(fields[11]) + int(fields[12])) * _TICK_MS  # utime, stime (fields 14, 15)
    return total


def _processes() -> Iterable[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process."""
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields is not None:
            yield int(entry.name), int(fields[1]), cmdline


def children_of(pid: int) -> list[int]:
    """The direct children of ``pid`` (gunicorn's workers, for its master)."""
    return [p for p, parent, _ in _processes() if parent == pid]


def matching(text: str) -> list[int]:
    """Processes whose command line contains ``text`` (Postgres titles its backends
    ``postgres: <user> <database> ...``)."""
    return [p for p, _, cmdline in _processes() if text in cmdline and p != os.getpid()]


Groups = Callable[[], dict[str, list[int]]]


def snapshot(groups: Groups) -> dict[str, float]:
    """CPU ms so far of each group of processes, the groups listed afresh (workers and
    backends come and go)."""
    return {name: cpu_ms(pids) for name, pids in groups().items()}


def per_cycle(before: dict[str, float], after: dict[str, float], cycles: int) -> dict[str, float]:
    """CPU ms per cycle of each group between two snapshots."""
    if cycles <= 0:
        return {}
    return {name: max(0.0, after.get(name, 0.0) - before.get(name, 0.0)) / cycles for name in after}
