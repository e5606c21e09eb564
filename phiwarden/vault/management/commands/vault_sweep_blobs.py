"""`python manage.py vault_sweep_blobs [--grace-hours 24] [--dry-run]`

Delete encrypted files that no EncryptedBlob row names (left by a rolled-back or killed
import) once they are older than the grace period. Idempotent; safe to run from cron.
Exit status 0; the counts are printed (storage names only, never file contents).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from phiwarden.core.context import cli_context
from phiwarden.vault.sweep import orphan_blobs_sweep


class Command(BaseCommand):
    help = "Delete orphaned encrypted files (no database row) older than a grace period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--grace-hours", type=float, default=24.0,
            help="leave orphans younger than this many hours (default 24)",
        )  # fmt: skip
        parser.add_argument("--dry-run", action="store_true", help="list; delete nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["grace_hours"] < 1:
            raise CommandError("--grace-hours must be at least 1 (open imports need time).")
        with cli_context("vault_sweep_blobs"):
            result = orphan_blobs_sweep(
                grace=dt.timedelta(hours=options["grace_hours"]), dry_run=options["dry_run"]
            )
        for name in result.orphans:
            self.stdout.write(f"{'would delete' if options['dry_run'] else 'orphan'} {name}")
        self.stdout.write(
            f"Scanned {result.scanned} files: {len(result.orphans)} orphans past the grace "
            f"period, {result.young_orphans} younger left alone, {result.deleted} deleted."
        )
