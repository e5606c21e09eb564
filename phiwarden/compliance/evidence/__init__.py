"""Evidence functions, one module per area of the checklist; importing registers them.

Every module in this package is imported, so a new area's module registers itself by
existing: no list to keep in step.
"""

from __future__ import annotations

import importlib
import pkgutil


def register_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


register_all()
