from __future__ import annotations

import logging

from phiwarden.core import context


class RequestContextFilter(logging.Filter):
    """Add the request id to every log record; logs carry identifiers, never PHI."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.current()
        record.request_id = ctx.request_id if ctx else "-"
        return True
