"""Print the health checks of ``GET /readyz`` (personalization.health); exit 0 ok, 1 degraded,
2 failing. ``--json``: the same body as /readyz. For cron, a systemd timer or a monitoring agent."""

import json
import sys

from django.core.management.base import BaseCommand

from personalization.health import system_health


class Command(BaseCommand):
    help = (
        "Check the database, the cache, the GPU workers' heartbeats and the queue; "
        "exit 0 ok, 1 degraded, 2 failing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="Print the report as JSON (as /readyz)."
        )

    def handle(self, *args, as_json: bool = False, **options):
        report = system_health()
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, sort_keys=True))
        else:
            for check in report.checks:
                self.stdout.write(f"{check.name:<10} {check.status:<9} {check.detail}")
            self.stdout.write(f"overall    {report.status}")
        if report.exit_code:
            sys.exit(report.exit_code)
