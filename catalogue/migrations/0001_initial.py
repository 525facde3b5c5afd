"""The catalogue's models, moved from the ``reviews`` app (issue 23), created in the migration
state only: their tables are the reviews app's (``reviews_page``, ... named by ``Meta.db_table``,
created by ``reviews.0001``..``0011``), so nothing is created in the database. The reviews app
drops them from its state in ``reviews.0013_catalogue_moved_out``, after every other app's
foreign keys point here (``<app>.*_catalogue_models``)."""

import catalogue.storage
import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('reviews', '0011_merge_rotation_known_answer'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Member',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('slug', models.SlugField(max_length=100, unique=True)),
                        ('constituency', models.CharField(blank=True, max_length=200)),
                    ],
                    options={
                        'db_table': 'reviews_member',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Party',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200, unique=True)),
                        ('slug', models.SlugField(max_length=100, unique=True)),
                    ],
                    options={
                        'verbose_name_plural': 'parties',
                        'db_table': 'reviews_party',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Document',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('title', models.CharField(max_length=300)),
                        ('source', models.FileField(max_length=300, storage=catalogue.storage.source_storage, upload_to=catalogue.storage.source_name)),
                        ('sha256', models.CharField(max_length=64, unique=True)),
                        ('page_count', models.PositiveIntegerField(default=0)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('importing', 'Importing'), ('imported', 'Imported'), ('failed', 'Failed')], default='pending', max_length=16)),
                        ('error', models.TextField(blank=True)),
                        ('created', models.DateTimeField(auto_now_add=True)),
                        ('imported_at', models.DateTimeField(blank=True, null=True)),
                        ('withdrawn_at', models.DateTimeField(blank=True, null=True)),
                        ('published_at', models.DateTimeField(blank=True, null=True)),
                        ('public', models.BooleanField(db_default=False, default=False)),
                        ('member', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='documents', to='catalogue.member')),
                    ],
                    options={
                        'db_table': 'reviews_document',
                        'ordering': ['title', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='Page',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.PositiveIntegerField()),
                        ('image', models.ImageField(max_length=300, upload_to='pages/')),
                        ('thumbnail', models.ImageField(max_length=300, upload_to='thumbs/')),
                        ('width', models.PositiveIntegerField(default=0)),
                        ('height', models.PositiveIntegerField(default=0)),
                        ('review_count', models.PositiveIntegerField(default=0)),
                        ('withdrawn_at', models.DateTimeField(blank=True, null=True)),
                        ('public', models.BooleanField(db_default=False, default=False)),
                        ('rotation', models.PositiveSmallIntegerField(db_default=0, default=0)),
                        ('known_answer', models.BooleanField(db_default=False, default=False)),
                        ('document', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='pages', to='catalogue.document')),
                    ],
                    options={
                        'db_table': 'reviews_page',
                        'ordering': ['document_id', 'number'],
                    },
                ),
                migrations.AddField(
                    model_name='member',
                    name='party',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='members', to='catalogue.party'),
                ),
                migrations.CreateModel(
                    name='Tag',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=60, unique=True)),
                        ('slug', models.SlugField(max_length=60, unique=True)),
                        ('description', models.CharField(blank=True, max_length=300)),
                        ('order', models.PositiveIntegerField(default=0)),
                        ('key', models.CharField(blank=True, help_text='Keyboard key that toggles this tag on the review screen.', max_length=1)),
                        ('active', models.BooleanField(default=True)),
                        ('highlights', models.BooleanField(default=False)),
                    ],
                    options={
                        'db_table': 'reviews_tag',
                        'ordering': ['order', 'name'],
                        'constraints': [models.UniqueConstraint(django.db.models.functions.text.Lower('key'), condition=models.Q(('active', True), models.Q(('key', ''), _negated=True)), name='tag_unique_active_key_ci', violation_error_message='Another active tag already uses this keyboard key.')],
                    },
                ),
                migrations.AddIndex(
                    model_name='document',
                    index=models.Index(fields=['member'], name='document_member_idx'),
                ),
                migrations.AddIndex(
                    model_name='document',
                    index=models.Index(fields=['status'], name='document_status_idx'),
                ),
                migrations.AddIndex(
                    model_name='page',
                    index=models.Index(fields=['review_count', 'id'], name='page_review_count_idx'),
                ),
                migrations.AddConstraint(
                    model_name='page',
                    constraint=models.UniqueConstraint(fields=('document', 'number'), name='page_unique_number'),
                ),
                migrations.AddConstraint(
                    model_name='page',
                    constraint=models.CheckConstraint(condition=models.Q(('number__gte', 1)), name='page_number_positive'),
                ),
                migrations.AddConstraint(
                    model_name='page',
                    constraint=models.CheckConstraint(condition=models.Q(('rotation__in', [0, 90, 180, 270])), name='page_rotation_quarter_turns'),
                ),
                migrations.AddIndex(
                    model_name='member',
                    index=models.Index(fields=['party'], name='member_party_idx'),
                ),
            ],
        ),
    ]
