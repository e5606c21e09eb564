"""`python manage.py audit_purge --org SLUG --before YYYY-MM-DD --archive DIR [--dry-run]`

Archive the events of one organization's log that are past retention to a verified
bundle in DIR, then purge them, leaving a signed purge record (see audit/purge.py).
Keep the archive: it is the only copy of the purged events, and its SHA-256 is in the
signed record. Exit status 0 when done (or nothing to do), 1 when refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from phiwarden.accounts.models import Organization
from phiwarden.audit.models import INSTALLATION_LOG
from phiwarden.audit.purge import PurgeRefused, audit_purge, retention_cutoff


def _day(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as error:
        raise CommandError(f"--before {value!r} is not a date like 2019-01-31") from error


class Command(BaseCommand):
    help = "Archive and purge audit events past the retention period, leaving a signed record."

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--org", help="the organization's slug")
        target.add_argument(
            "--installation", action="store_true", help="the installation-wide log (0)"
        )
        parser.add_argument(
            "--before", help="purge events before this day (default: the retention cut-off)"
        )
        parser.add_argument("--archive", type=Path, required=True, help="folder for the bundle")
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["installation"]:
            log_id = INSTALLATION_LOG
        else:
            organization = Organization.objects.filter(slug=options["org"]).first()
            if organization is None:
                raise CommandError(f"No organization with the slug {options['org']!r}")
            log_id = organization.pk
        before = _day(options["before"]) if options["before"] else retention_cutoff()
        try:
            result = audit_purge(
                log_id=log_id,
                before=before,
                archive_dir=options["archive"],
                dry_run=options["dry_run"],
            )
        except PurgeRefused as error:
            raise CommandError(" ".join(error.messages)) from error
        if options["dry_run"]:
            self.stdout.write(f"Would purge {result.purged} events of log {log_id}.")
        elif result.record is None:
            self.stdout.write(f"Nothing to purge in log {log_id} before {before:%Y-%m-%d}.")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Purged {result.purged} events of log {log_id} "
                    f"(sequences {result.record.first_sequence}-{result.record.last_sequence}); "
                    f"archive {result.archive} sha256 {result.record.bundle_sha256}"
                )
            )
