"""`python manage.py checklist [--org SLUG] [--json]`: the live checklist for scripts and cron.

Exit code 0 when every measured item is met, 1 when any measured item is partly met or
not met, 2 on a usage error (unknown organization).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from phiwarden.accounts.models import Organization
from phiwarden.compliance.api import checklist_item_out
from phiwarden.compliance.registry import Status, checklist_measure
from phiwarden.core.context import cli_context


class Command(BaseCommand):
    help = "Print the live HIPAA checklist (id, status, evidence) for one or every organization."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", metavar="SLUG", help="Only this organization.")
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args: Any, **options: Any) -> None:
        organizations = Organization.objects.order_by("slug")
        if options["org"]:
            organizations = organizations.filter(slug=options["org"])
            if not organizations.exists():
                raise CommandError(f"No organization with slug {options['org']!r}", returncode=2)
        report: dict[str, list[dict[str, Any]]] = {}
        worst_ok = True
        with cli_context("cli:checklist"):
            for organization in organizations:
                results = checklist_measure(organization)
                report[organization.slug] = [checklist_item_out(r).model_dump() for r in results]
                worst_ok &= all(
                    r.evidence.status in (Status.MET, Status.NOT_MEASURED) for r in results
                )
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, sort_keys=True))
        else:
            self._print_table(report)
        if not worst_ok:
            raise SystemExit(1)

    def _print_table(self, report: dict[str, list[dict[str, Any]]]) -> None:
        for slug, items in report.items():
            self.stdout.write(self.style.MIGRATE_HEADING(f"{slug}"))
            for item in items:
                status = Status(item["status"])
                label = f"{status.label:<13}"
                styled = {
                    Status.MET: self.style.SUCCESS,
                    Status.PARTIAL: self.style.WARNING,
                    Status.NOT_MET: self.style.ERROR,
                }.get(status, str)
                self.stdout.write(f"  {item['id']:<3} {styled(label)} {item['summary']}")
