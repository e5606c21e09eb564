"""The pure primitives under field encryption: tokens, wrapping, HKDF, blind indexes and
the normalizers. All values are synthetic."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phiwarden.core import crypto

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
AD = crypto.field_associated_data(table="billing_patient", column="name", row_key="row-1")


@given(plaintext=st.binary(max_size=2048))
def test_seal_then_open_returns_the_plaintext(plaintext):
    token = crypto.seal(KEY, "dk_test", plaintext, AD)

    assert crypto.open_sealed(KEY, token, AD) == plaintext


def test_token_starts_with_the_version_byte_and_the_key_id():
    token = crypto.seal(KEY, "dk_0123456789abcdef", b"synthetic", AD)

    assert token[0] == crypto.TOKEN_VERSION
    assert token[1] == len("dk_0123456789abcdef")
    assert token[2:21] == b"dk_0123456789abcdef"
    assert crypto.token_header(token).key_id == "dk_0123456789abcdef"


def test_the_same_plaintext_encrypts_differently_each_time():
    assert crypto.seal(KEY, "dk_test", b"synthetic", AD) != crypto.seal(
        KEY, "dk_test", b"synthetic", AD
    )


@given(data=st.data())
def test_flipping_any_bit_of_a_token_is_detected(data):
    token = bytearray(crypto.seal(KEY, "dk_test", b"synthetic value", AD))
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    token[position] ^= 1 << bit

    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(KEY, bytes(token), AD)


@pytest.mark.parametrize(
    ("_case", "table", "column", "row_key"),
    [
        ("another row", "billing_patient", "name", "row-2"),
        ("another column", "billing_patient", "member_id", "row-1"),
        ("another table", "billing_claim", "name", "row-1"),
    ],
)
def test_a_token_opens_only_in_its_own_place(_case, table, column, row_key):
    token = crypto.seal(KEY, "dk_test", b"synthetic", AD)
    elsewhere = crypto.field_associated_data(table=table, column=column, row_key=row_key)

    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(KEY, token, elsewhere)


def test_a_token_does_not_open_under_another_key():
    token = crypto.seal(KEY, "dk_test", b"synthetic", AD)

    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(OTHER_KEY, token, AD)


def test_renaming_the_key_id_in_the_header_is_detected():
    token = crypto.seal(KEY, "dk_aaaa", b"synthetic", AD)
    renamed = token[:2] + b"dk_bbbb" + token[9:]

    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(KEY, renamed, AD)


@pytest.mark.parametrize(
    ("_case", "token"),
    [
        ("empty", b""),
        ("unknown version", bytes([9, 3]) + b"abc" + bytes(40)),
        ("too short for nonce and tag", bytes([1, 3]) + b"abc" + bytes(10)),
        ("zero-length key id", bytes([1, 0]) + bytes(40)),
        ("key id not ASCII", bytes([1, 2]) + b"\xff\xfe" + bytes(40)),
    ],
)
def test_malformed_tokens_are_refused(_case, token):
    with pytest.raises(crypto.DecryptionError):
        crypto.token_header(token)


def test_associated_data_parts_cannot_be_shifted():
    """("ab", "c") and ("a", "bc") must not bind alike."""
    assert crypto.encode_parts("ab", "c") != crypto.encode_parts("a", "bc")
    assert crypto.field_associated_data(
        table="t", column="ab", row_key="c"
    ) != crypto.field_associated_data(table="t", column="a", row_key="bc")


def test_wrapped_key_unwraps_only_with_its_context_and_wrapping_key():
    data_key = crypto.new_key()
    wrapped = crypto.wrap_key(KEY, data_key, b"org-1")

    assert crypto.unwrap_key(KEY, wrapped, b"org-1") == data_key
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_key(KEY, wrapped, b"org-2")
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_key(OTHER_KEY, wrapped, b"org-1")


def test_keys_must_be_32_bytes():
    with pytest.raises(crypto.CryptoError):
        crypto.seal(b"short", "dk_test", b"x", AD)


def test_derived_keys_differ_by_purpose_and_are_stable():
    assert crypto.derive_key(KEY, info=b"a") == crypto.derive_key(KEY, info=b"a")
    assert crypto.derive_key(KEY, info=b"a") != crypto.derive_key(KEY, info=b"b")
    assert crypto.derive_key(KEY, info=b"a") != KEY


def test_key_fingerprint_is_short_public_and_distinguishes_keys():
    fingerprint = crypto.key_fingerprint(KEY, label=b"master")

    assert len(fingerprint) == 16
    assert fingerprint != crypto.key_fingerprint(OTHER_KEY, label=b"master")
    assert KEY.hex()[:16] != fingerprint


@given(value=st.text(max_size=64))
def test_blind_index_is_deterministic_and_truncated(value):
    index = crypto.blind_index(KEY, value)

    assert index == crypto.blind_index(KEY, value)
    assert len(index) == 2 * crypto.BLIND_INDEX_BYTES
    assert index != crypto.blind_index(OTHER_KEY, value)


def test_blind_index_distinguishes_values():
    assert crypto.blind_index(KEY, "SYNTH0001") != crypto.blind_index(KEY, "SYNTH0002")


# --- Normalizers ---------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "raw", "normalized"),
    [
        ("case and spaces", "  jane   q  synthetic ", "JANE Q SYNTHETIC"),
        ("accents", "Zoë Ñúñez", "ZOE NUNEZ"),
        ("apostrophe", "O'Testperson", "OTESTPERSON"),
        ("hyphenated", "Testa-Sample", "TESTA SAMPLE"),
        ("en dash", "Testa\u2013Sample", "TESTA SAMPLE"),
        ("period", "St. Example", "ST EXAMPLE"),
    ],
)
def test_normalize_name(_case, raw, normalized):
    assert crypto.normalize_name(raw) == normalized


@pytest.mark.parametrize(
    ("_case", "raw", "normalized"),
    [
        ("dashes and spaces", "syn-123 456", "SYN123456"),
        ("already clean", "SYN123456", "SYN123456"),
        ("full-width", "\uff33\uff39\uff2e\uff11\uff12\uff13", "SYN123"),
        ("tabs", "syn\t123", "SYN123"),
    ],
)
def test_normalize_identifier(_case, raw, normalized):
    assert crypto.normalize_identifier(raw) == normalized


@given(value=st.text(max_size=40))
def test_normalizers_are_idempotent(value):
    assert crypto.normalize_name(crypto.normalize_name(value)) == crypto.normalize_name(value)
    once = crypto.normalize_identifier(value)
    assert crypto.normalize_identifier(once) == once


@pytest.mark.parametrize(
    ("_case", "raw"),
    [
        ("ISO", "1990-02-03"),
        ("X12 D8", "19900203"),
        ("US", "02/03/1990"),
        ("padded", " 1990-02-03 "),
        ("date object", datetime.date(1990, 2, 3)),
    ],
)
def test_normalize_date(_case, raw):
    assert crypto.normalize_date(raw) == "1990-02-03"


def test_normalize_date_error_does_not_repeat_the_value():
    with pytest.raises(ValueError, match="YYYY-MM-DD") as error:
        crypto.normalize_date("31.12.1999")

    assert "1999" not in str(error.value)


def test_normalize_date_refuses_a_datetime():
    with pytest.raises(ValueError, match="datetime"):
        crypto.normalize_date(datetime.datetime(1990, 2, 3, tzinfo=datetime.UTC))


@given(day=st.dates())
def test_normalize_date_round_trips_iso(day):
    assert crypto.normalize_date(crypto.normalize_date(day)) == day.isoformat()
