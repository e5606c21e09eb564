"""The offline verifier's fast path: a bundle whose lines are the canonical encodings.

Such lines are hashed as read instead of being encoded again (docs/benchmarks.md: about
1.7 times faster). A changed event is still caught, and named by the slow re-check; a
line that differs only in formatting still verifies.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

from phiwarden.audit import verify
from phiwarden.audit.canonical import event_bytes
from phiwarden.audit.tests.helpers import sealed_log


def _rewrite_events(bundle: Path, out: Path, change) -> Path:
    """Copy the bundle with events.jsonl rewritten line by line and its checksum fixed."""
    with zipfile.ZipFile(bundle) as source:
        members = {name: source.read(name) for name in source.namelist()}
    lines = [
        change(n, json.loads(line)) for n, line in enumerate(members["events.jsonl"].splitlines())
    ]
    members["events.jsonl"] = b"".join(line + b"\n" for line in lines)
    manifest = json.loads(members["manifest.json"])
    manifest["sha256"]["events.jsonl"] = hashlib.sha256(members["events.jsonl"]).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w") as target:
        for name, content in members.items():
            target.writestr(name, content)
    return out


@pytest.fixture
def bundle(organization, owner, tmp_path):
    sealed_log(organization, owner.user, sizes=(4, 3))
    path = tmp_path / "bundle.zip"
    call_command("audit_export", "--org", organization.slug, "--output", str(path))
    return path


@pytest.fixture
def encodings(monkeypatch):
    """Count how often the verifier encodes a record again."""
    calls = []

    def counting(record):
        calls.append(record.get("id"))
        return event_bytes(record)

    monkeypatch.setattr(verify, "event_bytes", counting)
    return calls


def test_canonical_lines_verify_without_encoding_each_record(bundle, tmp_path, encodings):
    canonical = _rewrite_events(bundle, tmp_path / "c.zip", lambda _n, r: event_bytes(r))

    reports = verify.verify_bundle(str(canonical))

    assert all(r.ok for r in reports), [p.describe() for r in reports for p in r.problems]
    assert sum(r.events for r in reports) == 7
    assert len(encodings) == 1  # only the first line, to tell the format


def test_changed_event_in_canonical_lines_is_caught_and_named(bundle, tmp_path, encodings):
    def change(n, record):
        if n == 2:
            record["code"] = "accounts.logout"
        return event_bytes(record)

    reports = verify.verify_bundle(str(_rewrite_events(bundle, tmp_path / "t.zip", change)))

    (problem,) = [p for r in reports for p in r.problems]
    assert problem.tree_size == 4
    assert len(encodings) == 1 + 4  # the format check, then the slow re-check up to size 4


def test_line_differing_only_in_formatting_still_verifies(bundle, tmp_path):
    def change(n, record):
        if n == 3:
            return json.dumps(record, sort_keys=True, indent=None).encode()
        return event_bytes(record)

    reports = verify.verify_bundle(str(_rewrite_events(bundle, tmp_path / "f.zip", change)))

    assert all(r.ok for r in reports)
    assert sum(r.events for r in reports) == 7
