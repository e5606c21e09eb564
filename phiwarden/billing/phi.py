"""Sealing PHI values into billing rows and opening them again.

Every encrypted column's token is bound to (table, column, row_key) (vault), so a value
copied into another row or column does not decrypt. Blind indexes are computed from
normalized values with one index name per meaning, so a member id and an account number
that happen to be equal do not match each other. Only this module and the selectors
touch `*_ct` columns; nothing else decrypts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from django.db import models

from phiwarden.core.crypto import normalize_identifier, normalize_name
from phiwarden.vault.registry import table_name
from phiwarden.vault.services import OrganizationCipher

# Blind-index names: one key per meaning (vault derives a key for each).
INDEX_NAME_DOB = "billing.patient.name_dob"
INDEX_MEMBER_ID = "billing.coverage.member_id"
INDEX_ACCOUNT = "billing.claim.account_number"
INDEX_PAYER_CLAIM = "billing.claim.payer_claim_number"


def seal(cipher: OrganizationCipher, row: models.Model, column: str, value: Any) -> bytes | None:
    """Encrypt a value (str, date, or JSON-able) for `row.column`; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        text = value.isoformat()
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return cipher.encrypt_text(
        text,
        table=table_name(row),
        column=column,
        row_key=getattr(row, "row_key"),  # noqa: B009
    )


def open_text(cipher: OrganizationCipher, row: models.Model, column: str, token: Any) -> str | None:
    if token is None:
        return None
    return cipher.decrypt_text(
        bytes(token),
        table=table_name(row),
        column=column,
        row_key=getattr(row, "row_key"),  # noqa: B009
    )


def open_json(cipher: OrganizationCipher, row: models.Model, column: str, token: Any) -> Any:
    text = open_text(cipher, row, column, token)
    return json.loads(text) if text is not None else None


def open_date(
    cipher: OrganizationCipher, row: models.Model, column: str, token: Any
) -> dt.date | None:
    text = open_text(cipher, row, column, token)
    return dt.date.fromisoformat(text) if text else None


def name_dob_index(
    cipher: OrganizationCipher, last: str, first: str, birth_date: dt.date | None
) -> str:
    """Exact-match key of a person: last name, first name and date of birth."""
    joined = "|".join(
        [normalize_name(last), normalize_name(first), birth_date.isoformat() if birth_date else ""]
    )
    return cipher.blind_index(INDEX_NAME_DOB, joined)


def identifier_index(cipher: OrganizationCipher, index: str, value: str) -> str:
    return cipher.blind_index(index, normalize_identifier(value)) if value else ""


def age_on(birth_date: dt.date | None, day: dt.date) -> str:
    """Whole years; 90 and older collapse to "90+" (Safe Harbor, 45 CFR 164.514(b)(2)(i)(C))."""
    if birth_date is None:
        return ""
    years = day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
    return "90+" if years >= 90 else str(years)


def name_text(name: Mapping[str, str] | None) -> str:
    if not name:
        return ""
    parts = [name.get("last", ""), name.get("first", "")]
    text = ", ".join(p for p in parts if p)
    if name.get("middle"):
        text += f" {name['middle']}"
    if name.get("suffix"):
        text += f" {name['suffix']}"
    return text
