"""The exported bundle verifies offline, in a process where Django cannot be imported."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

from phiwarden.audit.models import AuditEvent
from phiwarden.audit.tests.helpers import sealed_log

ROOT = Path(__file__).resolve().parents[3]
WITHOUT_DJANGO = (
    "import sys; sys.modules['django'] = None; "  # any `import django` now fails
    "from phiwarden.audit.verify import main; sys.exit(main(sys.argv[1:]))"
)


def run_offline(bundle: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  (our own interpreter and module)
        [sys.executable, "-c", WITHOUT_DJANGO, str(bundle)],
        cwd=ROOT, capture_output=True, text=True, check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


@pytest.fixture
def bundle(organization, owner, tmp_path):
    sealed_log(organization, owner.user, sizes=(4, 3))
    path = tmp_path / "bundle.zip"
    call_command("audit_export", "--org", organization.slug, "--output", str(path))
    return path


def rewrite(bundle: Path, name: str, change) -> Path:
    """Copy the bundle with one member changed and the manifest's checksum fixed up, as a
    forger who understands the format would do."""
    import hashlib

    out = bundle.with_name("tampered.zip")
    with zipfile.ZipFile(bundle) as source:
        members = {n: source.read(n) for n in source.namelist()}
    members[name] = change(members[name])
    manifest = json.loads(members["manifest.json"])
    manifest["sha256"][name] = hashlib.sha256(members[name]).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w") as target:
        for member, content in members.items():
            target.writestr(member, content)
    return out


def test_bundle_verifies_without_django(bundle, organization):
    result = run_offline(bundle)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK log {organization.pk}: 7 events, 2 tree heads" in result.stdout


def test_export_is_itself_audited(bundle, organization):
    assert AuditEvent.objects.filter(
        organization=organization, event_code="audit.log.exported"
    ).exists()


def test_bundle_holds_no_values_beyond_the_event_record_keys(bundle):
    from phiwarden.audit.canonical import RECORD_KEYS

    with zipfile.ZipFile(bundle) as archive:
        lines = archive.read("events.jsonl").decode().splitlines()
    assert all(set(json.loads(line)) == set(RECORD_KEYS) for line in lines)


def test_changed_event_in_bundle_fails(bundle):
    def change(content: bytes) -> bytes:
        lines = content.decode().splitlines()
        record = json.loads(lines[2])
        record["code"] = "accounts.logout"
        lines[2] = json.dumps(record, sort_keys=True)
        return ("\n".join(lines) + "\n").encode()

    result = run_offline(rewrite(bundle, "events.jsonl", change))

    assert result.returncode == 1
    assert "FAIL" in result.stdout
    assert "tree head of size 4" in result.stdout


def test_dropped_event_in_bundle_fails(bundle):
    def drop(content: bytes) -> bytes:
        lines = content.decode().splitlines()
        return ("\n".join(lines[:1] + lines[2:]) + "\n").encode()

    result = run_offline(rewrite(bundle, "events.jsonl", drop))

    assert result.returncode == 1
    assert "sequence 1" in result.stdout


def test_file_changed_without_fixing_the_manifest_is_unreadable(bundle, tmp_path):
    out = tmp_path / "broken.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            target.writestr(name, content + b"\n{}" if name == "tree_heads.jsonl" else content)

    result = run_offline(out)

    assert result.returncode == 2
    assert "checksum" in result.stderr


def test_not_a_zip_is_unreadable(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")

    assert run_offline(junk).returncode == 2
