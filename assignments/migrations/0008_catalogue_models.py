"""State only (issue 23): the catalogue's models moved from the ``reviews`` app to ``catalogue``
with their tables (``Meta.db_table``), so this app's foreign keys and many-to-many fields point to
``catalogue.*`` in the migration state; the columns, constraints and through tables stay as they
are (database_operations=[])."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('assignments', '0007_retire_when_confident'),
        ('catalogue', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='assignment',
                    name='documents',
                    field=models.ManyToManyField(blank=True, related_name='assignments', to='catalogue.document'),
                ),
                migrations.AlterField(
                    model_name='assignment',
                    name='members',
                    field=models.ManyToManyField(blank=True, related_name='assignments', to='catalogue.member'),
                ),
                migrations.AlterField(
                    model_name='assignment',
                    name='parties',
                    field=models.ManyToManyField(blank=True, related_name='assignments', to='catalogue.party'),
                ),
                migrations.AlterField(
                    model_name='prioritypage',
                    name='page',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='priorities', to='catalogue.page'),
                ),
                migrations.AlterField(
                    model_name='retiredpage',
                    name='page',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalogue.page'),
                ),
            ],
        ),
    ]
