"""Query-string parsing shared by listings, feeds, exports and the API.

Every parser refuses nonsense with ``BadRequest`` (a clear 400), never a 500: values are bounded
in length and range before they reach a query, and messages never echo the raw input.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from django.http import QueryDict

from lib.ids import is_id

MAX_PARAM_LENGTH = 32
MAX_MIN_REVIEWS = 1_000_000


class BadRequest(ValueError):
    """Bad input from the query string: the message is safe to show (it never echoes input)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Filters:
    """``?min_agreement=`` (share of a page's reviewers who applied the tag) and ``?min_reviews=``."""

    min_agreement: Fraction | None = None
    min_reviews: int | None = None
    # ``?min_confidence=`` (consensus): the posterior that the tag applies, 0-1, in millionths
    # (what ``PageTag.confidence`` is rounded to), so the boundary compares exactly.
    min_confidence: int | None = None

    def as_query(self) -> dict[str, str]:
        out = {}
        if self.min_agreement is not None:
            out["min_agreement"] = _fraction_text(self.min_agreement)
        if self.min_reviews is not None:
            out["min_reviews"] = str(self.min_reviews)
        if self.min_confidence is not None:
            out["min_confidence"] = format(self.min_confidence / 1_000_000, "g")
        return out


def _fraction_text(value: Fraction) -> str:
    if value.denominator in (1, 2, 4, 5, 8, 10, 20, 25, 50, 100, 1000):
        return format(float(value), "g")
    return f"{value.numerator}/{value.denominator}"


def _clean(query: QueryDict, name: str) -> str | None:
    raw = query.get(name)
    if raw is None or raw.strip() == "":
        return None
    if len(raw) > MAX_PARAM_LENGTH or "\x00" in raw:
        raise BadRequest(f"{name} is too long or contains invalid characters.")
    return raw.strip()


def parse_min_agreement(query: QueryDict) -> Fraction | None:
    """A share between 0 and 1: a decimal ("0.66") or a fraction ("2/3"). Kept exact (Fraction)
    so that the boundary ("at least two thirds") is compared in integers, not floats."""
    raw = _clean(query, "min_agreement")
    if raw is None:
        return None
    try:
        value = Fraction(raw)
    except (ValueError, ZeroDivisionError):
        raise BadRequest("min_agreement must be a number between 0 and 1, such as 0.5 or 2/3.") from None
    if not 0 <= value <= 1:
        raise BadRequest("min_agreement must be between 0 and 1.")
    if value.denominator > 10**6:
        value = value.limit_denominator(10**6)
    return value


def parse_min_reviews(query: QueryDict) -> int | None:
    raw = _clean(query, "min_reviews")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise BadRequest("min_reviews must be a whole number of reviews, such as 3.")
    value = int(raw)
    if value > MAX_MIN_REVIEWS:
        raise BadRequest(f"min_reviews must be at most {MAX_MIN_REVIEWS}.")
    return value


def parse_min_confidence(query: QueryDict) -> int | None:
    """A probability between 0 and 1 as a decimal ("0.95"), kept in millionths (rounded down:
    at most six places are meaningful). Refuses fractions, NaN, infinities and exponents."""
    raw = _clean(query, "min_confidence")
    if raw is None:
        return None
    head, dot, tail = raw.partition(".")
    if not (head or tail) or not all(
        part == "" or (part.isascii() and part.isdigit()) for part in (head, tail)
    ):
        raise BadRequest("min_confidence must be a number between 0 and 1, such as 0.95.")
    value = Fraction(f"{head or '0'}{dot}{tail}" if dot else head)
    if not 0 <= value <= 1:
        raise BadRequest("min_confidence must be between 0 and 1.")
    return int(value * 1_000_000)


def parse_filters(query: QueryDict) -> Filters:
    return Filters(
        min_agreement=parse_min_agreement(query),
        min_reviews=parse_min_reviews(query),
        min_confidence=parse_min_confidence(query),
    )


def parse_order_confidence(query: QueryDict) -> bool:
    """``?order=confidence`` on an HTML listing (the path already says most-tagged or in order):
    True for it, False when absent, 400 for anything else."""
    raw = _clean(query, "order")
    if raw is None:
        return False
    if raw != "confidence":
        raise BadRequest("order must be confidence (or left out).")
    return True


def parse_id(raw: str | None, *, name: str) -> int | None:
    """A positive database id, or None when absent; 400 for anything else (huge ints included)."""
    if raw is None or raw == "":
        return None
    if len(raw) > 20 or not raw.isascii() or not raw.isdigit():
        raise BadRequest(f"{name} must be a positive whole number.")
    value = int(raw)
    if not is_id(value):
        raise BadRequest(f"{name} is out of range.")
    return value
