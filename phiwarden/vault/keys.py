"""The master keys from settings, and wrapping of data and index keys under them.

`PHI_MASTER_KEY` wraps every key; `PHI_MASTER_KEY_PREVIOUS` is set only while an operator
rotates the master key, so that keys it wrapped can still be unwrapped and re-wrapped
(`rotate_keys --rewrap`). Each wrapped key records the fingerprint of the master key
that wrapped it, so a wrong or missing master key fails closed with a clear error.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.conf import settings

from phiwarden.core import crypto

_FINGERPRINT_LABEL = b"master"


class MasterKeyError(crypto.CryptoError):
    """The configured master key cannot open a wrapped key. Names no secret."""


@dataclass(frozen=True)
class MasterKey:
    key: bytes
    key_id: str  # public fingerprint
    setting: str  # which setting it came from, for error messages


@functools.lru_cache(maxsize=8)
def master_key_id(key: bytes) -> str:
    # Every PHI read asks for the configured master keys' ids (cipher_for); the HMAC is a
    # pure function of the key, so it is computed once per key and process.
    return crypto.key_fingerprint(key, label=_FINGERPRINT_LABEL)


def current_master_key() -> MasterKey:
    key: bytes = settings.PHI_MASTER_KEY
    return MasterKey(key=key, key_id=master_key_id(key), setting="PHI_MASTER_KEY")


def master_keys() -> dict[str, MasterKey]:
    """Every configured master key by fingerprint: the current one and, during a
    rotation, the previous one."""
    keys = {}
    previous: bytes | None = getattr(settings, "PHI_MASTER_KEY_PREVIOUS", None)
    if previous:
        old = MasterKey(key=previous, key_id=master_key_id(previous), setting="PREVIOUS")
        keys[old.key_id] = old
    current = current_master_key()
    keys[current.key_id] = current
    return keys


def _wrap_context(kind: str, organization_id: int, key_id: str) -> bytes:
    # A wrapped key moved to another organization's row, or renamed, no longer unwraps.
    return crypto.encode_parts("phiwarden.wrapped-key.v1", kind, str(organization_id), key_id)


def wrap(*, kind: str, organization_id: int, key_id: str, key: bytes) -> tuple[bytes, str]:
    """Wrap `key` under the current master key; returns (wrapped bytes, master key id)."""
    master = current_master_key()
    wrapped = crypto.wrap_key(master.key, key, _wrap_context(kind, organization_id, key_id))
    return wrapped, master.key_id


def unwrap(
    *, kind: str, organization_id: int, key_id: str, wrapped: bytes, wrapped_by: str
) -> bytes:
    """Unwrap a stored key, or raise MasterKeyError naming the key id and the fingerprint
    of the master key it needs (fingerprints are one-way; no secret is named)."""
    master = master_keys().get(wrapped_by)
    if master is None:
        raise MasterKeyError(
            f"{kind} key {key_id} was wrapped by master key {wrapped_by}, which is neither "
            "PHI_MASTER_KEY nor PHI_MASTER_KEY_PREVIOUS: refusing to decrypt "
            "(see docs/operations/keys.md)"
        )
    try:
        return crypto.unwrap_key(
            master.key, bytes(wrapped), _wrap_context(kind, organization_id, key_id)
        )
    except crypto.DecryptionError as error:
        raise MasterKeyError(
            f"{kind} key {key_id} does not unwrap under master key {wrapped_by}: the row "
            "was altered or moved (see docs/operations/keys.md)"
        ) from error
