from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: Mapping[str, Any] | None, key: str) -> Any:
    """`{{ values|get_item:"patient.name" }}`: dotted field names are not attribute paths."""
    if not mapping:
        return ""
    return mapping.get(key, "")


@register.filter
def field_label(name: str) -> str:
    return name.split(".", 1)[-1].replace("_", " ").capitalize()
