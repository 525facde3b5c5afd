"""Source PDFs move out of MEDIA_ROOT (public) into the private source storage, renamed by hash.

Files of existing documents are copied from ``MEDIA_ROOT/sources/...`` to
``SOURCES_ROOT/<ab>/<sha256>.pdf`` and the public copy is deleted. A document whose file is
already gone keeps its name (its re-import fails with "missing from storage", as before).
"""

from django.core.files.storage import default_storage
from django.db import migrations, models

import catalogue.storage


def move_sources(apps, schema_editor):
    Document = apps.get_model("reviews", "Document")
    private = catalogue.storage.source_storage()
    for document in Document.objects.exclude(source="").iterator():
        old = document.source.name
        if not old.startswith("sources/") or not default_storage.exists(old):
            continue
        new = catalogue.storage.source_name(document, old)
        if not private.exists(new):
            with default_storage.open(old, "rb") as handle:
                private.save(new, handle)
        Document.objects.filter(pk=document.pk).update(source=new)
        default_storage.delete(old)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="document",
            name="source",
            field=models.FileField(
                max_length=300,
                storage=catalogue.storage.source_storage,
                upload_to=catalogue.storage.source_name,
            ),
        ),
        migrations.RunPython(move_sources, migrations.RunPython.noop),
    ]
