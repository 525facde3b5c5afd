"""Celery tasks of the page cache."""

from __future__ import annotations

from pathlib import Path

from celery import shared_task
from django.conf import settings

from pagecache.actions import collect_nginx_page_log as collect


@shared_task(ignore_result=True)
def collect_nginx_page_log() -> None:
    """Beat, every minute: add nginx's page hits and misses to /staff/cache/ (pagecache.nginx_log)."""
    if settings.NGINX_PAGE_LOG_DIR:
        collect(directory=Path(settings.NGINX_PAGE_LOG_DIR))
