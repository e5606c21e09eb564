"""Check digits and never-issued ranges for the identifiers that appear in X12 files."""

from __future__ import annotations

# The NPI check digit is the Luhn check digit of the nine identifier digits prefixed with
# 80840 (the ISO 7812 issuer prefix for US health applications): CMS, "Requirements for
# National Provider Identifier check digit".
NPI_PREFIX = "80840"


def luhn_check_digit(digits: str) -> int:
    """The Luhn check digit to append to `digits`."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:  # doubled: the rightmost payload digit sits next to the check digit
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def npi_check_digit(first_nine: str) -> int:
    if len(first_nine) != 9 or not first_nine.isdigit():
        raise ValueError("an NPI has nine digits before its check digit")
    return luhn_check_digit(NPI_PREFIX + first_nine)


def is_valid_npi(npi: str) -> bool:
    """Ten ASCII digits whose last is the Luhn check digit over 80840 + the first nine."""
    return (
        len(npi) == 10
        and npi.isascii()
        and npi.isdigit()
        and npi_check_digit(npi[:9]) == int(npi[9])
    )


def is_never_issued_ssn(ssn: str) -> bool:
    """An SSN in a range the Social Security Administration never assigns: area 000, 666
    or 900-999, group 00 or serial 0000. Synthetic data uses only these."""
    digits = ssn.replace("-", "")
    if len(digits) != 9 or not digits.isdigit():
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area in ("000", "666") or area >= "900" or group == "00" or serial == "0000"
