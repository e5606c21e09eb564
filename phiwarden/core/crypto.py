"""Pure cryptographic primitives for field encryption (DESIGN.md, "Field encryption").

Nothing here touches the database or settings: `phiwarden.vault` holds the keys and
calls these functions. 45 CFR 164.312(a)(2)(iv) (encryption and decryption) and
164.312(e)(2)(ii) (encryption of what leaves the system) are served by AES-256-GCM
from `cryptography`; docs/adr/0005-field-encryption.md explains the choices.

A field token (the bytes stored in an encrypted column) is::

    offset 0      1 byte    version (TOKEN_VERSION)
    offset 1      1 byte    n, the length of the key id
    offset 2      n bytes   key id (ASCII) of the data key that sealed it
    offset 2+n    12 bytes  random nonce
    offset 14+n   rest      AES-256-GCM ciphertext and its 16-byte tag

The header (version and key id) is part of the associated data, as is the caller's
context (table, column, row key), so a token moved to another row or column, or given
another key id, fails to open.

Error messages never carry a key, a plaintext or a ciphertext.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
import re
import secrets
import struct
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
TAG_BYTES = 16
TOKEN_VERSION = 1
MAX_KEY_ID_LENGTH = 64
# Blind indexes are HMAC-SHA256 truncated to 8 bytes (16 hex characters); see the ADR.
BLIND_INDEX_BYTES = 8

_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class CryptoError(Exception):
    """A cryptographic operation failed. The message names no secret and no value."""


class DecryptionError(CryptoError):
    """A ciphertext did not open: wrong key, wrong context, or tampered bytes."""


# --- Keys ----------------------------------------------------------------


def new_key() -> bytes:
    """32 random bytes from the operating system's CSPRNG."""
    return os.urandom(KEY_BYTES)


def new_key_id(prefix: str) -> str:
    """A random, public key identifier such as ``dk_3f9a0c1d2e4b5a69``."""
    return f"{prefix}_{secrets.token_hex(8)}"


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise CryptoError("a key must be exactly 32 bytes")


def derive_key(secret: bytes, *, info: bytes, salt: bytes | None = None) -> bytes:
    """HKDF-SHA256 (RFC 5869): a 32-byte subkey of `secret` for one purpose named by `info`."""
    _check_key(secret)
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=info).derive(secret)


def key_fingerprint(key: bytes, *, label: bytes) -> str:
    """A public identifier of a secret key (16 hex characters), one-way: it tells which key
    wrapped a row without revealing anything usable about the key."""
    _check_key(key)
    return hmac.new(key, b"phiwarden.key-fingerprint.v1\x00" + label, hashlib.sha256).hexdigest()[
        :16
    ]


def encode_parts(*parts: str | bytes) -> bytes:
    """Unambiguous encoding of several strings: each is length-prefixed (4 bytes, big
    endian), so ("ab", "c") and ("a", "bc") never encode alike."""
    out = bytearray()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        out += struct.pack(">I", len(data)) + data
    return bytes(out)


# --- Field tokens --------------------------------------------------------


@dataclass(frozen=True)
class TokenHeader:
    version: int
    key_id: str
    length: int  # bytes taken by the header


def _header_bytes(key_id: str) -> bytes:
    if not _KEY_ID.match(key_id):
        raise CryptoError("a key id is 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-'")
    encoded = key_id.encode("ascii")
    return bytes([TOKEN_VERSION, len(encoded)]) + encoded


def token_header(token: bytes) -> TokenHeader:
    """Read the version and key id of a field token without decrypting it."""
    if len(token) < 2:
        raise DecryptionError("ciphertext is too short")
    version, length = token[0], token[1]
    if version != TOKEN_VERSION:
        raise DecryptionError(f"ciphertext has unknown version {version}")
    end = 2 + length
    if length == 0 or len(token) < end + NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("ciphertext is too short")
    try:
        key_id = token[2:end].decode("ascii")
    except UnicodeDecodeError as error:
        raise DecryptionError("ciphertext has a malformed key id") from error
    if not _KEY_ID.match(key_id):
        raise DecryptionError("ciphertext has a malformed key id")
    return TokenHeader(version=version, key_id=key_id, length=end)


def seal(key: bytes, key_id: str, plaintext: bytes, associated_data: bytes) -> bytes:
    """Encrypt `plaintext` under `key`; the token names `key_id` and binds `associated_data`."""
    _check_key(key)
    header = _header_bytes(key_id)
    nonce = os.urandom(NONCE_BYTES)
    body = AESGCM(key).encrypt(nonce, plaintext, header + associated_data)
    return header + nonce + body


