"""A streaming X12 segment reader with envelope checks.

The reader pulls the file in fixed-size chunks, so its memory is one chunk plus one segment
however large the file grows. It:

1. sniffs the encoding from the first bytes: UTF-8 (with or without a byte-order mark) or
   UTF-16 LE/BE (with a byte-order mark, or recognised from `I\\0S\\0A\\0`);
2. reads the element, repetition and component separators and the segment terminator
   from the fixed-width ISA (106 characters: the terminator is character 106);
3. splits on the terminator, strips whitespace between segments (newline-terminated and
   pretty-printed files), splits elements and yields `Segment`s numbered from 1;
4. checks the envelopes as it goes: ISA/IEA, GS/GE and ST/SE pair up, SE01/GE01/IEA01 count
   what was read and SE02/GE02/IEA02 repeat their header's control number.

Errors are `X12Error`s that never carry element values (see errors.py).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from itertools import chain, count, repeat
from operator import itemgetter
from typing import NamedTuple, Protocol

from phiwarden.billing.x12.errors import ErrorCode, X12Error

CHUNK_SIZE = 1 << 16
ISA_LENGTH = 106  # including the segment terminator
_ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
_ISA_SEPARATOR_POSITIONS = tuple(3 + sum(w + 1 for w in _ISA_WIDTHS[:i]) for i in range(16))
_ISA11_POSITION = 82
_ISA16_POSITION = 104
_WHITESPACE = " \t\r\n"
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_ENVELOPE_IDS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE", "TA1"})
_head_of = itemgetter(slice(0, 4))  # a segment's head: enough to tell its id apart
_new_tuple = tuple.__new__


class BinaryReadable(Protocol):
    """What the reader needs from a file: `read(n)` returning bytes (b"" at the end)."""

    def read(self, size: int = -1, /) -> bytes: ...


class Delimiters(NamedTuple):
    """The four delimiters of an interchange; `repetition` is "" before version 00501."""

    element: str = "*"
    repetition: str = "^"
    component: str = ":"
    segment: str = "~"


class Segment(NamedTuple):
    """One segment: `elements[0]` is the segment id, so `elements[1]` is XX01."""

    number: int
    elements: list[str]

    @property
    def id(self) -> str:
        return self.elements[0]

    def get(self, position: int) -> str:
        """Element `position` (1-based, as in `CLM05`), or "" when the segment is shorter."""
        elements = self.elements
        return elements[position] if position < len(elements) else ""


def _sniff(head: bytes) -> tuple[str, int]:
    """The encoding of the file and how many byte-order-mark bytes to skip."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    stripped = head.lstrip(b"\0 \t\r\n")
    if stripped.startswith(b"I\0S\0A\0"):
        return "utf-16-le", 0
    if stripped.startswith(b"S\0A\0") and head[: len(head) - len(stripped)].endswith(b"\0"):
        return "utf-16-be", 0
    return "utf-8", 0


def _decoded_chunks(stream: BinaryReadable, chunk_size: int) -> Iterator[str]:
    """The file as text, chunk by chunk.

    UTF-8 is decoded with `surrogateescape`, so stray bytes become lone surrogates that the
    segment check reports with an exact segment number; UTF-16 errors surface at once.
    """
    first = stream.read(chunk_size)
    if not isinstance(first, bytes):
        raise TypeError("the X12 reader needs a binary file object (open the file with 'rb')")
    encoding, skip = _sniff(first)
    errors = "surrogateescape" if encoding == "utf-8" else "strict"
    decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
    chunk = first[skip:]
    try:
        while chunk:
            text = decoder.decode(chunk)
            if text:
                yield text
            chunk = stream.read(chunk_size)
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise X12Error(0, ErrorCode.ENCODING, f"the file is not valid {encoding.upper()}") from None
    if tail:
        yield tail


def _delimiters_from_isa(isa: str, number: int) -> Delimiters:
    """Read the delimiters from the fixed-width ISA (`isa` is at least 106 characters)."""
    element = isa[3]
    if element.isalnum() or element in _WHITESPACE:
        raise X12Error(number, ErrorCode.BAD_ISA, "ISA element separator is a letter or space")
    for position in _ISA_SEPARATOR_POSITIONS:
        if isa[position] != element:
            raise X12Error(
                number,
                ErrorCode.BAD_ISA,
                f"ISA is not fixed-width: element separator expected at character {position + 1}"
                " (the ISA must be exactly 106 characters)",
            )
    version = isa[84:89]
    repetition = isa[_ISA11_POSITION] if version >= "00501" else ""
    component = isa[_ISA16_POSITION]
    terminator = isa[ISA_LENGTH - 1]
    delimiters = Delimiters(element, repetition, component, terminator)
    used = [d for d in delimiters if d]
    if len(set(used)) != len(used):
        raise X12Error(number, ErrorCode.BAD_ISA, "ISA delimiters are not all different")
    if any(d.isalnum() or (d in " \t" and d != terminator) for d in used):
        raise X12Error(number, ErrorCode.BAD_ISA, "ISA delimiter is a letter, digit or space")
    return delimiters


