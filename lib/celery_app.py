"""The project's Celery app, for the layers below ``config`` (the composition root).

``config.celery.app`` is built from the settings and imports every app's tasks: a domain module
that imported it would depend on the whole site. Modules that send tasks by name or open a
broker connection ask for it here, by the dotted path in ``settings.CROWD_CELERY_APP`` (a
settings-named hook, docs/architecture.md). Not ``celery.current_app``: that proxy is per
thread, and in a thread that did not load ``config`` it is Celery's anonymous default app.
"""

from __future__ import annotations

from functools import cache

from celery import Celery
from django.conf import settings
from django.utils.module_loading import import_string


@cache
def _app(path: str) -> Celery:
    app: Celery = import_string(path)
    return app


def celery_app() -> Celery:
    return _app(settings.CROWD_CELERY_APP)
