"""Model instances from hand-written SELECTs, for the few fixed queries every request pays.

Django compiles a queryset afresh each time it runs. For the review cycle's lookups by key (the
signed-in user, the page, the current assignment, the tag set) that compilation cost more than
the round trip itself: 0.25-0.65 ms of CPU each (the user with select_related 0.66 ms, the page
with its document and member 0.65 ms), against some 30-80 µs for the same statement written out
(bench/profile_cycle.py found them). The SQL stays in step with the models: the columns come
from the model's fields, in the order ``Model.from_db`` takes them, so an added field is read too.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


@cache
def _attnames(model: type[Model]) -> tuple[str, ...]:
    fields = model._meta.concrete_fields
    converted = [f.name for f in fields if f.get_db_converters(connection)]
    if converted:
        # The ORM would convert these values (from_db_value); a raw row would hand them over as
        # the driver gives them. Read such a model through the ORM instead.
        raise ValueError(f"{model.__name__} has fields converted on reading: {', '.join(converted)}")
    return tuple(f.attname for f in fields)


@cache
def columns(model: type[Model], alias: str) -> str:
    """The model's columns for a SELECT list, qualified by the table's ``alias``."""
    _attnames(model)
    return ", ".join(f'{alias}."{f.column}"' for f in model._meta.concrete_fields)


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def width(model: type[Model]) -> int:
    """How many values :func:`columns` selects."""
    return len(_attnames(model))


def instance(model: type[M], row: Sequence[Any], start: int = 0) -> M:
    """The instance whose :func:`columns` begin at ``row[start]``, as the ORM would load it."""
    names = _attnames(model)
    return model.from_db(connection.alias, names, row[start : start + len(names)])


def fetch_one(sql: str, params: Any) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


def fetch_all(sql: str, params: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows
