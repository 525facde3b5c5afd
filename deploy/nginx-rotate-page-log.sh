#!/bin/sh
# Run by the nginx image's entrypoint (docker-compose.yml mounts it in /docker-entrypoint.d/):
# every hour, rename nginx's page log to pages.log.1 and have nginx reopen its logs. The
# collector (pagecache.nginx_log) reads the rest of pages.log.1 before the new log, so the shared
# volume holds about two hours of lines (about 20 bytes a page).
set -eu
dir="${NGINX_PAGE_LOG_DIR:?NGINX_PAGE_LOG_DIR must name the page log directory}"
(
    while sleep 3600; do
        if [ -s "$dir/pages.log" ]; then
            mv -f "$dir/pages.log" "$dir/pages.log.1" && nginx -s reopen
        fi
    done
) >/dev/null 2>&1 &
