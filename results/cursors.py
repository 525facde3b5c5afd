"""Opaque, signed pagination cursors.

A cursor is ``django.core.signing`` output over ``[listing identity, key]``: the listing it came
from (so a cursor pasted into another listing is refused, not silently misapplied) and the keyset
position, e.g. ``[first_tagged_at in microseconds, page id]``. Signing means a reader cannot
forge a position; anything that does not verify or has the wrong shape is a ``BadRequest``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core import signing

from results.params import BadRequest

MAX_CURSOR_LENGTH = 400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode(*, salt: str, identity: str, key: list[int]) -> str:
    return signing.dumps([identity, key], salt=salt, compress=True)


def decode(token: str, *, salt: str, identity: str, size: int) -> list[int]:
    """The keyset position in ``token``; BadRequest when malformed, forged or from elsewhere."""
    if len(token) > MAX_CURSOR_LENGTH or not token.isascii():
        raise BadRequest("That cursor is malformed. Start again from the first page.")
    try:
        data = signing.loads(token, salt=salt)
    except (signing.BadSignature, ValueError, TypeError, UnicodeDecodeError):
        raise BadRequest(
            "That cursor is malformed or was altered. Start again from the first page."
        ) from None
    if not (isinstance(data, list) and len(data) == 2 and isinstance(data[1], list)):
        raise BadRequest("That cursor is malformed. Start again from the first page.")
    if data[0] != identity:
        raise BadRequest("That cursor belongs to another listing. Start again from the first page.")
    key = data[1]
    if len(key) != size or not all(isinstance(v, int) and not isinstance(v, bool) for v in key):
        raise BadRequest("That cursor is malformed. Start again from the first page.")
    return key


def micros(moment: datetime) -> int:
    """A timestamp as whole microseconds since the epoch: exact, unlike a float."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    try:
        return _EPOCH + timedelta(microseconds=value)
    except OverflowError:
        raise BadRequest("That cursor is malformed. Start again from the first page.") from None
