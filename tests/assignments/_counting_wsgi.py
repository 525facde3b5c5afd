"""A WSGI app for ``test_counts_at_exit``: each request counts one pick, as the picker does, in
a gunicorn worker whose database is the test database (``COUNTS_TEST_DATABASE``)."""

import os

import django

django.setup()

from django.conf import settings  # noqa: E402

# Before any connection is made: the settings dict is the one the connection will use.
settings.DATABASES["default"]["NAME"] = os.environ["COUNTS_TEST_DATABASE"]

from assignments import picker_stats  # noqa: E402


def application(environ, start_response):
    picker_stats.count(picker_stats.REDIS)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"counted"]
