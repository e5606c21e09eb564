"""The streaming reader: encodings, delimiters, layouts, envelopes and refusals."""

from __future__ import annotations

import codecs
import contextlib
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phiwarden.billing.tests.test_x12_fixtures import (
    PHI_MEMBER_ID,
    PHI_NAME,
    SEGMENTS_835,
    SEGMENTS_837P,
    x12,
)
from phiwarden.billing.x12 import ErrorCode, X12Error, parse_837, parse_x12, read_segments


def _ids(data: bytes, chunk_size: int = 1 << 16) -> list[str]:
    return [s.id for s in read_segments(io.BytesIO(data), chunk_size=chunk_size)]


def _error(data: bytes) -> X12Error:
    with pytest.raises(X12Error) as info:
        list(parse_x12(io.BytesIO(data)))
    message = str(info.value)
    assert PHI_NAME not in message
    assert PHI_MEMBER_ID not in message
    return info.value


EXPECTED_IDS = [s.split("*", 1)[0] for s in SEGMENTS_837P]


@pytest.mark.parametrize(
    ("_case", "data"),
    [
        ("one line", x12(SEGMENTS_837P, "")),
        ("newline after terminator", x12(SEGMENTS_837P, "\n")),
        ("crlf after terminator", x12(SEGMENTS_837P, "\r\n")),
        ("pretty printed", x12(SEGMENTS_837P, "\n    ")),
        ("utf-8 bom", codecs.BOM_UTF8 + x12(SEGMENTS_837P)),
        ("utf-16 le bom", codecs.BOM_UTF16_LE + "\n".join(SEGMENTS_837P).encode("utf-16-le")),
        ("utf-16 be bom", codecs.BOM_UTF16_BE + "\n".join(SEGMENTS_837P).encode("utf-16-be")),
        ("utf-16 le, no bom", "\n".join(SEGMENTS_837P).encode("utf-16-le")),
        ("leading blank lines", b"\n\n" + x12(SEGMENTS_837P)),
    ],
)
def test_layouts_and_encodings_read_the_same_segments(_case, data):
    assert _ids(data) == EXPECTED_IDS


def test_newline_as_segment_terminator():
    segments = [s[:-1] for s in SEGMENTS_837P]
    segments[0] = segments[0][:-1] + ":\n"  # the ISA's 106th character is the terminator
    data = "\n".join(s.rstrip("\n") for s in segments).encode() + b"\n"
    assert _ids(data) == EXPECTED_IDS


def test_other_delimiters_are_read_from_the_isa():
    table = str.maketrans({"*": "|", ":": ">", "~": "\x1c", "^": "!"})
    data = "".join(s.translate(table) for s in SEGMENTS_837P).encode()
    reader_ids = _ids(data)
    claim = next(parse_837(io.BytesIO(data)))
    procedure = claim.service_lines[0].procedure
    assert reader_ids == EXPECTED_IDS
    assert procedure is not None
    assert procedure.modifiers == ("25",)


@pytest.mark.parametrize("chunk_size", [1, 7, 106, 4096])
def test_small_chunks_split_anywhere(chunk_size):
    assert _ids(x12(SEGMENTS_837P), chunk_size) == EXPECTED_IDS


def test_segments_are_numbered_from_one():
    numbers = [s.number for s in read_segments(io.BytesIO(x12(SEGMENTS_837P)))]
    assert numbers == list(range(1, len(SEGMENTS_837P) + 1))


def _replace(segments: list[str], prefix: str, new: str) -> list[str]:
    return [new if s.startswith(prefix) else s for s in segments]


