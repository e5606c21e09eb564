"""X12 5010 for PHI Warden: a streaming reader, typed parsers and writers (837P, 837I, 835).

Pure Python, no Django models. See docs/x12.md.
"""

from phiwarden.billing.x12.errors import ErrorCode, X12Error
from phiwarden.billing.x12.parser import parse_835, parse_837, parse_x12
from phiwarden.billing.x12.reader import Delimiters, Segment, SegmentReader, read_segments
from phiwarden.billing.x12.writer import write_835, write_837

__all__ = [
    "Delimiters",
    "ErrorCode",
    "Segment",
    "SegmentReader",
    "X12Error",
    "parse_835",
    "parse_837",
    "parse_x12",
    "read_segments",
    "write_835",
    "write_837",
]
