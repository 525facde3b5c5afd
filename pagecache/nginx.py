"""deploy/nginx.conf.template with its ${NGINX_*} placeholders filled in (the nginx image does the
same with envsubst in docker-compose.yml; tests/pagecache/test_nginx_front.py runs the result)."""

from __future__ import annotations

import os
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
    """What nginx puts before ``:1:crowd:v1:nginx:<scheme>://<host><uri>``: the default cache's KEY_PREFIX."""
    return settings.CACHES["default"].get("KEY_PREFIX", "")


def standalone_config(server_block: str, *, workdir: Path, worker_processes: str = "1") -> str:
    """A whole nginx.conf around ``server_block`` for an nginx run by an unprivileged test or the
    benchmark: its pid, logs and temporary files under ``workdir``, in the foreground."""
    temp_paths = "\n".join(
        f"    {kind}_temp_path {workdir / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\nworker_processes {worker_processes};\npid {workdir / 'nginx.pid'};\n"
        + f"error_log {workdir / 'error.log'} warn;\n"
        + "events { worker_connections 1024; }\n"
        + "http {\n    include /etc/nginx/mime.types;\n    access_log off;\n"
        + temp_paths
        + "\n"
        + server_block
        + "\n}\n"
    )