def _count(segment: Segment, position: int) -> int:
    value = segment.get(position)
    if not value.isdigit():
        raise X12Error(
            segment.number, ErrorCode.BAD_NUMBER, f"{segment.id}{position:02d} is not a count"
        )
    return int(value)


class _Envelope:
    """The ISA/GS/ST state machine; one instance per file."""

    __slots__ = (
        "gs_control",
        "gs_sets",
        "isa_control",
        "isa_groups",
        "st_control",
        "st_number",
        "state",
    )

    OUTSIDE, IN_ISA, IN_GS, IN_ST = range(4)

    def __init__(self) -> None:
        self.state = self.OUTSIDE
        self.isa_control = self.gs_control = self.st_control = ""
        self.isa_groups = self.gs_sets = self.st_number = 0

    def save(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def restore(self, saved: tuple[object, ...]) -> None:
        for name, value in zip(self.__slots__, saved, strict=True):
            setattr(self, name, value)

    def open_or_close(self, segment: Segment) -> None:
        """Check an envelope segment (or any segment outside ST/SE). The segment count of
        a transaction set follows from the numbers of its ST and SE."""
        sid = segment.id
        n = segment.number
        state = self.state
        if sid == "ISA" and state == self.OUTSIDE:
            self.state, self.isa_control, self.isa_groups = self.IN_ISA, segment.get(13), 0
        elif sid == "TA1" and state == self.IN_ISA:
            pass
        elif sid == "GS" and state == self.IN_ISA:
            self.state, self.gs_control, self.gs_sets = self.IN_GS, segment.get(6), 0
            self.isa_groups += 1
        elif sid == "ST" and state == self.IN_GS:
            self.state, self.st_control, self.st_number = self.IN_ST, segment.get(2), n
            self.gs_sets += 1
        elif sid == "SE" and state == self.IN_ST:
            st_count = n - self.st_number + 1
            self._close(segment, "SE", st_count, self.st_control, "segments in the transaction")
            self.state = self.IN_GS
        elif sid == "GE" and state == self.IN_GS:
            self._close(segment, "GE", self.gs_sets, self.gs_control, "transaction sets")
            self.state = self.IN_ISA
        elif sid == "IEA" and state == self.IN_ISA:
            self._close(segment, "IEA", self.isa_groups, self.isa_control, "functional groups")
            self.state = self.OUTSIDE
        else:
            raise X12Error(n, ErrorCode.UNEXPECTED_SEGMENT, self._misplaced(sid))

    def _misplaced(self, sid: str) -> str:
        where = ("outside an interchange", "inside ISA before GS", "inside GS", "inside ST")
        expected = ("ISA", "GS or IEA", "ST or GE", "SE")[self.state]
        return f"{sid} is not allowed {where[self.state]}; expected {expected}"

    @staticmethod
    def _close(segment: Segment, sid: str, counted: int, control: str, what: str) -> None:
        header = {"SE": "ST02", "GE": "GS06", "IEA": "ISA13"}[sid]
        declared = _count(segment, 1)
        if declared != counted:
            raise X12Error(
                segment.number,
                ErrorCode.COUNT_MISMATCH,
                f"{sid}01 declares {declared} {what} but {counted} were read",
            )
        if segment.get(2).strip() != control.strip():
            raise X12Error(
                segment.number, ErrorCode.CONTROL_MISMATCH, f"{sid}02 does not match {header}"
            )

    def finish(self, next_number: int) -> None:
        if self.state != self.OUTSIDE:
            missing = ("", "IEA", "GE", "SE")[self.state]
            raise X12Error(
                next_number,
                ErrorCode.TRUNCATED,
                f"the file ends inside an envelope: {missing} is missing",
            )


class SegmentReader:
    """Iterate over the segments of one X12 file read from a binary file object.

    `delimiters` is set once the first ISA has been read. Iterate once.
    """

    def __init__(self, stream: BinaryReadable, *, chunk_size: int = CHUNK_SIZE) -> None:
        self._stream = stream
        self._chunk_size = chunk_size
        self.delimiters: Delimiters | None = None

    def __iter__(self) -> Iterator[Segment]:
        chunks = _decoded_chunks(self._stream, self._chunk_size)
        buffer = self._head(chunks)
        delimiters = _delimiters_from_isa(buffer, 1)
        self.delimiters = delimiters
        return chain.from_iterable(self._batches(buffer, chunks, delimiters))

    @staticmethod
    def _head(chunks: Iterator[str]) -> str:
        """Text from the first ISA on, at least 106 characters of it."""
        buffer = ""
        for chunk in chunks:
            buffer = (buffer + chunk).lstrip(_WHITESPACE)
            if len(buffer) >= ISA_LENGTH or (buffer and not "ISA".startswith(buffer[:3])):
                break
        if not buffer:
            raise X12Error(0, ErrorCode.EMPTY, "the file is empty")
        if not buffer.startswith("ISA"):
            raise X12Error(1, ErrorCode.NO_ISA, "the file does not begin with an ISA segment")
        if len(buffer) < ISA_LENGTH:
            raise X12Error(1, ErrorCode.TRUNCATED, "the file ends inside the ISA segment")
        return buffer

    def _batches(
        self, buffer: str, chunks: Iterator[str], delimiters: Delimiters
    ) -> Iterator[Iterable[Segment]]:
        """The hot loop, one iteration per chunk; see "Reader design" in docs/x12.md.

        A chunk is split on the terminator at once. Its checks are done on the whole chunk
        in C where possible: one printable check, one set of segment heads (the first four
        characters) validated once per distinct head, and a text search for the few
        envelope segments, whose counts follow from segment numbers. A clean chunk is then
        handed back as a lazy `map` that splits elements and builds `Segment`s without a
        Python frame per segment. A chunk that fails any fast check (padding, control
        characters, an unknown or bad id, an envelope error) is redone by `_slow`, segment
        by segment, from the envelope state at its start, so that good segments before the
        bad one are still yielded and the error carries the exact segment number.
        """
        element, _, _, terminator = delimiters
        strip = "".join(c for c in _WHITESPACE if c not in delimiters)
        line_breaks = [c for c in "\r\n" if c not in delimiters]
        padding = [terminator + c for c in strip] + [c + terminator for c in strip]
        # Control-character delimiters (FS/GS/RS are common) are removed before the checks.
        hidden = {ord(d): None for d in delimiters if d and not d.isprintable()}
        # An ASCII chunk is printable if deleting the printable bytes leaves nothing.
        allowed = bytes(range(32, 127)) + bytes(o for o in hidden if o < 128)
        # Whitespace after a terminator shows as a bad segment head; before one, it is here.
        trailing = [c + terminator for c in strip if c != "\t" and c not in line_breaks]
        envelope = _Envelope()
        head_ids: dict[str, str] = {}  # known-good heads -> segment id
        envelope_heads: set[str] = set()
        number = 0
        while True:
            for line_break in line_breaks:  # between segments, or wrapping long lines
                if line_break in buffer:
                    buffer = buffer.replace(line_break, "")
            text = buffer
            parts = text.split(terminator)
            buffer = parts.pop()
            if parts:
                if text.isascii():
                    clean = not text.encode("ascii").translate(None, allowed)
                else:
                    clean = (text.translate(hidden) if hidden else text).isprintable()
                fast = clean and not any(t in text for t in trailing)  # (a tab is unclean)
                saved = envelope.save()
                if fast:
                    try:
                        fast = self._check_chunk(
                            text, parts, number, delimiters, envelope, head_ids, envelope_heads
                        )
                    except X12Error:
                        fast = False
                if fast:
                    yield map(
                        _new_tuple,
                        repeat(Segment),
                        zip(count(number + 1), map(str.split, parts, repeat(element))),
                    )
                    number += len(parts)
                else:
                    envelope.restore(saved)
                    if any(p in text for p in padding) or parts[0][:1] in strip:
                        parts = [part.strip(strip) for part in parts]
                    batch: list[Segment] = []
                    try:
                        number = _slow(parts, number, clean, delimiters, envelope, hidden, batch)
                    except X12Error:
                        yield batch  # the good segments before the bad one, then the error
                        raise
                    yield batch
            chunk = next(chunks, None)
            if chunk is None:
                break
            buffer += chunk
        if buffer.strip(strip):
            raise X12Error(number + 1, ErrorCode.TRUNCATED, "the file ends inside a segment")
        envelope.finish(number + 1)

    @staticmethod
    def _check_chunk(
        text: str,
        parts: list[str],
        number: int,
        delimiters: Delimiters,
        envelope: _Envelope,
        head_ids: dict[str, str],
        envelope_heads: set[str],
    ) -> bool:
        """True if every segment of a clean chunk is good (the envelope state is advanced);
        False (or an X12Error) if the chunk must be read segment by segment."""
        element, terminator = delimiters.element, delimiters.segment
        heads = set(map(_head_of, parts))
        unknown = heads.difference(head_ids)
        for head in unknown:
            sid = head.split(element, 1)[0]
            if _SEGMENT_ID.fullmatch(sid) is None:
                return False  # an empty segment or a bad id
            head_ids[head] = sid
            if sid in _ENVELOPE_IDS:
                envelope_heads.add(head)
        found = heads & envelope_heads
        if not found:
            return envelope.state == _Envelope.IN_ST
        # Where the envelope segments are: search the text for each of their ids.
        starts: list[int] = []
        for target in {
            head if head == head_ids[head] else head_ids[head] + element for head in found
        }:
            if target == head_ids.get(target):  # a segment that is only its id
                target += terminator
            if text.startswith(target):
                starts.append(0)
            target = terminator + target
            at = text.find(target)
            while at != -1:
                starts.append(at + 1)
                at = text.find(target, at + 1)
        starts.sort()
        index = 0  # parts[index] starts at text position `position`
        position = 0
        after = 0  # the index after the last envelope segment checked
        for start in starts:
            index += text.count(terminator, position, start)
            position = start
            if index >= len(parts):
                break  # in the unfinished segment carried to the next chunk
            if index > after and envelope.state != _Envelope.IN_ST:
                return False  # data outside ST
            raw = parts[index]
            segment = Segment(number + index + 1, raw.split(element))
            if segment.elements[0] == "ISA":
                _check_later_isa(raw, segment.number, delimiters)
            envelope.open_or_close(segment)
            after = index + 1
        return after >= len(parts) or envelope.state == _Envelope.IN_ST


def _slow(
    parts: list[str],
    number: int,
    clean: bool,
    delimiters: Delimiters,
    envelope: _Envelope,
    hidden: dict[int, None],
    out: list[Segment],
) -> int:
    """Check and append the segments of one chunk one by one; return the last number."""
    element = delimiters.element
    for raw in parts:
        if not raw:
            continue
        number += 1
        elements = raw.split(element)
        sid = elements[0]
        if sid not in _ENVELOPE_IDS and _SEGMENT_ID.fullmatch(sid) is None:
            raise X12Error(number, ErrorCode.BAD_SEGMENT, _bad_segment_reason(raw))
        if not clean and not (raw.translate(hidden) if hidden else raw).isprintable():
            raise X12Error(number, ErrorCode.ENCODING, _unprintable_reason(sid, raw))
        segment = Segment(number, elements)
        if sid in _ENVELOPE_IDS or envelope.state != _Envelope.IN_ST:
            if sid == "ISA":
                _check_later_isa(raw, number, delimiters)
            envelope.open_or_close(segment)
        out.append(segment)
    return number


def _check_later_isa(raw: str, number: int, delimiters: Delimiters) -> None:
    """Every ISA in a file must be fixed-width with the same delimiters as the first."""
    text = raw + delimiters.segment
    if len(text) != ISA_LENGTH:
        raise X12Error(number, ErrorCode.BAD_ISA, "ISA is not exactly 106 characters")
    if _delimiters_from_isa(text, number) != delimiters:
        raise X12Error(number, ErrorCode.BAD_ISA, "ISA delimiters differ from the first ISA")


def _bad_segment_reason(raw: str) -> str:
    if not raw.isprintable():
        return "segment contains bytes that are not text (binary data or a wrong encoding)"
    return "segment id is not 2-3 upper-case letters or digits"


def _unprintable_reason(sid: str, raw: str) -> str:
    if any("\udc80" <= c <= "\udcff" for c in raw):
        return f"{sid} contains bytes that are not valid UTF-8"
    return f"{sid} contains control characters"


def read_segments(stream: BinaryReadable, *, chunk_size: int = CHUNK_SIZE) -> Iterator[Segment]:
    """Segments of an X12 file, streamed, with envelope checks; see `SegmentReader`."""
    return iter(SegmentReader(stream, chunk_size=chunk_size))
