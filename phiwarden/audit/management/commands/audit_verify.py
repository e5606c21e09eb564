"""`python manage.py audit_verify [--heads FILE ...]`: recompute and check the whole log.

Every leaf is recomputed from its event and compared with the hash stored at sealing;
every root is recomputed and compared with its signed tree head; every signature is
checked; tree heads kept outside the database (the file sinks, or --heads) must match.
The first event or tree head that does not match is named. Exit status 0 only when all
holds, 1 otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from phiwarden.audit.verification import (
    configured_head_files,
    verification_record,
    verify_database,
)


class Command(BaseCommand):
    help = "Verify the audit log: leaves, roots, signatures, order, and outside tree heads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--heads", nargs="*", type=Path, default=None,
            help="Files of tree heads kept outside the database (default: the file sinks).",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        files = options["heads"] if options["heads"] is not None else configured_head_files()
        reports = verify_database(external_head_files=files)
        verification_record(reports)
        failed = False
        for report in reports:
            if report.ok:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"OK log {report.log_id}: {report.events} events, "
                        f"{report.tree_heads} tree heads"
                    )
                )
            else:
                failed = True
                for problem in report.problems:
                    self.stderr.write(self.style.ERROR(f"FAIL {problem.describe()}"))
        if not reports:
            self.stdout.write("Nothing sealed yet.")
        if failed:
            raise SystemExit(1)
