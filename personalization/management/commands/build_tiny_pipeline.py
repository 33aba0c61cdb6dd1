from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Write a tiny random-weight pipeline in the layout of a model preset (the demo model: pictures "
        "are noise), loaded by the same code as real weights. Default directory: "
        "var/models/tiny-<preset>."
    )

    def add_arguments(self, parser):
        from personalization.presets import BUILT_IN

        parser.add_argument(
            "directory", type=Path, nargs="?", default=None, help="Default: var/models/tiny-<preset>."
        )
        parser.add_argument("--preset", default="sd21", choices=list(BUILT_IN), help="Default: sd21.")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, directory: Path | None, preset: str, seed: int, **options):
        from personalization.engine.tiny import build_tiny_pipeline

        if directory is None:  # the project's var/ (settings.VAR_DIR), else ./var
            directory = Path(getattr(settings, "VAR_DIR", "var")) / "models" / f"tiny-{preset}"
        path = build_tiny_pipeline(directory, preset=preset, seed=seed)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo model for preset {preset} (random weights, pictures are noise) written to {path}"
            )
        )
