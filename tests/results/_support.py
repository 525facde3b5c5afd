"""Helpers shared by the results tests."""

from __future__ import annotations

import itertools
import re

from catalogue.models import Page
from consensus.actions import refresh_confidence, sync_public_rows
from reviews.actions import submit_review
from tests import factories

_users = itertools.count(1)


def new_reviewer():
    return factories.make_user(f"rv-{next(_users)}")


def review(page: Page, *tag_slugs: str, user=None):
    """One new reviewer's review of ``page`` with these tags (through the real action)."""
    user = user or new_reviewer()
    submit_review(only_open_pages=False, reviewer=user, page_id=page.pk, tag_slugs=tag_slugs)
    # What the beat task does for a reviewed page once the review commits (these tests never
    # commit): its confidence, and its rows' places in the change sequence (?since=).
    refresh_confidence([page.pk])
    sync_public_rows([page.pk])
    return user


def pages_of(document) -> list[Page]:
    return list(document.pages.order_by("number"))


_PAGE_LINK = re.compile(r'href="/pages/(\d+)/"')
_NEXT_LINK = re.compile(r'<a href="([^"]+)" rel="next"')


def listed_page_ids(html: str) -> list[int]:
    """Page ids in a listing's HTML, in order, each once (a row links its page twice)."""
    seen: list[int] = []
    for m in _PAGE_LINK.finditer(html):
        pid = int(m.group(1))
        if not seen or seen[-1] != pid:
            seen.append(pid)
    return seen


def next_link(html: str) -> str | None:
    m = _NEXT_LINK.search(html)
    return m.group(1).replace("&amp;", "&") if m else None


_RESUME_LINK = re.compile(r'<a href="([^"]+)" class="resume"')


def resume_link(html: str) -> str | None:
    m = _RESUME_LINK.search(html)
    return m.group(1).replace("&amp;", "&") if m else None


def read_to_end(client, url: str) -> tuple[list[int], str | None]:
    """Follow rel="next" from ``url`` to the end: (page ids read, the link to resume from)."""
    ids: list[int] = []
    while True:
        r = client.get(url)
        assert r.status_code == 200, r.content[:500]
        html = r.content.decode()
        ids += listed_page_ids(html)
        nxt = next_link(html)
        if nxt is None:
            return ids, resume_link(html)
        url = nxt
