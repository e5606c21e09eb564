"""Fixtures for the pure-Python X12 and synthetic-data tests (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
X12_SAMPLES = REPO_ROOT.parent / "shared" / "x12-samples"


@pytest.fixture(scope="session")
def x12_samples_dir() -> Path:
    """The public X12 sample corpus, read in place (never copied into the repo)."""
    if not (X12_SAMPLES / "manifest.tsv").is_file():
        pytest.skip(f"X12 sample corpus not found at {X12_SAMPLES} (outside this project's CI)")
    return X12_SAMPLES
