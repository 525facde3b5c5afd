#!/usr/bin/env python
import os
import sys
from pathlib import Path

# Commands that describe or stop the embedded servers must not start them.
_NO_SERVERS = {("services", "status"), ("services", "stop")}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if tuple(sys.argv[1:3]) not in _NO_SERVERS:
        # Settings start nothing; the entry point starts the embedded servers the environment
        # does not replace (no DATABASE_URL, REDIS_URL or MEMCACHED_SERVERS).
        from lib.services import data_dir, start_embedded

        start_embedded(data_dir(Path(__file__).resolve().parent))
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
