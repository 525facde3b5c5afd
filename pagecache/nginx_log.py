"""nginx's page log turned into hourly counts for ``/staff/cache/``.

nginx serves its page hits from memcached without Python, so nothing can count them in memory as
Django counts its own. Instead nginx appends one short line per page request it looked up
(deploy/nginx.conf.template: ``<msec> hit`` or ``<msec> miss``) to ``NGINX_PAGE_LOG_DIR/pages.log``,
buffered (one write per 32 KB or 5 s, never a write per request). Every minute the Celery beat task
``pagecache.tasks.collect_nginx_page_log`` (and ``/staff/cache/`` when viewed) reads the complete
lines appended since the position stored in Postgres; ``pagecache.actions.collect_nginx_page_log``
adds their counts and stores the new position in one transaction under an advisory lock, so each
line is counted once whichever process collects it. Lines that do not parse are skipped (logged).

Rotation: a log renamed to ``pages.log.1`` (then ``nginx -s reopen``: logrotate, or the nginx
service in docker-compose.yml every hour) is finished from the stored position before the new log
is read from its start. A log truncated in place (``copytruncate``) is read again from its start.
Counts can be lost, never doubled: lines nginx flushes into a renamed log after it was finished,
or a truncated log that grew past the old position before it was read.
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from pagecache import stats

LOG_NAME = "pages.log"
ROTATED_NAME = LOG_NAME + ".1"
KINDS = {b"hit": stats.NGINX_HIT, b"miss": stats.NGINX_MISS}
CHUNK = 1 << 20  # bytes read at a time: a long-unread log never sits in memory whole

log = logging.getLogger("crowd.pagecache")


@dataclass(frozen=True)
class Position:
    """How far the log was read: the file (by inode, which a rename keeps) and the byte offset."""

    inode: int
    offset: int


@dataclass
class Collected:
    counts: Counter  # (hour, name) -> n
    position: Position | None  # None: no log yet
    bad_lines: int = 0


def read_new(directory: Path, position: Position | None) -> Collected:
    """The counts of the complete lines appended since ``position``, and the position after them."""
    collected = Collected(counts=Counter(), position=None)
    try:
        current = open(directory / LOG_NAME, "rb")  # noqa: SIM115 (closed below, on every path)
    except FileNotFoundError:
        current = None
    try:
        inode = os.fstat(current.fileno()).st_ino if current else None
        start = 0
        if position is not None and position.inode == inode:
            # Same file: go on from the stored offset, or from the start if it was truncated.
            start = position.offset if os.fstat(current.fileno()).st_size >= position.offset else 0
        elif position is not None:
            _finish_rotated(directory / ROTATED_NAME, position, collected)
        if current is not None:
            collected.position = Position(inode=inode, offset=_consume(current, start, collected))
    finally:
        if current is not None:
            current.close()
    if collected.bad_lines:
        log.warning("nginx page log: skipped %d lines that do not parse", collected.bad_lines)
    return collected


def _finish_rotated(path: Path, position: Position, collected: Collected) -> None:
    try:
        with open(path, "rb") as rotated:
            if os.fstat(rotated.fileno()).st_ino == position.inode:
                _consume(rotated, position.offset, collected)
    except FileNotFoundError:
        pass  # rotated twice since the last collection, or deleted: its tail is lost


def _consume(file: BinaryIO, offset: int, collected: Collected) -> int:
    """Count the complete lines from ``offset``; returns the offset after the last one (a line
    nginx is still writing waits for the next collection)."""
    file.seek(offset)
    rest = b""
    while chunk := file.read(CHUNK):
        offset += len(chunk)
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            if not _count_line(line, collected.counts):
                collected.bad_lines += 1
    return offset - len(rest)


def _count_line(line: bytes, counts: Counter) -> bool:
    parts = line.split()
    if len(parts) != 2 or parts[1] not in KINDS:
        return False
    try:
        seconds = float(parts[0])
        if not math.isfinite(seconds) or seconds < 0:
            return False
        hour = datetime.fromtimestamp(seconds - seconds % 3600, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return False
    counts[(hour, KINDS[parts[1]])] += 1
    return True
