"""Zero-downtime deploys: a migration runs while the previous release still serves, so no
migration may drop or rename a column or table that release reads (docs/operations.md,
Zero-downtime deploys). This lists every operation that would: RemoveField, RenameField,
DeleteModel, RenameModel, and RunSQL that drops or renames, unless it is on ALLOWED with the
reason it is safe (the second step of the two-step pattern, a table no released code ever read).
Removing a field from the model only (``SeparateDatabaseAndState`` with the removal in
``state_operations``) is the first step of that pattern and is never flagged."""

from __future__ import annotations

import re

from django.apps import apps
from django.conf import settings
from django.db import migrations
from django.db.migrations.loader import MigrationLoader

DESTRUCTIVE = (migrations.RemoveField, migrations.RenameField, migrations.DeleteModel, migrations.RenameModel)
DESTRUCTIVE_SQL = re.compile(r"\b(DROP\s+(COLUMN|TABLE)|RENAME\s+(COLUMN|TO))\b", re.IGNORECASE)

# (app label, migration name, operation as describe() says it) -> why it cannot break the
# release that is still serving. Every entry needs its reason.
ALLOWED: dict[tuple[str, str, str], str] = {}


def project_apps() -> set[str]:
    base = str(settings.BASE_DIR)
    return {
        config.label
        for config in apps.get_app_configs()
        if config.path.startswith(base) and "site-packages" not in config.path
    }


def destructive_operations(operations) -> list[str]:
    """The operations that drop or rename something in the database (not only in the state)."""
    found = []
    for operation in operations:
        if isinstance(operation, migrations.SeparateDatabaseAndState):
            found += destructive_operations(operation.database_operations)
        elif isinstance(operation, DESTRUCTIVE):
            found.append(operation.describe())
        elif isinstance(operation, migrations.RunSQL):
            statements = operation.sql if isinstance(operation.sql, (list, tuple)) else [operation.sql]
            if any(DESTRUCTIVE_SQL.search(str(s)) for s in statements):
                found.append(operation.describe())
    return found


def test_no_migration_drops_or_renames_what_the_serving_release_reads():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    ours = project_apps()
    flagged = []
    for (app_label, name), migration in sorted(loader.disk_migrations.items()):
        if app_label not in ours:
            continue
        for description in destructive_operations(migration.operations):
            if (app_label, name, description) not in ALLOWED:
                flagged.append(f"{app_label}.{name}: {description}")
    assert not flagged, (
        "migrations that drop or rename while the previous release serves (use the two-step "
        "pattern, docs/operations.md, or add an ALLOWED entry with its reason):\n" + "\n".join(flagged)
    )


def test_every_allowed_entry_has_a_reason_and_still_exists():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    for (app_label, name, description), reason in ALLOWED.items():
        assert len(reason) > 20, (app_label, name)
        migration = loader.disk_migrations[(app_label, name)]
        assert description in destructive_operations(migration.operations)


def test_the_checker_flags_a_planted_drop_and_spares_the_first_step():
    planted = [
        migrations.RemoveField("page", "legacy_note"),
        migrations.RenameField("page", "number", "position"),
        migrations.DeleteModel("Oldthing"),
        migrations.RenameModel("Oldname", "Newname"),
        migrations.RunSQL("ALTER TABLE reviews_page DROP COLUMN legacy_note"),
        migrations.SeparateDatabaseAndState(database_operations=[migrations.RemoveField("page", "x")]),
    ]
    assert len(destructive_operations(planted)) == 6
    first_step = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.RemoveField("page", "legacy_note")]),
        migrations.AddField("page", "note", models_field()),
        migrations.RunSQL("CREATE INDEX CONCURRENTLY x ON reviews_page (id)"),
    ]
    assert destructive_operations(first_step) == []


def models_field():
    from django.db import models

    return models.TextField(default="", blank=True)
