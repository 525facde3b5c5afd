"""The moved models' content types follow them (issue 23): the rows of ``django_content_type``
for party, member, document, page and tag change their app label from ``reviews`` to
``catalogue``, keeping their ids, so that the permissions (``catalogue.change_page``), the admin's
log entries and any group's grants stay attached. Reversible.

On a fresh database there are no rows yet (``post_migrate`` creates them after the last
migration): nothing to do. Should both labels exist (``post_migrate`` ran between the state
migrations and this one), the new row, which nothing can refer to yet but its freshly made
permissions, gives way to the old one."""

from django.db import migrations

MODELS = ["party", "member", "document", "page", "tag"]


def _move(apps, schema_editor, source: str, target: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        old = content_type.objects.using(db).filter(app_label=source, model=model).first()
        if old is None:
            continue
        content_type.objects.using(db).filter(app_label=target, model=model).delete()
        old.app_label = target
        old.save(update_fields=["app_label"])


def forwards(apps, schema_editor):
    _move(apps, schema_editor, "reviews", "catalogue")


def backwards(apps, schema_editor):
    _move(apps, schema_editor, "catalogue", "reviews")


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("reviews", "0013_catalogue_moved_out"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
