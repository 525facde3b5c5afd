"""What a pick returns (its own module so that every source can build one without importing the
package's ``__init__``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PickResult:
    """The page to serve (None: nothing left for this reviewer here) and where it came from."""

    page_id: int | None
    source: str
