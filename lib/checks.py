"""System checks that validate configuration at start-up."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register()
def check_services(app_configs: object, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if not settings.REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        problems.append(Error("REDIS_URL must start with redis://, rediss:// or unix://", id="crowd.E001"))
    if not settings.MEMCACHED_SERVERS:
        problems.append(
            Warning("MEMCACHED_SERVERS is empty: the picker's pool fallback is off", id="crowd.W001")
        )
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        problems.append(Error("Crowd review needs PostgreSQL (DATABASE_URL=postgres://...)", id="crowd.E002"))
    if settings.DATABASES["default"].get("OPTIONS", {}).get("server_side_binding"):
        problems.append(
            Error(
                "server_side_binding must stay off: a review's writes go out as several statements "
                "in one execute (lib.sql_batch), which only client-side binding allows",
                id="crowd.E003",
            )
        )
    return problems
