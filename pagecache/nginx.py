"""deploy/nginx.conf.template with its ${NGINX_*} placeholders filled in (the nginx image does the
same with envsubst in docker-compose.yml; tests/pagecache/test_nginx_front.py runs the result)."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

TEMPLATE = Path(settings.BASE_DIR) / "deploy" / "nginx.conf.template"


def render(values: dict[str, str]) -> str:
    """The template's server block, with every ``${NGINX_*}`` replaced (all must be given)."""
    text = TEMPLATE.read_text()
    missing = set(re.findall(r"\$\{(NGINX_[A-Z_]+)\}", text)) - set(values)
    if missing:
        raise KeyError(f"nginx template needs {', '.join(sorted(missing))}")
    return re.sub(r"\$\{(NGINX_[A-Z_]+)\}", lambda m: values[m.group(1)], text)


def key_prefix() -> str:
    """What nginx puts before ``:1:crowd:v1:nginx:<uri>``: the default cache's KEY_PREFIX."""
    return settings.CACHES["default"].get("KEY_PREFIX", "")
