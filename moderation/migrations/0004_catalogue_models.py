"""State only (issue 23): the catalogue's models moved from the ``reviews`` app to ``catalogue``
with their tables (``Meta.db_table``), so this app's foreign keys and many-to-many fields point to
``catalogue.*`` in the migration state; the columns, constraints and through tables stay as they
are (database_operations=[])."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalogue', '0001_initial'),
        ('moderation', '0003_address_exemption'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='embargodecision',
                    name='document',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalogue.document'),
                ),
                migrations.AlterField(
                    model_name='withdrawal',
                    name='document',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalogue.document'),
                ),
                migrations.AlterField(
                    model_name='withdrawal',
                    name='page',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalogue.page'),
                ),
            ],
        ),
    ]
