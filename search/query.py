"""A search box's text to a query: words for ``websearch_to_tsquery`` plus filters.

Syntax: the web-search syntax people know (words, ``"exact phrase"``, ``or``, ``-excluded``),
handed to Postgres's ``websearch_to_tsquery('english', …)``, which never raises on user input;
and filters anywhere in the box, outside quotes: ``tag:<slug>``, ``member:<slug>``,
``party:<slug>``, ``document:<id>``, ``assignment:<slug>``, ``reviewed:yes|no``. A filter given
twice keeps the last. Caps: ``MAX_QUERY_CHARS`` characters and ``MAX_TERMS`` terms; beyond them
the query is refused with a clear message (a ``BadRequest``, shown as a 400), never cut short
silently. Messages never echo the input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lib.ids import parse_id
from results.params import BadRequest

MAX_QUERY_CHARS = 300
MAX_TERMS = 24
FILTERS = ("tag", "member", "party", "document", "assignment", "reviewed")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,100}$")
_TOKEN = re.compile(r'"[^"]*"?|\S+')
# Characters Postgres or the page cannot take: NUL, other control characters, lone surrogates.
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True)
class ParsedQuery:
    text: str = ""  # for websearch_to_tsquery; "" when the query is only filters
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.text and not self.filters

    def as_text(self) -> str:
        """The query back as one would type it (filters after the words)."""
        parts = [self.text] if self.text else []
        parts += [f"{name}:{value}" for name, value in self.filters.items()]
        return " ".join(parts)


def parse(raw: str | None) -> ParsedQuery:
    if raw is None:
        return ParsedQuery()
    if len(raw) > MAX_QUERY_CHARS:
        raise BadRequest(f"The search is too long: at most {MAX_QUERY_CHARS} characters.")
    raw = _BAD_CHARS.sub(" ", raw)
    tokens = _TOKEN.findall(raw)
    if len(tokens) > MAX_TERMS:
        raise BadRequest(f"The search has too many terms: at most {MAX_TERMS}.")
    words: list[str] = []
    filters: dict[str, str] = {}
    for token in tokens:
        name, colon, value = token.partition(":")
        if colon and name.lower() in FILTERS and not token.startswith('"'):
            name = name.lower()
            filters[name] = _filter_value(name, value)
        else:
            words.append(token)
    return ParsedQuery(text=" ".join(words).strip(), filters=filters)


def _filter_value(name: str, value: str) -> str:
    if name == "reviewed":
        value = value.lower()
        if value not in ("yes", "no"):
            raise BadRequest("reviewed: takes yes or no.")
        return value
    if name == "document":
        document_id = parse_id(value)
        if document_id is None:
            raise BadRequest("document: takes a document number, such as document:12.")
        return str(document_id)
    if not _SLUG.match(value):
        raise BadRequest(f"{name}: takes a name from the site's addresses, such as {name}:{_EXAMPLES[name]}.")
    return value


_EXAMPLES = {"tag": "receipt", "member": "jane-smith", "party": "labour", "assignment": "second-homes"}
