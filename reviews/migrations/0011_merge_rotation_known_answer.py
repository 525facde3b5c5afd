# Two branches of work each added a migration after 0008 (page rotation, issue 26; confidence and
# known answers, issue 25): this joins them. No operation.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0009_page_rotation"),
        ("reviews", "0010_page_known_answer"),
    ]

    operations = []
