"""`python manage.py audit_export --org SLUG [--output FILE]`: write a verifiable bundle.

Verify it anywhere with `python -m phiwarden.audit.verify FILE` (no Django needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from phiwarden.accounts.models import Organization
from phiwarden.audit.codes import EventCode
from phiwarden.audit.export import bundle_write
from phiwarden.audit.services import audit_event_record
from phiwarden.core.context import cli_context


class Command(BaseCommand):
    help = "Export an organization's sealed audit log as a bundle for offline verification."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", metavar="SLUG", required=True)
        parser.add_argument("--output", type=Path, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization with slug {options['org']!r}", returncode=2)
        output = options["output"] or Path(f"audit-bundle-{organization.slug}.zip")
        with cli_context("cli:audit_export"), transaction.atomic():
            manifest = bundle_write(log_ids=[organization.pk], destination=output)
            audit_event_record(
                actor=None,
                organization=organization,
                event_code=EventCode.AUDIT_EXPORTED,
                data={"events": sum(manifest["events"].values()), "format": "bundle"},  # type: ignore[attr-defined]
            )
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}"))
        self.stdout.write(f"Verify with: python -m phiwarden.audit.verify {output}")
