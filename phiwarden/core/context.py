"""Per-request facts (request id, client IP) that the audit writer and logs need.

Kept in context variables so that services deep in the call stack can record
them without every function passing the request along.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    ip_address: str | None
    via: str  # "web", "api", "cli" or "task": where the action came from


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "phiwarden_request_context", default=None
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9\-]{8,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def is_valid_request_id(value: str) -> bool:
    return bool(_REQUEST_ID.match(value))


def current() -> RequestContext | None:
    return _current.get()


@contextmanager
def bound(context: RequestContext) -> Iterator[RequestContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


@contextmanager
def cli_context(command: str) -> Iterator[RequestContext]:
    """Context for management commands and tasks, so their audit events carry an id too."""
    with bound(RequestContext(request_id=new_request_id(), ip_address=None, via=command)) as ctx:
        yield ctx
