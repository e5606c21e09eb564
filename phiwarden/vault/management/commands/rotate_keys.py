"""`python manage.py rotate_keys`: re-wrap keys under a new master key, or rotate a data key.

    rotate_keys --status                       keys per organization, and what needs doing
    rotate_keys --rewrap                       after moving the old master key to
                                               PHI_MASTER_KEY_PREVIOUS (docs/operations/keys.md)
    rotate_keys --new-data-key --org SLUG      new data key, then re-encrypt every row and file

`--new-data-key` is resumable: when the organization already has a rotation in progress
(a RETIRING key), it finishes that one instead of starting another. Exit code 0 when done,
1 on error or when rows remain under an old key.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type stubs

from phiwarden.accounts.models import Organization
from phiwarden.core.context import cli_context
from phiwarden.core.crypto import CryptoError
from phiwarden.vault import keys
from phiwarden.vault.mfa import mfa_secrets_rewrap
from phiwarden.vault.models import DataKey, IndexKey
from phiwarden.vault.rotation import DEFAULT_BATCH_SIZE, items_to_visit, reencrypt_organization
from phiwarden.vault.services import data_key_rotate, keys_rewrap


class Command(BaseCommand):
    help = "Re-wrap keys under the current master key, or rotate an organization's data key."

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--status", action="store_true", help="Show keys; change nothing.")
        action.add_argument(
            "--rewrap",
            action="store_true",
            help="Re-wrap every data and index key and MFA secret under PHI_MASTER_KEY.",
        )
        action.add_argument(
            "--new-data-key",
            action="store_true",
            help="Make a new data key for --org and re-encrypt its rows and files.",
        )
        parser.add_argument("--org", metavar="SLUG", help="Organization slug (--new-data-key).")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        with cli_context("cli:rotate_keys"):
            try:
                if options["status"]:
                    self._status()
                elif options["rewrap"]:
                    self._rewrap()
                else:
                    self._new_data_key(options)
            except CryptoError as error:  # messages name key ids, never key material
                raise CommandError(str(error)) from error

    def _status(self) -> None:
        configured = keys.master_keys()
        current = keys.current_master_key().key_id
        self.stdout.write(f"master key (PHI_MASTER_KEY): {current}")
        for key_id in sorted(set(configured) - {current}):
            self.stdout.write(f"previous master key (PHI_MASTER_KEY_PREVIOUS): {key_id}")
        for row in DataKey.objects.select_related("organization"):
            flag = "" if row.master_key_id == current else "  <- needs --rewrap"
            self.stdout.write(
                f"{row.organization.slug}: data key {row.key_id} {row.state} "
                f"(master {row.master_key_id}){flag}"
            )
        for index in IndexKey.objects.select_related("organization"):
            flag = "" if index.master_key_id == current else "  <- needs --rewrap"
            self.stdout.write(
                f"{index.organization.slug}: index key {index.key_id} "
                f"(master {index.master_key_id}){flag}"
            )

    def _rewrap(self) -> None:
        result = keys_rewrap(actor=None)
        authenticators = mfa_secrets_rewrap()
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-wrapped {result.data_keys} data keys, {result.index_keys} index keys and "
                f"the MFA secrets of {authenticators} authenticators under master key "
                f"{keys.current_master_key().key_id}. PHI_MASTER_KEY_PREVIOUS can now be unset."
            )
        )

    def _new_data_key(self, options: dict[str, Any]) -> None:
        slug = options["org"]
        if not slug:
            raise CommandError("--new-data-key needs --org SLUG")
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"no organization with slug {slug!r}")
        resuming = DataKey.objects.for_organization(organization).filter(
            state=DataKey.State.RETIRING
        )
        if resuming.exists():
            self.stdout.write("A rotation is in progress for this organization: resuming it.")
        else:
            new = data_key_rotate(organization=organization, actor=None)
            self.stdout.write(f"New data key {new.key_id} is active.")
        with tqdm(
            total=items_to_visit(organization),
            unit="row",
            # None: tqdm stays quiet when stderr is not a terminal (cron, CI logs).
            disable=True if options["no_progress"] else None,
            file=self.stderr,
        ) as bar:
            report = reencrypt_organization(
                organization=organization,
                actor=None,
                batch_size=options["batch_size"],
                progress=bar.update,
            )
        if not report.finished:
            raise CommandError(
                f"{report.remaining} rows or files are still under an old key; run again"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {report.rows} rows and {report.blobs} files under {report.key_id}; "
                f"retired {', '.join(report.retired_key_ids) or 'no keys'}."
            )
        )
