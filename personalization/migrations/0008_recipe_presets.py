# Model presets and the Recipe (personalization/presets.py, personalization/recipe.py):
# - GenerationRequest.preset and LineDesign.preset: every existing row was made with the one model
#   there was, SD 2.1 768-v ("sd21");
# - LineDesign.recipe: the frozen Recipe (Recipe.as_dict()), filled for existing designs from their
#   own columns (and the reference hash / LoRA of the generation they were chosen from);
# - the range constraints of GenerationRequest now come from the presets' envelope
#   (presets.ENVELOPE: steps 1-100, guidance 0-20, variations 1-4, strength 0.05-1, sizes 64-2048).
#   The old service kept to these ranges unless a shop had widened MAX_STEPS/MAX_GUIDANCE/
#   MAX_VARIATIONS; such rows are brought inside the envelope first so the constraints can be added.

from django.db import migrations, models
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest, Least

PRESET_CHOICES = [
    ("sd21", "Stable Diffusion 2.1 (768-v)"),
    ("sd21-base", "Stable Diffusion 2.1-base (512)"),
    ("sd-turbo", "SD-Turbo (SD 2.1 distilled, 1-4 steps)"),
]
# The envelope when this migration was written (a migration never reads the live code).
STEPS, GUIDANCE, VARIATIONS, STRENGTH, SIZES = (1, 100), (0.0, 20.0), (1, 4), (0.05, 1.0), (64, 2048)


def recipe_of(design, request) -> dict:
    """Recipe.as_dict() of a frozen design, from its columns."""
    reference_sha256 = request.reference_sha256 if request is not None else ""
    brand = request.brand if request is not None else design.brand
    lora = (brand.lora_weights.name or "") if brand is not None else ""
    img2img = bool(reference_sha256) or design.strength is not None
    return {
        "preset": "sd21",
        "model": design.model_name,
        "prompt": design.optimized_prompt,
        "negative_prompt": design.negative_prompt,
        "seed": design.seed,
        "variations": 1,
        "steps": design.steps,
        "guidance_scale": float(design.guidance_scale),
        # The generated size (the design's own columns hold its picture's size).
        "width": request.width if request is not None else design.width,
        "height": request.height if request is not None else design.height,
        "strength": float(design.strength) if img2img and design.strength is not None else None,
        "reference_sha256": reference_sha256 if img2img else "",
        "lora": lora,
        "lora_scale": float(brand.lora_scale) if lora else 1.0,
        "scheduler": design.scheduler_name,
    }


def fill_recipes(apps, schema_editor):
    LineDesign = apps.get_model("personalization", "LineDesign")
    for design in LineDesign.objects.filter(recipe={}).select_related("brand", "source_image__request__brand"):
        request = design.source_image.request if design.source_image_id else None
        design.recipe = recipe_of(design, request)
        design.save(update_fields=["recipe"])


def clamp_into_envelope(apps, schema_editor):
    GenerationRequest = apps.get_model("personalization", "GenerationRequest")
    outside = (
        Q(steps__gt=STEPS[1])
        | Q(guidance_scale__gt=GUIDANCE[1])
        | Q(variations__gt=VARIATIONS[1])
        | Q(strength__lt=STRENGTH[0])
        | Q(width__gt=SIZES[1])
        | Q(height__gt=SIZES[1])
    )
    # One UPDATE, so each row changes once. On PostgreSQL a second update of a row this transaction
    # already changed queues its (deferred) foreign-key checks, and the ALTER TABLE of the
    # constraints below then fails with "pending trigger events"; SET CONSTRAINTS ALL IMMEDIATE runs
    # any such check now, so none is left pending.
    GenerationRequest.objects.filter(outside).update(
        steps=Least(F("steps"), Value(STEPS[1])),
        guidance_scale=Least(F("guidance_scale"), Value(GUIDANCE[1])),
        variations=Least(F("variations"), Value(VARIATIONS[1])),
        strength=Greatest(F("strength"), Value(STRENGTH[0])),
        width=Least(F("width"), Value(SIZES[1])),
        height=Least(F("height"), Value(SIZES[1])),
    )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")


class Migration(migrations.Migration):
    dependencies = [
        ("personalization", "0007_idempotencykey_moved_to_apikit"),
    ]

    operations = [
        migrations.AddField(
            model_name="generationrequest",
            name="preset",
            field=models.CharField(
                choices=PRESET_CHOICES,
                default="sd21",
                help_text="The model preset it was made with (personalization.presets).",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="linedesign",
            name="preset",
            field=models.CharField(
                choices=PRESET_CHOICES,
                default="sd21",
                help_text="The model preset the design was made with.",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="linedesign",
            name="recipe",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="The design's Recipe when ordered (personalization.recipe.Recipe.as_dict(): "
                "this variation's seed, one variation).",
            ),
        ),
        migrations.RunPython(fill_recipes, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="generationrequest", name="genreq_steps_range"),
        migrations.RemoveConstraint(model_name="generationrequest", name="genreq_guidance_range"),
        migrations.RemoveConstraint(model_name="generationrequest", name="genreq_variations_range"),
        migrations.RemoveConstraint(model_name="generationrequest", name="genreq_strength_range"),
        migrations.RunPython(clamp_into_envelope, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="generationrequest",
            constraint=models.CheckConstraint(
                condition=Q(("steps__gte", 1), ("steps__lte", 100)), name="genreq_steps_range"
            ),
        ),
        migrations.AddConstraint(
            model_name="generationrequest",
            constraint=models.CheckConstraint(
                condition=Q(("guidance_scale__gte", 0.0), ("guidance_scale__lte", 20.0)),
                name="genreq_guidance_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="generationrequest",
            constraint=models.CheckConstraint(
                condition=Q(("variations__gte", 1), ("variations__lte", 4)), name="genreq_variations_range"
            ),
        ),
        migrations.AddConstraint(
            model_name="generationrequest",
            constraint=models.CheckConstraint(
                condition=Q(("strength__gte", 0.05), ("strength__lte", 1.0)), name="genreq_strength_range"
            ),
        ),
        migrations.AddConstraint(
            model_name="generationrequest",
            constraint=models.CheckConstraint(
                condition=Q(("width__lte", 2048), ("height__lte", 2048)), name="genreq_size_max"
            ),
        ),
    ]
