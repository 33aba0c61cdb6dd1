"""Issue 14, honest waiting: the phase of a request's run (personalization.eta, the job card, the API),
the worker seconds it cost (the measured throughput the ETAs come from) and the ETA given at submit.

Rows that exist already: queued ones wait in the queue, running ones are generating (their worker
writes the next phase), finished ones get "" (which phase they ended in was not recorded)."""

from django.db import migrations, models

PHASES = [
    ("", "Never queued"),
    ("queued", "Waiting in the queue"),
    ("generating", "Generating"),
    ("reseeding", "Re-drawing an off-brand variation"),
    ("postprocessing", "Checking brand colours and content"),
    ("storing", "Drawing the mockups and saving"),
]


def set_phases(apps, schema_editor):
    requests = apps.get_model("personalization", "GenerationRequest").objects
    requests.filter(status="running").update(phase="generating")
    requests.exclude(status__in=["queued", "running"]).update(phase="")


class Migration(migrations.Migration):
    dependencies = [
        ("personalization", "0015_line_design_print_job_attempts"),
    ]

    operations = [
        migrations.AddField(
            model_name="generationrequest",
            name="phase",
            field=models.CharField(blank=True, choices=PHASES, default="queued", max_length=16),
        ),
        migrations.AddField(
            model_name="generationrequest",
            name="work_seconds",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="generationrequest",
            name="gpu_seconds",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="generationrequest",
            name="eta_at_submit",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="generationrequest",
            index=models.Index(fields=["status", "finished_at"], name="genreq_status_finished"),
        ),
        migrations.RunPython(set_phases, migrations.RunPython.noop),
    ]
