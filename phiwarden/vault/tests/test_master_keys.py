"""The master key: a wrong one fails closed without naming a secret; a rotated one is
handled with PHI_MASTER_KEY_PREVIOUS and `rotate_keys --rewrap`."""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from django.core.management import CommandError, call_command

from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.core.tests.test_settings_and_headers import VALID, import_settings, refusal
from phiwarden.vault import keys
from phiwarden.vault.models import DataKey, IndexKey
from phiwarden.vault.services import cipher_for, data_key_rotate
from phiwarden.vault.tests.conftest import master_key_text

PLACE = {"table": "billing_patient", "column": "name_ciphertext", "row_key": str(uuid.uuid4())}


def _secret_spellings(key: bytes) -> list[str]:
    return [master_key_text(key), base64.b64encode(key).decode(), key.hex()]


@pytest.mark.django_db
def test_a_wrong_master_key_fails_closed_and_names_no_secret(organization, settings):
    original = settings.PHI_MASTER_KEY
    data_key = cipher_for(organization).key_id
    wrong = os.urandom(32)
    settings.PHI_MASTER_KEY = wrong

    with pytest.raises(keys.MasterKeyError) as error:
        cipher_for(organization)

    message = str(error.value)
    assert data_key in message
    assert keys.master_key_id(original) in message
    assert "PHI_MASTER_KEY_PREVIOUS" in message
    for spelling in _secret_spellings(original) + _secret_spellings(wrong):
        assert spelling not in message


@pytest.mark.django_db
def test_a_wrong_master_key_makes_the_command_fail_with_the_same_clear_error(
    organization, settings
):
    cipher_for(organization)
    settings.PHI_MASTER_KEY = os.urandom(32)

    with pytest.raises(CommandError, match="refusing to decrypt"):
        call_command("rotate_keys", "--new-data-key", "--org", organization.slug, "--no-progress")


@pytest.mark.django_db
def test_a_master_key_with_the_right_fingerprint_but_altered_wrapping_fails_closed(organization):
    cipher_for(organization)
    key = DataKey.objects.get(organization=organization)
    altered = bytearray(bytes(key.wrapped_key))
    altered[20] ^= 0x01
    DataKey.objects.filter(pk=key.pk).update(wrapped_key=bytes(altered))

    with pytest.raises(keys.MasterKeyError, match="does not unwrap"):
        cipher_for(organization)


@pytest.mark.django_db
def test_rewrap_moves_every_key_to_the_new_master_key(
    organization, other_organization, settings, new_master_key
):
    old_master = settings.PHI_MASTER_KEY
    token = cipher_for(organization).encrypt_text("synthetic", **PLACE)
    index = cipher_for(organization).blind_index("billing.patient.member_id", "SYN0001")
    data_key_rotate(organization=organization, actor=None)  # two data keys to re-wrap
    cipher_for(other_organization)

    # the operator installs the new key and keeps the old one as the previous key
    settings.PHI_MASTER_KEY = new_master_key
    settings.PHI_MASTER_KEY_PREVIOUS = old_master
    assert cipher_for(organization).decrypt_text(token, **PLACE) == "synthetic"
    call_command("rotate_keys", "--rewrap")

    # every key is under the new master key, and the old one is no longer needed
    new_id = keys.master_key_id(new_master_key)
    assert set(DataKey.objects.values_list("master_key_id", flat=True)) == {new_id}
    assert set(IndexKey.objects.values_list("master_key_id", flat=True)) == {new_id}
    settings.PHI_MASTER_KEY_PREVIOUS = None
    cipher = cipher_for(organization)
    assert cipher.decrypt_text(token, **PLACE) == "synthetic"
    assert cipher.blind_index("billing.patient.member_id", "SYN0001") == index
    events = AuditEvent.objects.filter(event_code=EventCode.VAULT_KEYS_REWRAPPED)
    assert {e.organization_id for e in events} == {organization.pk, other_organization.pk}
    assert events.get(organization=organization).data["master_key_id"] == new_id


@pytest.mark.django_db
def test_rewrap_is_idempotent(organization, settings, new_master_key):
    cipher_for(organization)
    settings.PHI_MASTER_KEY_PREVIOUS = settings.PHI_MASTER_KEY
    settings.PHI_MASTER_KEY = new_master_key
    call_command("rotate_keys", "--rewrap")
    count = AuditEvent.objects.filter(event_code=EventCode.VAULT_KEYS_REWRAPPED).count()

    call_command("rotate_keys", "--rewrap")

    assert AuditEvent.objects.filter(event_code=EventCode.VAULT_KEYS_REWRAPPED).count() == count


@pytest.mark.django_db
def test_rewrap_without_the_previous_key_refuses_and_changes_nothing(
    organization, settings, new_master_key
):
    cipher_for(organization)
    before = list(DataKey.objects.values_list("wrapped_key", "master_key_id"))
    settings.PHI_MASTER_KEY = new_master_key

    with pytest.raises(CommandError, match="neither PHI_MASTER_KEY nor PHI_MASTER_KEY_PREVIOUS"):
        call_command("rotate_keys", "--rewrap")

    after = list(DataKey.objects.values_list("wrapped_key", "master_key_id"))
    assert [(bytes(w), m) for w, m in after] == [(bytes(w), m) for w, m in before]


@pytest.mark.django_db
def test_status_lists_keys_and_flags_those_needing_rewrap(organization, settings, capsys):
    cipher_for(organization)
    settings.PHI_MASTER_KEY_PREVIOUS = settings.PHI_MASTER_KEY
    settings.PHI_MASTER_KEY = os.urandom(32)

    call_command("rotate_keys", "--status")

    output = capsys.readouterr().out
    assert "synthetic-billing: data key dk_" in output
    assert "needs --rewrap" in output


# --- Settings ---------------------------------------------------------------


def test_previous_master_key_setting_is_validated_and_named(tmp_path):
    result = import_settings(tmp_path, {**VALID, "PHI_MASTER_KEY_PREVIOUS": "c2hvcnQ="})

    assert refusal(result) == "PHI_MASTER_KEY_PREVIOUS must decode to exactly 32 bytes (AES-256)"


def test_previous_master_key_is_read_from_a_file(tmp_path):
    previous = tmp_path / "previous_key"
    previous.write_text(master_key_text(b"p" * 32) + "\n")
    code = "import config.settings as s; print(s.PHI_MASTER_KEY_PREVIOUS == b'p' * 32)"

    result = import_settings(
        tmp_path, {**VALID, "PHI_MASTER_KEY_PREVIOUS_FILE": str(previous)}, code=code
    )

    assert result.stdout.strip() == "True", result.stderr


def test_previous_master_key_is_none_when_unset(tmp_path):
    code = "import config.settings as s; print(s.PHI_MASTER_KEY_PREVIOUS)"

    result = import_settings(tmp_path, VALID, code=code)

    assert result.stdout.strip() == "None", result.stderr
