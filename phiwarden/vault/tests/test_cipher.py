"""An organization's cipher: keys on first use, round trips, tamper and swap detection, the
key id in each ciphertext, and blind indexes."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.core import crypto
from phiwarden.vault.models import DataKey, IndexKey
from phiwarden.vault.services import (
    UnknownKeyError,
    cipher_for,
    data_key_rotate,
    token_key_id,
)

pytestmark = pytest.mark.django_db

PLACE = {"table": "billing_patient", "column": "name_ciphertext", "row_key": str(uuid.uuid4())}


def test_first_use_makes_one_active_data_key_and_one_index_key(organization):
    cipher = cipher_for(organization)
    again = cipher_for(organization)

    key = DataKey.objects.get(organization=organization)
    assert key.state == DataKey.State.ACTIVE
    assert cipher.key_id == again.key_id == key.key_id
    assert IndexKey.objects.filter(organization=organization).count() == 1
    event = AuditEvent.objects.get(event_code=EventCode.VAULT_DATA_KEY_CREATED)
    assert event.data == {"key_id": key.key_id, "reason": "first use"}


def test_data_keys_are_stored_only_wrapped(organization):
    cipher = cipher_for(organization)

    key = DataKey.objects.get(organization=organization)
    assert cipher.data_key(key.key_id) not in bytes(key.wrapped_key)
    assert len(bytes(key.wrapped_key)) == 12 + 32 + 16


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(max_size=200))
def test_text_round_trip(organization, value):
    cipher = cipher_for(organization)

    token = cipher.encrypt_text(value, **PLACE)

    assert cipher.decrypt_text(token, **PLACE) == value


def test_ciphertext_does_not_contain_the_plaintext(organization):
    token = cipher_for(organization).encrypt_text("Synthetic Person Name", **PLACE)

    assert b"Synthetic" not in token


def test_bytes_round_trip_and_memoryview_from_postgres(organization):
    cipher = cipher_for(organization)
    token = cipher.encrypt_bytes(b"\x00synthetic\xff", **PLACE)

    assert cipher.decrypt_bytes(memoryview(token), **PLACE) == b"\x00synthetic\xff"


def test_row_key_may_be_a_uuid_or_its_text(organization):
    cipher = cipher_for(organization)
    row_key = uuid.uuid4()
    token = cipher.encrypt_text("synthetic", table="t", column="c", row_key=row_key)

    assert cipher.decrypt_text(token, table="t", column="c", row_key=str(row_key)) == "synthetic"


def test_ciphertext_header_names_the_active_key(organization):
    cipher = cipher_for(organization)

    token = cipher.encrypt_text("synthetic", **PLACE)

    assert token[0] == crypto.TOKEN_VERSION
    assert token_key_id(token) == cipher.key_id
    assert token[2 : 2 + len(cipher.key_id)] == cipher.key_id.encode()


def test_flipping_a_byte_is_detected(organization):
    cipher = cipher_for(organization)
    token = bytearray(cipher.encrypt_text("synthetic", **PLACE))
    token[-5] ^= 0x01

    with pytest.raises(crypto.DecryptionError):
        cipher.decrypt_text(bytes(token), **PLACE)


@pytest.mark.parametrize(
    ("_case", "change"),
    [
        ("swapped into another row", {"row_key": str(uuid.uuid4())}),
        ("swapped into another column", {"column": "member_id_ciphertext"}),
        ("swapped into another table", {"table": "billing_claim"}),
    ],
)
def test_a_ciphertext_moved_elsewhere_fails(organization, _case, change):
    cipher = cipher_for(organization)
    token = cipher.encrypt_text("synthetic", **PLACE)

    with pytest.raises(crypto.DecryptionError):
        cipher.decrypt_text(token, **{**PLACE, **change})


def test_another_organizations_ciphertext_does_not_open(organization, other_organization):
    token = cipher_for(other_organization).encrypt_text("synthetic", **PLACE)

    with pytest.raises(UnknownKeyError):
        cipher_for(organization).decrypt_text(token, **PLACE)


def test_a_wrapped_key_moved_to_another_organization_does_not_unwrap(
    organization, other_organization
):
    from phiwarden.vault.keys import MasterKeyError

    cipher_for(organization)
    cipher_for(other_organization)
    mine = DataKey.objects.get(organization=organization)
    theirs = DataKey.objects.get(organization=other_organization)
    DataKey.objects.filter(pk=theirs.pk).update(wrapped_key=bytes(mine.wrapped_key))

    with pytest.raises(MasterKeyError, match="does not unwrap"):
        cipher_for(other_organization)


def test_old_rows_stay_readable_after_rotation(organization):
    old = cipher_for(organization)
    token = old.encrypt_text("synthetic", **PLACE)

    data_key_rotate(organization=organization, actor=None)
    new = cipher_for(organization)

    assert new.key_id != old.key_id
    assert new.decrypt_text(token, **PLACE) == "synthetic"
    assert token_key_id(new.encrypt_text("synthetic", **PLACE)) == new.key_id
    assert set(DataKey.objects.values_list("state", flat=True)) == {"active", "retiring"}


# --- Blind indexes -----------------------------------------------------------


def test_blind_index_is_deterministic(organization):
    value = crypto.normalize_identifier("syn-0001 23")

    assert cipher_for(organization).blind_index("billing.patient.member_id", value) == (
        cipher_for(organization).blind_index("billing.patient.member_id", "SYN000123")
    )


def test_blind_index_keys_are_separate_per_index_and_per_organization(
    organization, other_organization
):
    cipher = cipher_for(organization)

    member = cipher.blind_index("billing.patient.member_id", "SYN0001")
    account = cipher.blind_index("billing.claim.account_number", "SYN0001")
    elsewhere = cipher_for(other_organization).blind_index("billing.patient.member_id", "SYN0001")

    assert len({member, account, elsewhere}) == 3
    assert len(member) == 16


def test_blind_index_does_not_change_when_the_data_key_rotates(organization):
    before = cipher_for(organization).blind_index("billing.patient.member_id", "SYN0001")

    data_key_rotate(organization=organization, actor=None)

    assert cipher_for(organization).blind_index("billing.patient.member_id", "SYN0001") == before


@pytest.mark.parametrize(("_case", "index"), [("empty", ""), ("too long", "x" * 101)])
def test_blind_index_names_are_checked(organization, _case, index):
    with pytest.raises(crypto.CryptoError):
        cipher_for(organization).blind_index(index, "SYN0001")
