"""Ed25519 keys for signing tree heads (the private key never enters the database)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def key_id_of(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_raw)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def signing_key_from_seed(seed_b64: str) -> SigningKey:
    seed = base64.urlsafe_b64decode(seed_b64.encode("ascii"))
    if len(seed) != 32:
        raise ValueError("an Ed25519 seed is 32 bytes")
    return SigningKey(Ed25519PrivateKey.from_private_bytes(seed))


def verify_signature(public_raw: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@lru_cache(maxsize=1)
def configured_signing_key() -> SigningKey:
    """The key from settings.AUDIT_SIGNING_KEY (env or _FILE); imported lazily for Django."""
    from django.conf import settings

    return signing_key_from_seed(settings.AUDIT_SIGNING_KEY)


def public_key_b64(key: SigningKey) -> str:
    return base64.b64encode(key.public_raw).decode()