def open_sealed(key: bytes, token: bytes, associated_data: bytes) -> bytes:
    """Decrypt a token made by `seal`. Raises DecryptionError on any mismatch or tamper."""
    _check_key(key)
    header = token_header(token)
    nonce = token[header.length : header.length + NONCE_BYTES]
    body = token[header.length + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, token[: header.length] + associated_data)
    except InvalidTag as error:
        raise DecryptionError(
            "ciphertext failed authentication (wrong key, wrong row or column, or tampered)"
        ) from error


def field_associated_data(*, table: str, column: str, row_key: str) -> bytes:
    """What binds a field token to its place: table, column and the row's random key."""
    if not table or not column or not row_key:
        raise CryptoError("table, column and row_key are all required")
    return encode_parts("phiwarden.field.v1", table, column, row_key)


# --- Nonce-first AEAD and key wrapping ---------------------------------------


def aead_encrypt(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """AES-256-GCM with a random nonce, returned as nonce || ciphertext || tag."""
    _check_key(key)
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def aead_decrypt(key: bytes, data: bytes, associated_data: bytes) -> bytes:
    _check_key(key)
    if len(data) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("ciphertext is too short")
    try:
        return AESGCM(key).decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], associated_data)
    except InvalidTag as error:
        raise DecryptionError("ciphertext failed authentication") from error


def wrap_key(wrapping_key: bytes, key: bytes, associated_data: bytes) -> bytes:
    """Envelope: `key` encrypted under `wrapping_key`, bound to `associated_data`."""
    _check_key(key)
    return aead_encrypt(wrapping_key, key, associated_data)


def unwrap_key(wrapping_key: bytes, wrapped: bytes, associated_data: bytes) -> bytes:
    if len(wrapped) != NONCE_BYTES + KEY_BYTES + TAG_BYTES:
        raise DecryptionError("wrapped key has the wrong length")
    return aead_decrypt(wrapping_key, wrapped, associated_data)


# --- Blind indexes -------------------------------------------------------


def blind_index(key: bytes, value: str) -> str:
    """Keyed HMAC-SHA256 of an already normalized value, truncated to BLIND_INDEX_BYTES,
    as lowercase hex. Equal values give equal indexes; nothing else is revealed."""
    _check_key(key)
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).digest()
    return digest[:BLIND_INDEX_BYTES].hex()


# --- Normalizers for blind-indexed values ---------------------------------
# Callers normalize before both indexing and searching, so that the two agree.


def _is_dash(character: str) -> bool:
    return unicodedata.category(character) == "Pd" or character == "\u2212"  # dashes, minus


def _until_stable(step: Callable[[str], str], value: str) -> str:
    """Repeat a normalization step until it changes nothing, so normalizing twice gives the
    same result as once (dropping a character can let Unicode compose the ones around it)."""
    for _ in range(8):
        following = step(value)
        if following == value:
            return value
        value = following
    return value


def _name_step(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    without_marks = "".join(c for c in decomposed if not unicodedata.combining(c))
    spaced = "".join(" " if c.isspace() or _is_dash(c) else c for c in without_marks)
    kept = "".join(c for c in spaced if c.isalnum() or c == " ")
    return " ".join(kept.upper().split())


def normalize_name(value: str) -> str:
    """Person names: accents dropped, upper case, letters and digits kept, hyphens and
    runs of white space become one space, other punctuation (O'Brien, St. John) dropped."""
    return _until_stable(_name_step, value)


def _identifier_step(value: str) -> str:
    folded = unicodedata.normalize("NFKC", value).upper()
    return "".join(c for c in folded if not c.isspace() and not _is_dash(c))


def normalize_identifier(value: str) -> str:
    """Member ids, account and claim numbers: upper case, spaces and dashes removed."""
    return _until_stable(_identifier_step, value)


_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y")


def normalize_date(value: datetime.date | str) -> str:
    """ISO 8601 (YYYY-MM-DD) from a date or from YYYY-MM-DD, CCYYMMDD (X12 D8) or
    MM/DD/YYYY. A datetime is refused: its date depends on a time zone. The error never
    repeats the value (it may be a date of birth)."""
    if isinstance(value, datetime.datetime):
        raise ValueError("normalize_date takes a date, not a datetime")
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.datetime.strptime(text, fmt)  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
        return parsed.date().isoformat()
    raise ValueError("date is not YYYY-MM-DD, CCYYMMDD or MM/DD/YYYY")
