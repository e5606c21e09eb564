"""Encrypted TOTP secrets and recovery-code seeds (closes a gap in docs/threat-model.md).

allauth stores MFA secrets through its adapter's `encrypt()` and `decrypt()` hooks; the
default stores them in clear, so anyone holding a database backup could generate a
member's codes. Users span organizations, so these secrets are not under an
organization's data key but under a key derived (HKDF) from the master key itself.

A stored value is ``pwmfa1:<master key fingerprint>:<base64url(nonce || ciphertext)>``.
A value without the prefix is a secret stored before this adapter existed (base32 TOTP
secrets and hex seeds never contain ':'); it is still accepted, and
`rotate_keys --rewrap` encrypts it (`mfa_secrets_rewrap`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.db import transaction

from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.core import crypto
from phiwarden.vault import keys

PREFIX = "pwmfa1"
_INFO = b"phiwarden.mfa-secrets.v1"
_ASSOCIATED = b"phiwarden.mfa-secret.v1"
# Which keys of Authenticator.data pass through encrypt()/decrypt() in allauth 65.
_SECRET_FIELDS = ("secret", "seed")
_SECRET_LISTS = ("migrated_codes",)


def _key(master: keys.MasterKey) -> bytes:
    return crypto.derive_key(master.key, info=_INFO)


def encrypt_secret(text: str) -> str:
    master = keys.current_master_key()
    sealed = crypto.aead_encrypt(_key(master), text.encode("utf-8"), _ASSOCIATED)
    return f"{PREFIX}:{master.key_id}:{base64.urlsafe_b64encode(sealed).decode('ascii')}"


def is_encrypted(value: str) -> bool:
    return value.startswith(PREFIX + ":")


def decrypt_secret(value: str) -> str:
    if not is_encrypted(value):
        return value  # stored in clear before this adapter; `rotate_keys --rewrap` fixes it
    try:
        _, fingerprint, encoded = value.split(":", 2)
        sealed = base64.urlsafe_b64decode(encoded.encode("ascii"))
    except (ValueError, binascii.Error) as error:
        raise crypto.DecryptionError("stored MFA secret is malformed") from error
    master = keys.master_keys().get(fingerprint)
    if master is None:
        raise keys.MasterKeyError(
            f"an MFA secret was encrypted under master key {fingerprint}, which is neither "
            "PHI_MASTER_KEY nor PHI_MASTER_KEY_PREVIOUS: refusing to decrypt"
        )
    return crypto.aead_decrypt(_key(master), sealed, _ASSOCIATED).decode("utf-8")


def _needs_rewrap(value: Any, current_id: str) -> bool:
    return isinstance(value, str) and not value.startswith(f"{PREFIX}:{current_id}:")


class SecretEncryptingMFAAdapter(DefaultMFAAdapter):  # type: ignore[misc]
    def encrypt(self, text: str) -> str:
        return encrypt_secret(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_secret(encrypted_text)


def mfa_secrets_rewrap() -> int:
    """Encrypt secrets still stored in clear, and re-encrypt those under a previous master
    key, with the current one. Returns how many authenticators changed; one audit event."""
    current_id = keys.current_master_key().key_id
    changed = 0
    with transaction.atomic():
        for authenticator in Authenticator.objects.select_for_update().order_by("pk"):
            data = dict(authenticator.data)
            touched = False
            for name in _SECRET_FIELDS:
                if _needs_rewrap(data.get(name), current_id):
                    data[name] = encrypt_secret(decrypt_secret(data[name]))
                    touched = True
            for name in _SECRET_LISTS:
                values = data.get(name)
                if isinstance(values, list) and any(_needs_rewrap(v, current_id) for v in values):
                    data[name] = [encrypt_secret(decrypt_secret(v)) for v in values]
                    touched = True
            if touched:
                authenticator.data = data
                authenticator.save(update_fields=["data"])
                changed += 1
        if changed:
            audit_event_record(
                actor=None,
                organization=None,
                event_code=EventCode.VAULT_MFA_SECRETS_REWRAPPED,
                data={"authenticators": changed, "master_key_id": current_id},
            )
    return changed
