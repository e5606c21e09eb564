"""`python manage.py partners_import --org SLUG --as EMAIL --kind vendors|clients FILE [--apply]`

Check a CSV of vendors or clients and, with --apply, import it: all rows or none, each
change audited as the named member (who needs partners.manage). Without --apply it is a
dry run. Exit status 0 when the file is valid (and applied, if asked), 1 when it has errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from phiwarden.accounts.models import Membership
from phiwarden.partners.services import partners_import


class Command(BaseCommand):
    help = "Import vendors or clients from CSV (dry run unless --apply)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--as", dest="email", required=True, help="the member importing")
        parser.add_argument("--kind", required=True, choices=["vendors", "clients"])
        parser.add_argument("--apply", action="store_true", help="write the rows (default: check)")

    def handle(self, *args: Any, **options: Any) -> None:
        membership = (
            Membership.objects.active()
            .select_related("organization", "user")
            .filter(organization__slug=options["org"], user__email=options["email"].lower())
            .first()
        )
        if membership is None:
            raise CommandError("No active member with that address in that organization.")
        try:
            text = options["file"].read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read the file: {error}") from error
        try:
            report = partners_import(
                actor=membership, kind=options["kind"], text=text, dry_run=not options["apply"]
            )
        except PermissionDenied:
            raise CommandError("That member may not manage partners.") from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        for row_error in report.errors:
            column = row_error.column or "-"
            self.stderr.write(f"row {row_error.row}: {column}: {row_error.message}")
        verb = "would be" if report.dry_run else "were"
        self.stdout.write(
            f"{report.rows} rows: {report.created} {verb} created, {report.updated} {verb} "
            f"updated, {report.unchanged} unchanged; {len(report.errors)} errors."
        )
        if report.errors:
            raise CommandError("Nothing was written.", returncode=1)
