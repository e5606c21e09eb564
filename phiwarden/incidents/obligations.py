"""The incidents app's open obligations (filled in by the obligations work)."""

from __future__ import annotations
