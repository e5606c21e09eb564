"""The one exception the X12 layer raises for bad input.

Element values can be PHI (names, member IDs, dates of birth), so an `X12Error` names only
the segment number, segment ids, element positions, counts and a reason chosen from fixed
wording. Never format an element value into `reason`: the message reaches logs, the audit
trail's error fields and the operator's screen.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Why a file was refused; stable strings that scripts and the UI can match on."""

    EMPTY = "empty"  # no bytes, or only whitespace and a byte-order mark
    ENCODING = "encoding"  # bytes that are not UTF-8 / UTF-16, or control characters
    NO_ISA = "no_isa"  # the data does not begin with an ISA segment
    BAD_ISA = "bad_isa"  # the ISA is not the fixed 106 characters, or its delimiters clash
    BAD_SEGMENT = "bad_segment"  # a segment id that is not 2-3 upper-case letters/digits
    TRUNCATED = "truncated"  # the file ends inside a segment or an envelope
    UNEXPECTED_SEGMENT = "unexpected_segment"  # a segment where the envelope forbids it
    COUNT_MISMATCH = "count_mismatch"  # SE01, GE01 or IEA01 disagrees with what was read
    CONTROL_MISMATCH = "control_mismatch"  # SE02, GE02 or IEA02 disagrees with its header
    UNSUPPORTED = "unsupported"  # a transaction set or guide PHI Warden does not import
    MISSING_ELEMENT = "missing_element"  # a required element is empty
    BAD_NUMBER = "bad_number"  # an amount or count that is not a number
    BAD_DATE = "bad_date"  # a date or time that is not a real calendar date / clock time
    BAD_VALUE = "bad_value"  # an element outside its code list where the parser needs it
    STRUCTURE = "structure"  # loops out of order (a claim before its subscriber, ...)


class X12Error(ValueError):
    """An X12 file (or part of one) that PHI Warden will not import.

    `segment_number` is 1-based over the whole file (the first ISA is segment 1); 0 means
    the file as a whole (for example an empty file).
    """

    def __init__(self, segment_number: int, code: ErrorCode, reason: str) -> None:
        self.segment_number = segment_number
        self.code = code
        self.reason = reason
        super().__init__(f"segment {segment_number}: {reason} [{code.value}]")

    def __reduce__(self) -> tuple[type[X12Error], tuple[int, ErrorCode, str]]:
        return (type(self), (self.segment_number, self.code, self.reason))
