"""A child process for test_import_kill: `python -m phiwarden.billing.tests.import_child
ACTION DIR`, against the database that DATABASE_URL names (test settings)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

CLAIMS = 800


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    import django

    django.setup()


def seed(folder: Path) -> None:
    from phiwarden.accounts.models import Client, Membership, Organization, User
    from phiwarden.accounts.roles import Role
    from phiwarden.billing.synthetic import generate_batch

    organization = Organization.objects.create(name="Kill Test Billing", slug="kill-test")
    user = User.objects.create_user("owner@kill.example.test", "kill-test-password-0001")
    Membership.objects.create(user=user, organization=organization, role=Role.OWNER)
    Client.objects.create(organization=organization, name="Kill Test Practice")
    with (folder / "claims.837").open("wb") as handle:
        generate_batch(seed=5, claims=CLAIMS).write_837p(handle)


def run_import(folder: Path) -> None:
    from phiwarden.accounts.models import Client, Membership
    from phiwarden.billing.imports import x12_import

    membership = Membership.objects.select_related("organization", "user").get(
        user__email="owner@kill.example.test"
    )
    client = Client.objects.get(name="Kill Test Practice")

    def progress(done: int) -> None:
        if done % 50 == 0:
            print(f"progress {done}", flush=True)  # noqa: T201  (the parent reads it)

    with (folder / "claims.837").open("rb") as stream:
        result = x12_import(
            actor=membership, client=client, stream=stream, filename="claims.837",
            progress=progress,
        )  # fmt: skip
    print(f"done {result.claims}", flush=True)  # noqa: T201


def counts() -> None:
    from phiwarden.audit.codes import EventCode
    from phiwarden.audit.models import AuditEvent
    from phiwarden.billing.models import Claim, Patient, ServiceLine, X12File
    from phiwarden.vault.models import EncryptedBlob

    found = {
        "files": X12File.objects.count(),
        "blobs": EncryptedBlob.objects.count(),
        "claims": Claim.objects.count(),
        "lines": ServiceLine.objects.count(),
        "patients": Patient.objects.count(),
        "claim_events": AuditEvent.objects.filter(
            event_code=EventCode.BILLING_CLAIM_IMPORTED
        ).count(),
    }
    print(json.dumps(found), flush=True)  # noqa: T201


def main(argv: list[str]) -> None:
    action, folder = argv[0], Path(argv[1])
    _setup()
    {"seed": seed, "import": run_import}.get(action, lambda _f: counts())(folder)


if __name__ == "__main__":
    main(sys.argv[1:])
