"""A guard that proves billing PHI is read only through the PHI door.

DESIGN.md: "Views, API endpoints, exports and reports never query PHI models directly."
While the guard is on, every SQL statement that touches a billing PHI table is traced
back through the Python stack; unless one of the door's modules (or a write path that is
itself audited) is on that stack, it is a violation. The authorization matrix runs every
request of every route and role under this guard.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

# Tables whose rows hold PHI (encrypted columns, or rows about one patient).
PHI_TABLES = (
    "billing_patient",
    "billing_coverage",
    "billing_claim",
    "billing_serviceline",
    "billing_claimpayment",
    "billing_provideradjustment",
    "billing_provider",
)
_PHI_TABLE = re.compile(r'\b"?(' + "|".join(PHI_TABLES) + r')"?\b')

# The door (selectors: checked, projected, audited reads) and the audited write paths.
ALLOWED_MODULES = (
    "phiwarden/billing/selectors.py",
    "phiwarden/billing/scoping.py",
    "phiwarden/billing/imports.py",
    "phiwarden/billing/services.py",
    "phiwarden/vault/rotation.py",
)


@dataclass
class DoorRecord:
    through_door: int = 0
    violations: list[str] = field(default_factory=list)


def _caller_outside_door() -> str | None:
    """None when a door module is on the stack; else the innermost project frame."""
    frame = sys._getframe(2)
    innermost = None
    while frame is not None:
        filename = frame.f_code.co_filename.replace("\\", "/")
        if any(filename.endswith(module) for module in ALLOWED_MODULES):
            return None
        if innermost is None and "/phiwarden/" in filename and "/tests/" not in filename:
            innermost = f"{filename.split('/phiwarden/', 1)[1]}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return innermost or "a test or a third-party module"


@contextmanager
def phi_door_guard() -> Iterator[DoorRecord]:
    record = DoorRecord()

    def guard(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        match = _PHI_TABLE.search(sql)
        if match:
            outside = _caller_outside_door()
            if outside is None:
                record.through_door += 1
            else:
                record.violations.append(f"{match.group(1)} queried from {outside}")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(guard):
        yield record
