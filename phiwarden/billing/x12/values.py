"""Element conversions shared by the parsers; errors name positions, never values."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from phiwarden.billing.x12.errors import ErrorCode, X12Error
from phiwarden.billing.x12.models import Address, Interchange, Name
from phiwarden.billing.x12.reader import Segment

_NUMBER = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
# Amounts and dates repeat a great deal within a file (fees, service dates); Decimal and
# date are immutable, so good values are shared. Bounded: cleared when full.
_CACHE_LIMIT = 4096
_numbers: dict[str, Decimal] = {}
_dates: dict[str, dt.date] = {}


def where(segment: Segment, position: int) -> str:
    return f"{segment.id}{position:02d}"


def required(segment: Segment, position: int) -> str:
    elements = segment[1]  # `segment.get(position)`, inlined (hot: once per amount/date)
    value = elements[position] if position < len(elements) else ""
    if not value:
        raise X12Error(
            segment.number, ErrorCode.MISSING_ELEMENT, f"{where(segment, position)} is required"
        )
    return value


def number(segment: Segment, position: int) -> Decimal:
    elements = segment[1]
    value = elements[position] if position < len(elements) else ""
    found = _numbers.get(value)
    if found is not None:
        return found
    value = required(segment, position)
    if _NUMBER.fullmatch(value) is None:
        raise X12Error(
            segment.number, ErrorCode.BAD_NUMBER, f"{where(segment, position)} is not a number"
        )
    if len(_numbers) >= _CACHE_LIMIT:
        _numbers.clear()
    found = _numbers[value] = Decimal(value)
    return found


def optional_number(segment: Segment, position: int) -> Decimal | None:
    return number(segment, position) if segment.get(position) else None


def integer(segment: Segment, position: int) -> int:
    value = required(segment, position)
    if not value.isdigit() or not value.isascii():
        raise X12Error(
            segment.number, ErrorCode.BAD_NUMBER, f"{where(segment, position)} is not a number"
        )
    return int(value)


def parse_date(segment: Segment, position: int, text: str) -> dt.date:
    """CCYYMMDD (or YYMMDD in the ISA, read as 20YY)."""
    found = _dates.get(text)
    if found is not None:
        return found
    if len(_dates) >= _CACHE_LIMIT:
        _dates.clear()
    try:
        if len(text) == 6 and text.isdigit() and text.isascii():
            return dt.date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))
        if len(text) == 8 and text.isdigit() and text.isascii():
            found = _dates[text] = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
            return found
    except ValueError:
        pass
    raise X12Error(
        segment.number, ErrorCode.BAD_DATE, f"{where(segment, position)} is not a valid date"
    )


def date(segment: Segment, position: int) -> dt.date:
    return parse_date(segment, position, required(segment, position))


def optional_date(segment: Segment, position: int) -> dt.date | None:
    value = segment.get(position)
    return parse_date(segment, position, value) if value else None


def parse_time(segment: Segment, position: int, text: str) -> dt.time:
    """HHMM or HHMMSS (fractional seconds are dropped)."""
    digits = text[:6]
    try:
        if len(digits) in (4, 6) and digits.isdigit() and digits.isascii():
            second = int(digits[4:6]) if len(digits) == 6 else 0
            return dt.time(int(digits[:2]), int(digits[2:4]), second)
    except ValueError:
        pass
    raise X12Error(
        segment.number, ErrorCode.BAD_DATE, f"{where(segment, position)} is not a valid time"
    )


def time(segment: Segment, position: int) -> dt.time:
    return parse_time(segment, position, required(segment, position))


def date_range(segment: Segment, position: int) -> tuple[dt.date, dt.date | None]:
    """A DTP/DTM date in D8 (one date) or RD8 (CCYYMMDD-CCYYMMDD) format."""
    text = required(segment, position)
    if len(text) == 17 and text[8] == "-":
        return (
            parse_date(segment, position, text[:8]),
            parse_date(segment, position, text[9:]),
        )
    return parse_date(segment, position, text[:8] if len(text) == 12 else text), None


def name(segment: Segment) -> Name:
    """NM102-NM107 of an NM1 segment."""
    elements = segment[1]
    if len(elements) < 8:
        elements = elements + [""] * (8 - len(elements))
    return Name(elements[3], elements[4], elements[5], elements[7], elements[2])


def address(n3: Segment | None, n4: Segment) -> Address:
    street = [*n3[1][1:3], "", ""] if n3 else ["", ""]
    place = [*n4[1][1:5], "", "", "", ""]
    return Address(street[0], street[1], place[0], place[1], place[2], place[3])


def interchange(segment: Segment) -> Interchange:
    return Interchange(
        sender_qualifier=segment.get(5).strip(),
        sender_id=segment.get(6).strip(),
        receiver_qualifier=segment.get(7).strip(),
        receiver_id=segment.get(8).strip(),
        date=date(segment, 9),
        time=time(segment, 10),
        control_number=segment.get(13).strip(),
        acknowledgment_requested=segment.get(14) == "1",
        usage_indicator=segment.get(15),
    )


def first_phone(segment: Segment) -> str:
    """The first TE number of a PER segment (PER03/04, 05/06 or 07/08)."""
    for position in (3, 5, 7):
        if segment.get(position) == "TE":
            return segment.get(position + 1)
    return ""
