import brand_guides.model_presets
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("brand_guides", "0005_protected_name_min_length"),
    ]

    operations = [
        migrations.AddField(
            model_name="brand",
            name="model_preset",
            field=models.CharField(
                blank=True,
                choices=brand_guides.model_presets.choices,
                help_text="The Stable Diffusion preset this brand's designs are made with (blank: the shop's default preset). A product may choose its own.",
                max_length=20,
                verbose_name="model preset",
            ),
        ),
    ]
