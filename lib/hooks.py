"""Hooks named in settings: how a lower layer's view takes context from a higher layer's app
without importing it (docs/architecture.md). Each hook is a dotted path to a function
``(request, obj, context) -> dict`` whose result is merged into the context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from django.http import HttpRequest


def extra_context(setting: str, request: HttpRequest, obj: object, context: dict[str, Any]) -> dict[str, Any]:
    for path in getattr(settings, setting, ()):
        context.update(import_string(path)(request, obj, context))
    return context
