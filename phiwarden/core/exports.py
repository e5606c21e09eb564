"""Files out: CSV and XLSX writers that every export shares.

Two concerns live here so that no export forgets them:
- Formula injection: a cell that starts with = + - @ (or a tab or carriage return) is
  read as a formula by spreadsheet programs; such cells are prefixed with an apostrophe
  (OWASP "CSV injection").
- Memory: rows are streamed, never collected, so a large export stays flat in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | bool | date | datetime | None


def safe_cell(value: Cell) -> str | int | float | bool | date | datetime | None:
    """Neutralize text that a spreadsheet would evaluate; numbers and dates pass as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _csv_text(value: Any) -> str:
    cleaned = safe_cell(value)
    if cleaned is None:
        return ""
    if isinstance(cleaned, datetime):
        return cleaned.isoformat()
    return str(cleaned)


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """The CSV text of a header and rows, one line at a time (for StreamingHttpResponse)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(values: Sequence[Any]) -> str:
        writer.writerow([_csv_text(v) for v in values])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(header)
    for row in rows:
        yield line(row)


def xlsx_bytes(sheet_title: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """An XLSX workbook with one sheet, written in openpyxl's streaming (write-only) mode."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    sheet.append(list(header))
    for row in rows:
        values = []
        for value in row:
            cleaned = safe_cell(value)
            if isinstance(cleaned, datetime) and cleaned.tzinfo is not None:
                cleaned = cleaned.replace(
                    tzinfo=None
                )  # Excel has no time zones: UTC, said in header
            values.append(cleaned)
        sheet.append(values)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
