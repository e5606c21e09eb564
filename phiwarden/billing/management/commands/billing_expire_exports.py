"""`python manage.py billing_expire_exports`

Mark approved large exports whose download window has passed as expired (each audited),
so an approval never outlives its window unseen. Idempotent; run it from cron beside the
other periodic commands. Exit status 0; prints how many expired.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from phiwarden.billing.services import export_requests_expire
from phiwarden.core.context import cli_context


class Command(BaseCommand):
    help = "Expire approved exports that were not downloaded within their window."

    def handle(self, *args: Any, **options: Any) -> None:
        with cli_context("billing_expire_exports"):
            expired = export_requests_expire()
        self.stdout.write(f"{expired} approved export(s) expired.")
