"""Reading nginx's page log (pagecache.nginx_log) into /staff/cache/ counts: each complete line
is counted once, across truncation and rotation; lines that do not parse are skipped. The log is
written here as nginx writes it (tests/pagecache/test_nginx_front.py runs nginx itself)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connections

from pagecache import stats
from pagecache.actions import NGINX_LOG_LOCK, collect_nginx_page_log
from pagecache.models import NginxLogPosition, PageCacheStat

pytestmark = pytest.mark.django_db(transaction=True)

T = 1_764_662_400.0  # 2025-12-02 08:00:00 UTC


def _lines(*kinds: str, at: float = T) -> bytes:
    return b"".join(f"{at + i:.3f} {kind}\n".encode() for i, kind in enumerate(kinds))


def _stored() -> dict[tuple[datetime, str], int]:
    return {(row.hour, row.name): row.count for row in PageCacheStat.objects.all()}


def test_it_counts_each_line_once_per_hour(tmp_path):
    log = tmp_path / "pages.log"
    log.write_bytes(_lines("hit", "hit", "miss") + _lines("hit", at=T + 3600))
    assert collect_nginx_page_log(directory=tmp_path) == 4
    assert collect_nginx_page_log(directory=tmp_path) == 0
    with log.open("ab") as f:
        f.write(_lines("hit") + b"1764662401.5 mi")  # nginx mid-write: the partial line waits
    assert collect_nginx_page_log(directory=tmp_path) == 1
    with log.open("ab") as f:
        f.write(b"ss\n")
    assert collect_nginx_page_log(directory=tmp_path) == 1
    hour = datetime.fromtimestamp(T, tz=UTC)
    later = datetime.fromtimestamp(T + 3600, tz=UTC)
    assert _stored() == {
        (hour, stats.NGINX_HIT): 3,
        (hour, stats.NGINX_MISS): 2,
        (later, stats.NGINX_HIT): 1,
    }


def test_bad_lines_are_skipped(tmp_path):
    (tmp_path / "pages.log").write_bytes(
        _lines("hit")
        + b"\n"
        + b"garbage\n"
        + b"1764662400.1 hit extra\n"
        + b"1764662400.1 bump\n"
        + b"nan hit\n"
        + b"-5 hit\n"
        + b"1e300 hit\n"
        + b"\x00\xff miss\n"
        + b"<script> miss\n"
        + _lines("miss")
    )
    assert collect_nginx_page_log(directory=tmp_path) == 2
    assert sorted(name for _, name in _stored()) == [stats.NGINX_HIT, stats.NGINX_MISS]


def test_a_truncated_log_is_read_again_from_its_start(tmp_path):
    log = tmp_path / "pages.log"
    log.write_bytes(_lines("hit", "hit", "hit", "hit"))
    assert collect_nginx_page_log(directory=tmp_path) == 4
    log.write_bytes(_lines("miss"))  # copytruncate: same file, shorter than the stored offset
    assert collect_nginx_page_log(directory=tmp_path) == 1
    assert sum(_stored().values()) == 5


def test_a_renamed_log_is_finished_then_the_new_one_read_from_its_start(tmp_path):
    log = tmp_path / "pages.log"
    log.write_bytes(_lines("hit", "hit"))
    assert collect_nginx_page_log(directory=tmp_path) == 2
    with log.open("ab") as f:
        f.write(_lines("miss"))
    log.rename(tmp_path / "pages.log.1")
    log.write_bytes(_lines("hit", "hit", "hit"))
    assert collect_nginx_page_log(directory=tmp_path) == 4
    assert collect_nginx_page_log(directory=tmp_path) == 0
    # Rotated again: the old .1 is replaced; the tail of the log read last is in the new .1.
    with log.open("ab") as f:
        f.write(_lines("hit"))
    log.rename(tmp_path / "pages.log.1")
    assert collect_nginx_page_log(directory=tmp_path) == 1  # no current log yet
    log.write_bytes(_lines("miss"))
    assert collect_nginx_page_log(directory=tmp_path) == 1
    assert sum(_stored().values()) == 8


def test_a_second_collector_waits_for_none_and_counts_nothing(tmp_path):
    """Two workers at once: the one that finds the lock taken leaves the lines to the other."""
    (tmp_path / "pages.log").write_bytes(_lines("hit", "hit"))
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [NGINX_LOG_LOCK])
        assert collect_nginx_page_log(directory=tmp_path) is None
        assert _stored() == {}
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [NGINX_LOG_LOCK])
    finally:
        other.close()
    assert collect_nginx_page_log(directory=tmp_path) == 2


def test_no_log_yet_counts_nothing(tmp_path):
    assert collect_nginx_page_log(directory=tmp_path) == 0
    assert _stored() == {}


def test_an_unreadable_log_changes_nothing_and_the_staff_page_still_answers(
    tmp_path, settings, client, editor
):
    log = tmp_path / "pages.log"
    log.write_bytes(_lines("hit"))
    assert collect_nginx_page_log(directory=tmp_path) == 1
    position = NginxLogPosition.objects.get()
    log.unlink()
    log.mkdir()  # open() fails as it would on a volume mounted wrongly
    with pytest.raises(OSError):
        collect_nginx_page_log(directory=tmp_path)
    settings.NGINX_PAGE_LOG_DIR = str(tmp_path)
    client.force_login(editor)
    response = client.get("/staff/cache/")
    assert response.status_code == 200 and b'data-name="nginx-hit"' in response.content
    stored = NginxLogPosition.objects.get()
    assert (stored.inode, stored.offset) == (position.inode, position.offset)
    assert sum(_stored().values()) == 1


def test_beat_collects_every_minute_where_nginx_writes(tmp_path, settings):
    from config.celery import app
    from pagecache import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["pagecache-collect-nginx-page-log"]
    assert entry["schedule"] == 60.0 and entry["task"] == tasks.collect_nginx_page_log.name in app.tasks
    (tmp_path / "pages.log").write_bytes(_lines("hit", "miss"))
    settings.NGINX_PAGE_LOG_DIR = ""
    tasks.collect_nginx_page_log()  # no nginx in front: nothing read
    assert _stored() == {}
    settings.NGINX_PAGE_LOG_DIR = str(tmp_path)
    tasks.collect_nginx_page_log()
    assert sum(_stored().values()) == 2


def test_nginx_hits_and_misses_reach_prometheus_once(tmp_path):
    """crowd_page_cache_events_total{event="nginx-hit"|"nginx-miss"} counts what the collector
    read from nginx's log, each line once (the second collection finds nothing new)."""
    from lib.metrics import PAGE_CACHE

    def value(event: str) -> float:
        return PAGE_CACHE.labels(event=event)._value.get()

    hits, misses = value(stats.NGINX_HIT), value(stats.NGINX_MISS)
    (tmp_path / "pages.log").write_bytes(_lines("hit", "hit", "miss", "hit"))
    assert collect_nginx_page_log(directory=tmp_path) == 4
    assert collect_nginx_page_log(directory=tmp_path) == 0
    assert (value(stats.NGINX_HIT) - hits, value(stats.NGINX_MISS) - misses) == (3, 1)
