"""Database ids: the one place that knows their bound (PostgreSQL's bigint).

Every table's id is a ``bigint``: an id from a visitor beyond 2**63 - 1 would make Postgres raise
(a 500) rather than find nothing, and so would a negative one in some queries. Paths take ids
through the ``id`` converter (``<id:page_id>``), which matches digits and refuses out-of-range
values (the address then matches no pattern: 404); forms and query strings ask
:func:`parse_id`; code that holds an int asks :func:`is_id`.
"""

from __future__ import annotations

from django.urls import register_converter

BIGINT_MAX = 2**63 - 1


def is_id(value: int) -> bool:
    """``value`` can be a row's id: positive and within a bigint."""
    return 0 < value <= BIGINT_MAX


def parse_id(text: str) -> int | None:
    """The id ``text`` spells (ASCII digits, in range), else None."""
    text = text.strip()
    if not text or len(text) > 19 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if is_id(value) else None


class IdConverter:
    """``<id:name>`` in a path: a positive bigint, given to the view as an int."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        parsed = parse_id(value)
        if parsed is None:
            raise ValueError(f"not an id: {value[:30]}")
        return parsed

    def to_url(self, value: int) -> str:
        return str(int(value))


def register() -> None:
    """Called when the URLconfs are first imported (lib.apps.LibConfig.ready runs before)."""
    register_converter(IdConverter, "id")
