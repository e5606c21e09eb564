"""`python manage.py audit_seal [--loop SECONDS]`: seal pending audit events.

Idempotent: with nothing pending it does nothing. `--loop` keeps sealing every N seconds
(what `make run` starts beside the server); cron can run it once a minute instead.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from phiwarden.audit.sealing import DEFAULT_BATCH_SIZE, seal_all
from phiwarden.core.context import cli_context


class Command(BaseCommand):
    help = "Seal pending audit events into each organization's signed Merkle log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
        parser.add_argument("--loop", type=float, metavar="SECONDS", help="Repeat forever.")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            with cli_context("cli:audit_seal"):
                results = seal_all(batch_size=options["batch_size"])
            sealed = sum(r.sealed for r in results)
            if sealed or not options["loop"]:
                for result in results:
                    head = result.tree_head
                    size = head.tree_size if head else "-"
                    self.stdout.write(
                        f"log {result.log_id}: sealed {result.sealed}, tree size {size}"
                    )
                self.stdout.write(self.style.SUCCESS(f"Sealed {sealed} events."))
            if not options["loop"]:
                return
            time.sleep(options["loop"])
