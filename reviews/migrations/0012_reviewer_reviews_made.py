"""``Reviewer.reviews_made``: every review a user made, counted or not (their own count), filled
from the reviews already there (registry entry ``reviewer-review-count`` keeps it after)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0011_merge_rotation_known_answer"),
    ]

    operations = [
        migrations.AddField(
            model_name="reviewer",
            name="reviews_made",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.RunSQL(
            "UPDATE reviews_reviewer rv SET reviews_made = c.n FROM ("
            " SELECT reviewer_id, count(*) AS n FROM reviews_review GROUP BY reviewer_id"
            ") c WHERE c.reviewer_id = rv.user_id",
            migrations.RunSQL.noop,
        ),
    ]
