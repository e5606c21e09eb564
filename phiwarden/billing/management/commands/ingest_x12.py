"""`python manage.py ingest_x12 --org SLUG --as EMAIL [--client NAME] [--channel sftp] PATH...`

Import X12 837P, 837I and 835 files, each as one all-or-nothing transaction, with a
progress bar per file. The same file twice is a no-op. Without --client, each file is
matched to the client whose provider NPI it names (an 837's billing provider, an 835's
payee); a file that matches no client, or more than one, is refused.

Exit status: 0 when every file was imported or was a duplicate, 1 when any was refused
(the others still import), 2 for bad arguments. Messages name files and segment numbers,
never values from the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm  # type: ignore[import-untyped]

from phiwarden.accounts.models import Client, Membership
from phiwarden.billing.imports import ImportRefused, client_for_file, x12_import
from phiwarden.core.context import cli_context
from phiwarden.partners.models import Channel


class Command(BaseCommand):
    help = "Import X12 837P, 837I and 835 files (all or nothing per file, idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="X12 files")
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument(
            "--as", dest="email", required=True, help="the member the import is recorded as"
        )
        parser.add_argument("--client", help="the client's name (default: match by NPI)")
        parser.add_argument(
            "--channel", default=Channel.SFTP, choices=Channel.values,
            help="how the files arrived (recorded on the PHI flow map)",
        )  # fmt: skip
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args: Any, **options: Any) -> None:
        membership = (
            Membership.objects.active()
            .filter(organization__slug=options["org"], user__email__iexact=options["email"])
            .select_related("organization", "user")
            .first()
        )
        if membership is None:
            raise CommandError("No active member with that e-mail in that organization.")
        client = None
        if options["client"]:
            client = (
                Client.objects.for_organization(membership.organization)
                .filter(name=options["client"])
                .first()
            )
            if client is None:
                raise CommandError("No client with that name in the organization.")
        refused = 0
        with cli_context("ingest_x12"):
            for path in options["paths"]:
                refused += not self._one(path, membership, client, options)
        if refused:
            self.stderr.write(
                self.style.ERROR(f"{refused} file(s) refused; nothing of them stored.")
            )
            raise SystemExit(1)

    def _one(
        self, path: Path, membership: Membership, client: Client | None, options: dict[str, Any]
    ) -> bool:
        if not path.is_file():
            self.stderr.write(self.style.ERROR(f"{path.name}: not a readable file"))
            return False
        try:
            with path.open("rb") as stream:
                target = client or client_for_file(membership.organization, stream)
                stream.seek(0)
                with tqdm(
                    desc=path.name, unit=" items", disable=options["no_progress"] or None,
                    leave=False,
                ) as bar:  # fmt: skip
                    result = x12_import(
                        actor=membership, client=target, stream=stream, filename=path.name,
                        channel=options["channel"],
                        progress=lambda done: bar.update(done - bar.n),
                    )  # fmt: skip
        except ImportRefused as error:
            self.stderr.write(self.style.ERROR(f"{path.name}: refused: {' '.join(error.messages)}"))
            return False
        if result.duplicate:
            self.stdout.write(f"{path.name}: imported before; nothing new.")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{path.name}: {result.claims} claims, {result.payments} payments "
                    f"({result.unmatched_payments} unmatched) for {target.name}"
                )
            )
        return True
