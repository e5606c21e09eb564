"""The per-process cache of unwrapped organization keys (`cipher_for`): reused while the
key rows and master keys are unchanged, never once they change (rotation, re-wrap, a wrong
or tampered key), bounded in time and in size."""

from __future__ import annotations

import os
import uuid

import pytest

from phiwarden.accounts.models import Organization
from phiwarden.vault import keys, services
from phiwarden.vault.models import DataKey
from phiwarden.vault.services import cipher_for, data_key_rotate, keys_rewrap, token_key_id

pytestmark = pytest.mark.django_db

PLACE = {"table": "billing_patient", "column": "name_ciphertext", "row_key": str(uuid.uuid4())}


@pytest.fixture
def unwraps(monkeypatch) -> list[str]:
    """The key ids unwrapped under the master key, in order."""
    seen: list[str] = []
    real = keys.unwrap

    def counting(**kwargs):
        seen.append(kwargs["key_id"])
        return real(**kwargs)

    monkeypatch.setattr(keys, "unwrap", counting)
    return seen


def test_a_second_read_reuses_the_unwrapped_keys_with_one_query(
    organization, unwraps, django_assert_num_queries
):
    first = cipher_for(organization)
    assert unwraps == [first.key_id]

    with django_assert_num_queries(1):  # the key rows, to see that nothing changed
        second = cipher_for(organization)

    assert second is first
    assert unwraps == [first.key_id]


def test_rotation_is_seen_at_once_old_values_still_open_new_ones_use_the_new_key(organization):
    before = cipher_for(organization)
    token = before.encrypt_text("Synthetic Person", **PLACE)

    new = data_key_rotate(organization=organization, actor=None)

    after = cipher_for(organization)
    assert after.key_id == new.key_id != before.key_id
    assert after.decrypt_text(token, **PLACE) == "Synthetic Person"
    assert token_key_id(after.encrypt_text("Synthetic Person", **PLACE)) == new.key_id


def test_a_rotation_by_another_process_is_seen_without_an_explicit_clear(organization, monkeypatch):
    """Another worker's rotation clears only its own cache; this one sees the new rows."""
    old = cipher_for(organization)
    token = old.encrypt_text("Synthetic Person", **PLACE)
    monkeypatch.setattr(services, "cipher_cache_clear", lambda organization_id=None: None)

    new = data_key_rotate(organization=organization, actor=None)

    current = cipher_for(organization)
    assert current.key_id == new.key_id
    assert token_key_id(current.encrypt_text("x", **PLACE)) == new.key_id
    assert current.decrypt_text(token, **PLACE) == "Synthetic Person"


def test_a_rewrap_under_a_new_master_key_is_seen_and_the_old_master_can_go(
    organization, settings, new_master_key
):
    cipher = cipher_for(organization)
    token = cipher.encrypt_text("Synthetic Person", **PLACE)
    settings.PHI_MASTER_KEY_PREVIOUS = settings.PHI_MASTER_KEY
    settings.PHI_MASTER_KEY = new_master_key

    keys_rewrap(actor=None)
    settings.PHI_MASTER_KEY_PREVIOUS = None

    assert cipher_for(organization).decrypt_text(token, **PLACE) == "Synthetic Person"


def test_a_wrong_master_key_still_fails_closed_after_the_keys_were_cached(organization, settings):
    cipher_for(organization)
    settings.PHI_MASTER_KEY = os.urandom(32)

    with pytest.raises(keys.MasterKeyError):
        cipher_for(organization)


def test_a_tampered_wrapped_key_fails_closed_after_the_keys_were_cached(organization):
    cipher_for(organization)
    row = DataKey.objects.get(organization=organization)
    wrapped = bytearray(bytes(row.wrapped_key))
    wrapped[-1] ^= 1
    DataKey.objects.filter(pk=row.pk).update(wrapped_key=bytes(wrapped))

    with pytest.raises(keys.MasterKeyError):
        cipher_for(organization)


def test_cached_keys_expire(organization, unwraps, monkeypatch):
    monkeypatch.setattr(services, "CIPHER_CACHE_SECONDS", 0.0)  # expired as soon as made
    first = cipher_for(organization)

    again = cipher_for(organization)

    assert again is not first
    assert unwraps == [first.key_id, first.key_id]
    assert list(services._cipher_cache) == [organization.pk]


def test_the_cache_holds_a_bounded_number_of_organizations(organization, monkeypatch):
    monkeypatch.setattr(services, "CIPHER_CACHE_SIZE", 2)
    others = [
        Organization.objects.create(name=f"Synthetic {n}", slug=f"synthetic-{n}", is_synthetic=True)
        for n in range(3)
    ]

    for org in [organization, *others]:
        cipher_for(org)

    assert list(services._cipher_cache) == [others[1].pk, others[2].pk]


def test_organizations_never_share_a_cipher(organization, other_organization):
    mine, theirs = cipher_for(organization), cipher_for(other_organization)
    token = mine.encrypt_text("Synthetic Person", **PLACE)

    assert mine is not theirs
    assert mine.key_id != theirs.key_id
    with pytest.raises(services.UnknownKeyError):
        theirs.decrypt_text(token, **PLACE)


def _attached(organization: Organization) -> services.KeyRows:
    """The key rows as a hot read gets them: annotated onto a query of its own data."""
    row = (
        Organization.objects.filter(pk=organization.pk)
        .annotate(key_rows=services.key_rows_expression(organization.pk))
        .values_list("key_rows", flat=True)
        .get()
    )
    return services.KeyRows(row)


def test_key_rows_read_with_the_data_are_the_rows_cipher_for_reads(organization):
    cipher_for(organization)  # provisions the data and index keys
    data_key_rotate(organization=organization, actor=None)  # an active and a retiring key

    attached = _attached(organization)

    assert attached.rows == services._key_rows(organization)
    assert {row[0] for row in attached.rows} == {"active", "retiring", services.INDEX}


def test_attached_key_rows_save_the_query_and_still_see_a_rotation(
    organization, django_assert_num_queries
):
    first = cipher_for(organization)
    token = first.encrypt_text("Synthetic Person", **PLACE)

    rows = _attached(organization)
    with django_assert_num_queries(0):  # the rows came with the data: nothing to read
        assert cipher_for(organization, key_rows=rows) is first

    new = data_key_rotate(organization=organization, actor=None)
    current = cipher_for(organization, key_rows=_attached(organization))
    assert current.key_id == new.key_id != first.key_id
    assert current.decrypt_text(token, **PLACE) == "Synthetic Person"


def test_attached_rows_of_an_organization_without_keys_fall_back_to_provisioning(
    organization,
):
    empty = _attached(organization)
    assert empty.rows == ()

    cipher = cipher_for(organization, key_rows=empty)

    assert cipher.key_id == DataKey.objects.get(organization=organization).key_id
