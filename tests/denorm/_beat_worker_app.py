"""The Celery app for ``test_check_and_repair``'s real worker: the project's app, with its
database switched to the test database (``BEAT_TEST_DATABASE``) before any connection is made."""

import os

import django

django.setup()

from django.conf import settings  # noqa: E402

settings.DATABASES["default"]["NAME"] = os.environ["BEAT_TEST_DATABASE"]

from config.celery import app  # noqa: E402

__all__ = ["app"]
