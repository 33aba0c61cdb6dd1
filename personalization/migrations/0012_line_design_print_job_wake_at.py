from django.db import migrations, models
from django.utils import timezone


def owe_missing_print_files(apps, schema_editor):
    """Designs ordered before this field whose print files are missing (a lost print job) and that
    are not rejected are owed now: the sweeper wakes their print job."""
    LineDesign = apps.get_model("personalization", "LineDesign")
    LineDesign.objects.filter(print_file="", regeneration__isnull=True).exclude(
        review_state="rejected"
    ).update(print_job_wake_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [
        ("personalization", "0011_line_design_approval"),
    ]

    operations = [
        migrations.AddField(
            model_name="linedesign",
            name="print_job_wake_at",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.RunPython(owe_missing_print_files, migrations.RunPython.noop),
    ]
