"""The models' table and column names in SQL written by hand, composed with ``psycopg.sql``.

A statement names its tables by placeholder (``{page}``, ``{review}``) and gets them from the
models (``Model._meta.db_table``): renaming a table, or moving a model to another app that keeps
its table, changes no SQL text, and no name is ever spliced into a string by hand. A module keeps
one mapping of its aliases to models next to its SQL and renders each statement once::

    TABLES = {"page": Page, "review": Review}
    PAGE_REVIEWS_SQL = compose(
        "SELECT p.id, count(r.id) FROM {page} p JOIN {review} r ON r.page_id = p.id GROUP BY p.id",
        **TABLES,
    )

The result is a plain ``str`` (``%s``/``%(name)s`` parameters untouched), so it goes wherever SQL
text went before: ``cursor.execute``, ``lib.sql_batch.Statement``, ``RawSQL``. A literal brace in
the SQL (an array literal ``'{}'``) is written doubled (``'{{}}'``), as in ``str.format``.
``tests/test_architecture.py`` fails on a project table name written into a SQL string.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql


def table(model: Any) -> sql.Identifier:
    """The model's table (a model class, or an auto-created ``ManyToManyField.through``)."""
    return sql.Identifier(model._meta.db_table)


def column(model: Any, field: str) -> sql.Identifier:
    """The column of the model's field ``field`` (e.g. ``"document"`` -> ``document_id``)."""
    return sql.Identifier(model._meta.get_field(field).column)


def compose(template: str, /, **parts: Any) -> str:
    """``template`` with each ``{name}`` replaced by ``parts[name]``: a model by its quoted table
    name, a ``psycopg.sql`` object (``sql.SQL(fragment)`` for a fragment of SQL the code wrote,
    ``sql.Identifier``) as itself. Parts the template does not use are ignored, so one mapping of
    aliases serves a module's statements."""
    return sql.SQL(template).format(**composable(parts)).as_string(None)


def composable(parts: dict[str, Any]) -> dict[str, sql.Composable]:
    """``parts`` for ``sql.SQL(...).format``: each model as its table (``sql.Identifier``)."""
    return {name: part if isinstance(part, sql.Composable) else table(part) for name, part in parts.items()}
