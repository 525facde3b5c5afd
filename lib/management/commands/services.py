"""Start, stop or describe the embedded development servers of this checkout."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from lib import services


class Command(BaseCommand):
    help = "Start, stop or show the embedded PostgreSQL, Redis and memcached under .data/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["start", "stop", "status"])

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "stop":
            services.stop_all(settings.DATA_DIR)
            self.stdout.write("embedded services stopped")
            return
        if action == "start":
            services.start_embedded(settings.DATA_DIR)
        db = settings.DATABASES["default"]
        self.stdout.write(f"DATABASE   {db.get('HOST')} / {db.get('NAME')}")
        self.stdout.write(f"REDIS_URL  {settings.REDIS_URL}")
        self.stdout.write(f"MEMCACHED  {','.join(settings.MEMCACHED_SERVERS)}")
        self.stdout.write(f"\nEmbedded servers under {settings.DATA_DIR}:")
        for server in services.status(settings.DATA_DIR):
            if server.pid is None:
                pid = "no pidfile"
            else:
                pid = f"pid {server.pid}" + ("" if server.running else " (no such process)")
            answers = "answers" if server.answers else "does not answer"
            self.stdout.write(f"  {server.name:<10} {pid:<28} {answers:<16} {server.socket or '-'}")
