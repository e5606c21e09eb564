"""`python manage.py partners_reminders [--org SLUG] [--date YYYY-MM-DD]`

E-mail the officers of each organization as BAAs come within 90, 60 and 30 days of their
end. Idempotent: run it daily; each threshold of each BAA is sent once. Exit status 0.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from phiwarden.accounts.models import Organization
from phiwarden.partners.services import baa_expiry_warnings_send


class Command(BaseCommand):
    help = "Send BAA expiry warnings (90/60/30 days), once per threshold."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="only this organization's slug")
        parser.add_argument("--date", help="act as if today were this day (YYYY-MM-DD)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            today = (
                dt.date.fromisoformat(options["date"]) if options["date"] else timezone.localdate()
            )
        except ValueError as error:
            raise CommandError(
                f"--date {options['date']!r} is not a date like 2025-01-31"
            ) from error
        organizations = Organization.objects.order_by("slug")
        if options["org"]:
            organizations = organizations.filter(slug=options["org"])
            if not organizations.exists():
                raise CommandError(f"No organization {options['org']!r}")
        total = 0
        for organization in organizations:
            warned = baa_expiry_warnings_send(organization=organization, today=today)
            total += len(warned)
            for baa in warned:
                days = baa.expiry_warning_sent_days
                self.stdout.write(f"{organization.slug}: BAA {baa.pk} ends within {days} days")
        self.stdout.write(f"{total} warning(s) sent.")
