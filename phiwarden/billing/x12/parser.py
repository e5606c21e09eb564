"""Read 837P, 837I and 835 files into typed values, one claim at a time.

    with open(path, "rb") as f:
        for claim in parse_837(f):
            ...

Everything is a generator: a 50,000-claim file is never in memory at once. Any other
transaction set (270/271, 276/277, 834, 999, 837 dental, ...) is refused with an
`X12Error` at its ST segment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from phiwarden.billing.x12 import values as v
from phiwarden.billing.x12.errors import ErrorCode, X12Error
from phiwarden.billing.x12.models import (
    Claim,
    ClaimKind,
    FunctionalGroup,
    Interchange,
    ParsedItem,
    RemittanceItem,
)
from phiwarden.billing.x12.parse835 import parse_835_transaction
from phiwarden.billing.x12.parse837 import parse_837_transaction
from phiwarden.billing.x12.reader import CHUNK_SIZE, BinaryReadable, Segment, SegmentReader

SUPPORTED = "PHI Warden imports 837P, 837I and 835"
# GS08 prefixes: the HIPAA guides (X222A1, X223A2, X221A1) and their relabelled successors
# (X222A2, X223A3), which some trading partners and test corpora use for the same layout.
_GUIDES: dict[tuple[str, str], ClaimKind | None] = {
    ("837", "005010X222"): "837P",
    ("837", "005010X223"): "837I",
    ("835", "005010X221"): None,
}
_SAFE_CODE = re.compile(r"[0-9A-Z]{1,12}")


def _group(segment: Segment) -> FunctionalGroup:
    return FunctionalGroup(
        functional_id=segment.get(1),
        sender_code=segment.get(2),
        receiver_code=segment.get(3),
        date=v.date(segment, 4),
        time=v.time(segment, 5),
        control_number=segment.get(6),
        version=segment.get(8),
    )


def _unsupported(st: Segment, version: str) -> X12Error:
    """The refusal for a transaction set PHI Warden does not import.

    Only transaction set ids and guide names that look like codes are echoed: they are
    envelope codes, not values about a person.
    """
    set_id = st.get(1)
    shown = set_id if _SAFE_CODE.fullmatch(set_id) and set_id.isdigit() else "(unreadable)"
    if set_id in ("837", "835") and _SAFE_CODE.fullmatch(version):
        reason = f"unsupported implementation guide {version} for {set_id}; {SUPPORTED}"
    else:
        reason = f"unsupported transaction set {shown}; {SUPPORTED}"
    return X12Error(st.number, ErrorCode.UNSUPPORTED, reason)


def _kind_of(st: Segment, group: FunctionalGroup) -> tuple[str, ClaimKind | None]:
    set_id = st.get(1)
    version = st.get(3) or group.version
    key = (set_id, version[:10])
    if key not in _GUIDES:
        raise _unsupported(st, version)
    return set_id, _GUIDES[key]


def parse_x12(stream: BinaryReadable, *, chunk_size: int = CHUNK_SIZE) -> Iterator[ParsedItem]:
    """Every claim, claim payment and provider adjustment in the file, in file order."""
    reader = SegmentReader(stream, chunk_size=chunk_size)
    segments = iter(reader)
    interchange: Interchange | None = None
    group: FunctionalGroup | None = None
    for segment in segments:
        sid = segment.elements[0]
        if sid == "ISA":
            interchange = v.interchange(segment)
        elif sid == "GS":
            group = _group(segment)
        elif sid == "ST":
            if interchange is None or group is None:  # pragma: no cover - the reader checks
                raise X12Error(segment.number, ErrorCode.STRUCTURE, "ST outside GS")
            set_id, kind = _kind_of(segment, group)
            component = reader.delimiters.component if reader.delimiters else ":"
            if set_id == "835":
                yield from parse_835_transaction(
                    segment, segments, interchange=interchange, group=group, component=component
                )
            else:
                yield from parse_837_transaction(
                    segment,
                    segments,
                    interchange=interchange,
                    group=group,
                    kind=kind or "837P",
                    component=component,
                )


def parse_837(stream: BinaryReadable, *, chunk_size: int = CHUNK_SIZE) -> Iterator[Claim]:
    """Claims of an 837P or 837I file; an 835 in it is refused."""
    for item in parse_x12(stream, chunk_size=chunk_size):
        if not isinstance(item, Claim):
            raise X12Error(0, ErrorCode.UNSUPPORTED, "expected an 837 file but found an 835")
        yield item


def parse_835(stream: BinaryReadable, *, chunk_size: int = CHUNK_SIZE) -> Iterator[RemittanceItem]:
    """Claim payments and provider adjustments of an 835 file; an 837 in it is refused."""
    for item in parse_x12(stream, chunk_size=chunk_size):
        if isinstance(item, Claim):
            raise X12Error(0, ErrorCode.UNSUPPORTED, "expected an 835 file but found an 837")
        yield item