@pytest.mark.parametrize(
    ("_case", "data", "number", "code"),
    [
        ("empty file", b"", 0, ErrorCode.EMPTY),
        ("only whitespace and bom", codecs.BOM_UTF8 + b"  \r\n", 0, ErrorCode.EMPTY),
        ("preamble text", b"Example 1\n" + x12(SEGMENTS_837P), 1, ErrorCode.NO_ISA),
        ("binary garbage", bytes(range(256)) * 4, 1, ErrorCode.NO_ISA),
        (
            "short ISA",
            x12(_replace(SEGMENTS_837P, "ISA", SEGMENTS_837P[0].replace("PHIWSYNTH      ", "X"))),
            1,
            ErrorCode.BAD_ISA,
        ),
        ("truncated ISA", x12(SEGMENTS_837P)[:60], 1, ErrorCode.TRUNCATED),
        (
            "SE count wrong",
            x12(_replace(SEGMENTS_837P, "SE*", "SE*31*0001~")),
            34,
            ErrorCode.COUNT_MISMATCH,
        ),
        (
            "SE control number wrong",
            x12(_replace(SEGMENTS_837P, "SE*", "SE*32*0002~")),
            34,
            ErrorCode.CONTROL_MISMATCH,
        ),
        (
            "GE control number wrong",
            x12(_replace(SEGMENTS_837P, "GE*", "GE*1*9~")),
            35,
            ErrorCode.CONTROL_MISMATCH,
        ),
        (
            "IEA group count wrong",
            x12(_replace(SEGMENTS_837P, "IEA*", "IEA*2*000000001~")),
            36,
            ErrorCode.COUNT_MISMATCH,
        ),
        (
            "IEA control number wrong",
            x12(_replace(SEGMENTS_837P, "IEA*", "IEA*1*000000002~")),
            36,
            ErrorCode.CONTROL_MISMATCH,
        ),
        ("file ends before SE", x12(SEGMENTS_837P[:20]), 21, ErrorCode.TRUNCATED),
        ("file ends inside a segment", x12(SEGMENTS_837P)[:-3], 36, ErrorCode.TRUNCATED),
        (
            "segment outside ST",
            x12([*SEGMENTS_837P[:2], SEGMENTS_837P[15], *SEGMENTS_837P[2:]]),
            3,
            ErrorCode.UNEXPECTED_SEGMENT,
        ),
        (
            "control character in a name",
            x12(_replace(SEGMENTS_837P, "NM1*IL", f"NM1*IL*1*{PHI_NAME}\x07*X****MI*1~")),
            16,
            ErrorCode.ENCODING,
        ),
        (
            "invalid utf-8 in a name",
            x12(SEGMENTS_837P).replace(PHI_NAME.encode(), PHI_NAME.encode() + b"\xff"),
            16,
            ErrorCode.ENCODING,
        ),
        (
            "bad segment id",
            x12(_replace(SEGMENTS_837P, "DMG", f"d{PHI_NAME}*D8*19330215*F~")),
            19,
            ErrorCode.BAD_SEGMENT,
        ),
        (
            "bad date of birth",
            x12(_replace(SEGMENTS_837P, "DMG", "DMG*D8*19331345*F~")),
            19,
            ErrorCode.BAD_DATE,
        ),
        (
            "charge is not a number",
            x12(_replace(SEGMENTS_837P, "CLM", f"CLM*PW1*{PHI_NAME}***11:B:1*Y*A*Y*Y~")),
            22,
            ErrorCode.BAD_NUMBER,
        ),
    ],
)
def test_malformed_input_is_refused_with_its_segment_number(_case, data, number, code):
    error = _error(data)
    assert (error.code, error.segment_number) == (code, number)


def test_error_messages_name_positions_not_values():
    data = x12(_replace(SEGMENTS_837P, "DMG", "DMG*D8*19331345*F~"))
    error = _error(data)
    assert str(error) == "segment 19: DMG02 is not a valid date [bad_date]"
    assert "19331345" not in str(error)


@pytest.mark.parametrize("set_id", ["270", "271", "276", "277", "834", "999"])
def test_unsupported_transaction_sets_are_refused_by_name(set_id):
    segments = _replace(SEGMENTS_835, "ST*", f"ST*{set_id}*0001~")
    error = _error(x12(segments))
    assert error.code == ErrorCode.UNSUPPORTED
    assert error.segment_number == 3
    assert error.reason == (
        f"unsupported transaction set {set_id}; PHI Warden imports 837P, 837I and 835"
    )


def test_837_dental_is_refused():
    segments = _replace(SEGMENTS_837P, "ST*", "ST*837*0001*005010X224A2~")
    assert _error(x12(segments)).code == ErrorCode.UNSUPPORTED


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_x12_error(data):
    with contextlib.suppress(X12Error):
        list(parse_x12(io.BytesIO(data)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from([x12(SEGMENTS_837P), x12(SEGMENTS_835, "")]),
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=2000), st.binary(max_size=3)),
        min_size=1,
        max_size=4,
    ),
    cut=st.booleans(),
)
def test_mutated_files_raise_only_x12_error(base, edits, cut):
    data = bytearray(base)
    for position, replacement in edits:
        position %= len(data)
        data[position : position + len(replacement)] = replacement
    if cut:
        data = data[: len(data) // 2]
    message = ""
    try:
        list(parse_x12(io.BytesIO(bytes(data))))
    except X12Error as error:
        message = str(error)
    assert PHI_NAME not in message
