"""`rotate_keys --new-data-key` over real billing rows: every encrypted column of every
billing model moves to the new key, blind-index look-ups keep working, and the PHI door
reads the same values afterwards (45 CFR 164.312(a)(2)(iv))."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from phiwarden.billing import selectors
from phiwarden.billing.imports import x12_import
from phiwarden.billing.models import Claim
from phiwarden.billing.synthetic import generate_batch
from phiwarden.vault import registry
from phiwarden.vault.services import cipher_for, token_key_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(owner, clients):
    for writer in ("write_837p", "write_835"):
        stream = io.BytesIO()
        getattr(generate_batch(seed=52, claims=20), writer)(stream)
        stream.seek(0)
        x12_import(actor=owner, client=clients[0], stream=stream, filename="r.x12")
    return owner


def _key_ids(organization) -> set[str]:
    found: set[str] = set()
    for entry in registry.registered():
        if entry.model._meta.app_label != "billing":
            continue
        rows = entry.model._default_manager.filter(**{entry.organization_field: organization})
        for column in entry.columns:
            found |= {token_key_id(t) for t in rows.values_list(column, flat=True) if t}
    return found


def test_rotation_moves_every_billing_column_and_reads_stay_the_same(imported, organization):
    claim = Claim.objects.order_by("pk").first()
    assert claim is not None
    before = selectors.claim_detail(membership=imported, claim_id=claim.pk, purpose="payment")
    old_key = cipher_for(organization).key_id
    assert _key_ids(organization) == {old_key}

    call_command(
        "rotate_keys", "--new-data-key", "--org", organization.slug, "--no-progress",
        stdout=io.StringIO(),
    )  # fmt: skip

    new_key = cipher_for(organization).key_id
    assert new_key != old_key
    assert _key_ids(organization) == {new_key}
    after = selectors.claim_detail(membership=imported, claim_id=claim.pk, purpose="payment")
    assert after.projected.values == before.projected.values
    account = before.projected.values["claim.account_number"]
    found = selectors.patient_lookup(
        membership=imported, purpose="payment", kind="account_number", value=account
    )
    assert [m.patient_id for m in found] == [claim.patient_id]
