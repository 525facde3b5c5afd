"""The review screen as a test client sees it: its form's hidden fields, the first page of
``/review/next/`` and a submit with or without ``Accept: application/json`` (shared by the fast
path and rotation tests)."""

from __future__ import annotations

import re

JSON = {"HTTP_ACCEPT": "application/json"}
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FIRST_WRITE = re.compile(r'name="first_write" value="([^"]*)"')
TAGSET = re.compile(r'data-tagset="([^"]+)"')


def screen(client, page_id: int) -> dict:
    html = client.get(f"/review/{page_id}/").content.decode()
    found = FIRST_WRITE.search(html)
    return {
        "csrf": CSRF.search(html).group(1),
        "first_write": found.group(1) if found else None,
        "tagset": TAGSET.search(html).group(1),
    }


def first_page(client) -> int:
    response = client.get("/review/next/")
    assert response.status_code == 302
    return int(response.url.strip("/").split("/")[-1])


def post(client, page_id: int, csrf: str, *, json=True, **data):
    data = {
        "csrfmiddlewaretoken": csrf,
        "action": "submit",
        **{k: v for k, v in data.items() if v is not None},
    }
    return client.post(f"/review/{page_id}/", data, **(JSON if json else {}))
