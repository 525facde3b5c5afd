"""State only (issue 23): Party, Member, Document, Page and Tag leave the reviews app's state
(``catalogue.0001_initial`` has them, with the same tables); Review, Skip, PageTag and Discovery
point to ``catalogue.*``. Nothing is dropped or altered in the database
(database_operations=[]): the tables, their columns, the many-to-many table
``reviews_review_tags`` and every constraint stay as they are."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('assignments', '0008_catalogue_models'),
        ('catalogue', '0001_initial'),
        ('consensus', '0003_catalogue_models'),
        ('contributors', '0002_catalogue_models'),
        ('moderation', '0004_catalogue_models'),
        ('reviews', '0012_reviewer_reviews_made'),
        ('search', '0002_catalogue_models'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='page',
                    name='document',
                ),
                migrations.RemoveField(
                    model_name='member',
                    name='party',
                ),
                migrations.AlterField(
                    model_name='skip',
                    name='page',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='skips', to='catalogue.page'),
                ),
                migrations.AlterField(
                    model_name='pagetag',
                    name='page',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='page_tags', to='catalogue.page'),
                ),
                migrations.AlterField(
                    model_name='discovery',
                    name='page',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='discoveries', to='catalogue.page'),
                ),
                migrations.AlterField(
                    model_name='review',
                    name='page',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reviews', to='catalogue.page'),
                ),
                migrations.AlterField(
                    model_name='pagetag',
                    name='tag',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='page_tags', to='catalogue.tag'),
                ),
                migrations.AlterField(
                    model_name='review',
                    name='tags',
                    field=models.ManyToManyField(blank=True, related_name='reviews', to='catalogue.tag'),
                ),
                migrations.DeleteModel(
                    name='Document',
                ),
                migrations.DeleteModel(
                    name='Member',
                ),
                migrations.DeleteModel(
                    name='Party',
                ),
                migrations.DeleteModel(
                    name='Page',
                ),
                migrations.DeleteModel(
                    name='Tag',
                ),
            ],
        ),
    ]
