# IdempotencyKey now belongs to the ``apikit`` app (its 0001 takes over the model). The table keeps
# its name and rows: this migration removes the model from this app's state only.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("apikit", "0001_initial"),
        ("personalization", "0006_index_private_file_names_fill_line_design_owners"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotencyKey")],
            database_operations=[],
        ),
    ]
