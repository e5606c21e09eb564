"""The password policy after NIST SP 800-63B 5.1.1.2, through AUTH_PASSWORD_VALIDATORS.

Length is what matters (12 to 256); no composition rules; refuse what attackers try
first: common passwords, repetition, sequences and words tied to this service.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from phiwarden.accounts.models import User

WORDS = "quiet river carries small paper boats past the old mill while a heron waits"


def passphrase(length: int) -> str:
    """A natural passphrase of exactly `length` characters (words repeat, as they do)."""
    text = WORDS
    while len(text) < length:
        text += " " + WORDS
    return text[:length].rstrip() + "x" * (length - len(text[:length].rstrip()))


def refusal_codes(password: str, user: User | None = None) -> list[str]:
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        return [str(e.code) for e in error.error_list]
    return []


ACCEPTED = [
    ("exactly 12 characters", "maple violet"),
    ("all lowercase passphrase, no digits or symbols", "correct horse battery staple"),
    ("64 character passphrase", passphrase(64)),
    ("150 character passphrase", passphrase(150)),
    ("256 characters, the maximum", passphrase(256)),
    ("a context word inside a long passphrase", "our hipaa binder lives on the third shelf"),
    ("digits that are not a sequence", "7391 lantern 2846 meadow"),
]


@pytest.mark.parametrize(("_case", "password"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_policy_accepts(_case, password):
    assert refusal_codes(password) == []


REFUSED = [
    ("11 characters", "maple viole", "password_too_short"),
    ("257 characters", passphrase(257), "password_too_long"),
    ("on Django's common-password list", "finalfantasy", "password_too_common"),
    ("on the list, any case", "LeaveMeAlone", "password_too_common"),
    ("one character repeated", "aaaaaaaaaaaaaaaa", "password_repetitive"),
    ("a short unit repeated", "abc1abc1abc1abc1", "password_repetitive"),
    ("nearly one character", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz1", "password_repetitive"),
    ("alphabet sequence", "abcdefghijklmn", "password_sequential"),
    ("digit sequence", "1234567890123", "password_sequential"),
    ("reversed digit sequence", "9876543210987", "password_sequential"),
    ("keyboard row", "qwertyuiopasdf", "password_sequential"),
    ("the service name", "phiwarden2024!", "password_context_word"),
    ("hipaa with digits", "hipaa12345678", "password_context_word"),
    ("billing twice", "billingbilling1", "password_context_word"),
]


@pytest.mark.parametrize(("_case", "password", "code"), REFUSED, ids=[c[0] for c in REFUSED])
def test_policy_refuses(_case, password, code):
    assert code in refusal_codes(password)


SIMILAR = [
    ("the address", "harriet.quinlan@example"),
    ("the full name", "Harriet Quinlan 2026"),
]


@pytest.mark.parametrize(("_case", "password"), SIMILAR, ids=[c[0] for c in SIMILAR])
def test_password_like_the_user_is_refused(_case, password):
    user = User(email="harriet.quinlan@example.test", full_name="Harriet Quinlan")

    assert refusal_codes(password, user=user) == ["password_too_similar"]


def test_refusals_explain_themselves():
    # given a password that breaks several rules at once
    with pytest.raises(ValidationError) as refused:
        validate_password("qqqqqqqqx")

    # then each broken rule is named in plain words
    assert refused.value.messages == [
        "This password is too short. It must contain at least 12 characters.",
        "This password repeats the same characters; choose something less predictable.",
    ]


def test_passphrase_helper_makes_the_length_asked():
    assert [len(passphrase(n)) for n in (64, 150, 256, 257)] == [64, 150, 256, 257]
