"""Password rules after NIST SP 800-63B 5.1.1.2 (memorized secrets).

No composition rules; length is what matters. Refuse what an attacker tries
first: repetitive or sequential strings and words tied to this service. The
common-passwords list (a breach corpus) comes from Django's CommonPasswordValidator.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

MAX_PASSWORD_LENGTH = 256  # 800-63B asks for at least 64; a bound keeps hashing cheap

CONTEXT_WORDS = ("phiwarden", "phi warden", "hipaa", "password", "passw0rd", "billing", "letmein")
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb",
)


class MaximumLengthValidator:
    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > MAX_PASSWORD_LENGTH:
            raise ValidationError(
                f"This password is longer than {MAX_PASSWORD_LENGTH} characters.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Up to {MAX_PASSWORD_LENGTH} characters; a passphrase of several words is ideal."


def _is_repetitive(password: str) -> bool:
    """True when the password is one short unit repeated ("aaaaaaaaaaaa", "abcabcabcabc")."""
    for size in range(1, len(password) // 2 + 1):
        unit = password[:size]
        if len(password) % size == 0 and unit * (len(password) // size) == password:
            return True
    return False


def _is_sequential(password: str) -> bool:
    lowered = password.lower()
    for sequence in _SEQUENCES:
        for source in (sequence, sequence[::-1]):
            if len(lowered) >= 6 and lowered in source * 2:
                return True
    return False


def _distinct_ratio(password: str) -> float:
    """Distinct characters per character, counting at most 24 characters: a long passphrase
    reuses the letters of its words, and must not be taken for a repeated string."""
    return len(set(password)) / min(len(password), 24) if password else 0.0


class BreachedLookingPasswordValidator:
    def validate(self, password: str, user: Any = None) -> None:
        lowered = password.lower()
        if _is_repetitive(password) or _distinct_ratio(password) < 0.25:
            raise ValidationError(
                "This password repeats the same characters; choose something less predictable.",
                code="password_repetitive",
            )
        if _is_sequential(password):
            raise ValidationError(
                "This password is a keyboard or alphabet sequence.", code="password_sequential"
            )
        stripped = "".join(ch for ch in lowered if ch.isalpha() or ch == " ")
        for word in CONTEXT_WORDS:
            if word in lowered and len(stripped.replace(word, "").strip()) < 6:
                raise ValidationError(
                    "This password is built on a word that attackers try first for this service.",
                    code="password_context_word",
                )

    def get_help_text(self) -> str:
        return "It cannot be a repeated, sequential or service-specific string."
