from pathlib import Path

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Write a tiny random-weight pipeline in Stable Diffusion 2.1's layout (the demo model: "
        "pictures are noise). Loadable with StableDiffusionPipeline.from_pretrained(DIR)."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, directory: Path, seed: int, **options):
        from personalization.engine.tiny import build_tiny_pipeline

        path = build_tiny_pipeline(directory, seed=seed)
        self.stdout.write(
            self.style.SUCCESS(f"Demo model (random weights, pictures are noise) written to {path}")
        )
