"""TOTP secrets and recovery-code seeds are stored encrypted under a key derived from the
master key; secrets stored in clear before still work and are encrypted by --rewrap."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import generate_totp_secret
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client as HttpClient

from phiwarden.accounts.tests.factories import is_signed_in, totp_code, totp_enable
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.conftest import PASSWORD
from phiwarden.vault import keys, mfa

pytestmark = pytest.mark.django_db

AUTHENTICATE = "/accounts/2fa/authenticate/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and used TOTP codes live in the cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def mfa_organization(organization):
    organization.mfa_required = True
    organization.save(update_fields=["mfa_required"])
    return organization


def stored_secret(user) -> str:
    secret: str = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"]
    return secret


def log_in_with_code(user, secret: str) -> HttpClient:
    client = HttpClient()
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response["Location"] == AUTHENTICATE
    response = client.post(AUTHENTICATE, {"code": totp_code(secret)})
    assert response.status_code == 302, response.content[:300]
    assert is_signed_in(client)
    return client


def test_a_totp_secret_is_not_stored_in_clear(owner):
    secret = totp_enable(owner.user)

    stored = stored_secret(owner.user)
    assert stored != secret
    assert secret not in stored
    assert stored.startswith(f"pwmfa1:{keys.current_master_key().key_id}:")


def test_log_in_with_a_code_still_works(mfa_organization, owner):
    secret = totp_enable(owner.user)

    log_in_with_code(owner.user, secret)

    assert AuditEvent.objects.filter(event_code=EventCode.LOGIN_SUCCEEDED).count() == 1


def test_a_wrong_code_is_still_refused(mfa_organization, owner):
    secret = totp_enable(owner.user)
    client = HttpClient()
    client.post("/accounts/login/", {"login": owner.user.email, "password": PASSWORD})
    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"

    response = client.post(AUTHENTICATE, {"code": wrong})

    assert response.status_code == 200
    assert not AuditEvent.objects.filter(event_code=EventCode.LOGIN_SUCCEEDED).exists()


def test_recovery_code_seeds_are_encrypted_and_codes_still_check(owner):
    codes = RecoveryCodes.activate(owner.user)

    stored = Authenticator.objects.get(user=owner.user, type=Authenticator.Type.RECOVERY_CODES)
    assert mfa.is_encrypted(stored.data["seed"])
    first = codes.get_unused_codes()[0]
    assert RecoveryCodes(stored).validate_code(first)


def test_a_secret_stored_in_clear_before_still_works_and_rewrap_encrypts_it(
    mfa_organization, owner
):
    secret = generate_totp_secret()
    Authenticator.objects.create(
        user=owner.user, type=Authenticator.Type.TOTP, data={"secret": secret}
    )
    log_in_with_code(owner.user, secret)

    call_command("rotate_keys", "--rewrap")

    assert mfa.is_encrypted(stored_secret(owner.user))
    assert mfa.decrypt_secret(stored_secret(owner.user)) == secret
    event = AuditEvent.objects.get(event_code=EventCode.VAULT_MFA_SECRETS_REWRAPPED)
    assert event.data["authenticators"] == 1
    cache.clear()  # the code just used may not be used twice
    with time_machine.travel(datetime(2026, 3, 2, 9, 1, tzinfo=UTC), tick=False):
        log_in_with_code(owner.user, secret)


def test_migrated_recovery_codes_stored_in_clear_are_encrypted_by_rewrap(owner):
    Authenticator.objects.create(
        user=owner.user,
        type=Authenticator.Type.RECOVERY_CODES,
        data={"migrated_codes": ["11111111", "22222222"], "used_mask": 0},
    )

    call_command("rotate_keys", "--rewrap")

    stored = Authenticator.objects.get(user=owner.user).data["migrated_codes"]
    assert all(mfa.is_encrypted(code) for code in stored)
    assert [mfa.decrypt_secret(code) for code in stored] == ["11111111", "22222222"]


def test_master_key_rotation_moves_mfa_secrets_to_the_new_key(mfa_organization, owner, settings):
    secret = totp_enable(owner.user)
    settings.PHI_MASTER_KEY_PREVIOUS = settings.PHI_MASTER_KEY
    settings.PHI_MASTER_KEY = os.urandom(32)

    call_command("rotate_keys", "--rewrap")
    settings.PHI_MASTER_KEY_PREVIOUS = None

    assert stored_secret(owner.user).startswith(f"pwmfa1:{keys.current_master_key().key_id}:")
    log_in_with_code(owner.user, secret)


def test_a_wrong_master_key_refuses_to_decrypt(owner, settings):
    totp_enable(owner.user)
    settings.PHI_MASTER_KEY = os.urandom(32)

    with pytest.raises(keys.MasterKeyError, match="refusing to decrypt"):
        mfa.decrypt_secret(stored_secret(owner.user))
