"""``Reviewer.reviews_made``: every review a user made, counted or not (their own count), filled
from the reviews already there (registry entry ``reviewer-review-count`` keeps it after).

The backfill runs in chunks of reviewers, each its own short transaction (``atomic = False``), so
that the serving release's reviews wait on a few row locks at a time, never on the whole table
(docs/operations.md, "Zero-downtime deploys"). Reviews the previous release records meanwhile do
not add to the new column: ``manage.py rebuild_denormalisations reviewer-review-count`` after the
deploy (or the registry's periodic check and repair) counts them."""

from django.db import migrations, models

CHUNK = 2000


def backfill(apps, schema_editor):
    Reviewer = apps.get_model("reviews", "Reviewer")
    ids = list(Reviewer.objects.order_by("user_id").values_list("user_id", flat=True))
    with schema_editor.connection.cursor() as cursor:
        for start in range(0, len(ids), CHUNK):
            cursor.execute(
                "UPDATE reviews_reviewer rv SET reviews_made = c.n FROM ("
                " SELECT reviewer_id, count(*) AS n FROM reviews_review"
                " WHERE reviewer_id BETWEEN %s AND %s GROUP BY reviewer_id"
                ") c WHERE c.reviewer_id = rv.user_id",
                [ids[start], ids[min(start + CHUNK, len(ids)) - 1]],
            )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("reviews", "0011_merge_rotation_known_answer"),
    ]

    operations = [
        migrations.AddField(
            model_name="reviewer",
            name="reviews_made",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
