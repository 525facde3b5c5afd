"""`manage.py restore_check [--dump PATH] [--keep]`: prove a backup restores.

A backup nobody restored is a hope. This restores a ``pg_dump`` (the one given, else a fresh dump
of the live database, made now) into a new database beside the live one on the same server,
then runs the operators' own ``check_denormalisations`` against the restored copy for every entry
the registry keeps in Postgres (counter columns and aggregate tables: each compared with a
recount of the restored rows), and drops the copy. Redis and memcached entries are not checked:
they are never backed up, and are rebuilt from Postgres after a restore (docs/operations.md,
Backup and restore). Exits non-zero when the restore fails or any copy drifted.

The live database is only read (``pg_dump`` takes a consistent snapshot without blocking writes).
``pg_dump``/``pg_restore`` are the ones shipped inside the ``pgserver`` package (the embedded
server's version, 16), else the first on PATH; ``PG_BIN_DIR`` names another directory.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from psycopg import sql

from denorm import registry
from denorm.registry import Store


def pg_binary(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: PG_BIN_DIR, then pgserver's own, then PATH."""
    candidates = []
    if os.environ.get("PG_BIN_DIR"):
        candidates.append(Path(os.environ["PG_BIN_DIR"]) / name)
    try:
        import pgserver

        candidates.append(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)
    except ImportError:
        pass
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise CommandError(f"{name} not found: install the PostgreSQL client or set PG_BIN_DIR")
    return found


def _connection_args(db: dict[str, Any], name: str) -> list[str]:
    args = ["--dbname", name]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    return args + ["--no-password"]


def _database_url(db: dict[str, Any], name: str) -> str:
    user = quote(db.get("USER") or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = quote(str(db.get("HOST") or ""), safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{name}"


def postgres_entries() -> list[str]:
    return [entry.name for entry in registry.all_entries() if entry.store == Store.POSTGRES]


class Command(BaseCommand):
    help = (
        "Restore a pg_dump (the one given, else a dump of the live database made now) into a new "
        "database beside the live one, check every Postgres-kept denormalisation there against "
        "recounts, report, and drop the copy. Exits non-zero on a failed restore or any drift."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dump", type=Path, help="a pg_dump archive (custom format, -Fc) to restore")
        parser.add_argument("--keep", action="store_true", help="keep the restored database afterwards")

    def handle(self, *args: Any, dump: Path | None, keep: bool, **options: Any) -> None:
        db = connection.settings_dict
        if dump is not None and not dump.is_file():
            raise CommandError(f"no dump at {dump}: nothing was restored")
        env = {**os.environ}
        if db.get("PASSWORD"):
            env["PGPASSWORD"] = db["PASSWORD"]
        restored = f"{db['NAME']}_restore_check_{secrets.token_hex(4)}"
        with tempfile.TemporaryDirectory(prefix="crowd-restore-") as workdir:
            if dump is None:
                dump = Path(workdir) / "live.dump"
                self._run([pg_binary("pg_dump"), "--format=custom", "--file", str(dump),
                           *_connection_args(db, db["NAME"])], env, "pg_dump of the live database")  # fmt: skip
                self.stdout.write(f"dumped {db['NAME']} ({dump.stat().st_size:,} bytes)")
            self._create(db, restored)
            try:
                self._run([pg_binary("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                           *_connection_args(db, restored), str(dump)], env, "pg_restore")  # fmt: skip
                self.stdout.write(f"restored into {restored}: {self._summary(db, restored)}")
                drifted = self._check(db, restored)
            finally:
                if keep:
                    self.stdout.write(f'kept {restored} (drop it with: DROP DATABASE "{restored}")')
                else:
                    self._drop(db, restored)
        if drifted:
            raise CommandError(f"the restored copy drifted: {drifted}")
        self.stdout.write(self.style.SUCCESS("restore check ok: zero drift in the restored copy"))

    def _run(self, command: list[str], env: dict[str, str], what: str) -> None:
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise CommandError(f"{what} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")

    def _admin(self, db: dict[str, Any]) -> psycopg.Connection[Any]:
        """An autocommit connection to the live server (CREATE/DROP DATABASE refuse transactions)."""
        params = connection.get_connection_params()
        for key in ("cursor_factory", "context", "prepare_threshold"):
            params.pop(key, None)
        return psycopg.connect(**params, autocommit=True)

    def _create(self, db: dict[str, Any], name: str) -> None:
        with self._admin(db) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def _drop(self, db: dict[str, Any], name: str) -> None:
        with self._admin(db) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _summary(self, db: dict[str, Any], name: str) -> str:
        params = connection.get_connection_params()
        for key in ("cursor_factory", "context", "prepare_threshold"):
            params.pop(key, None)
        params["dbname"] = name
        with psycopg.connect(**params) as conn:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM reviews_document), (SELECT count(*) FROM reviews_page),"
                " (SELECT count(*) FROM reviews_review)"
            ).fetchone()
        assert counts is not None  # three counts: one row always
        return f"{counts[0]:,} documents, {counts[1]:,} pages, {counts[2]:,} reviews"

    def _check(self, db: dict[str, Any], name: str) -> str:
        """``check_denormalisations`` (the operators' command, the registry's own checks) in a
        process whose DATABASE_URL names the restored copy. Returns its complaint, "" when clean."""
        entries = postgres_entries()
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(db, name),
            "DB_POOL": "0",
            "REDIS_URL": settings.REDIS_URL,
            "MEMCACHED_SERVERS": ",".join(settings.MEMCACHED_SERVERS),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        }
        env.pop("DATABASE_URL_FILE", None)
        done = subprocess.run(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "check_denormalisations", *entries],
            env=env, capture_output=True, text=True, cwd=settings.BASE_DIR,
        )  # fmt: skip
        for line in done.stdout.splitlines():
            self.stdout.write(f"  {line}")
        if done.returncode != 0:
            return (done.stderr.strip().splitlines() or ["check failed"])[-1].removeprefix("CommandError: ")
        return ""
