"""Write an audit bundle: events as JSON lines, tree heads, public keys, a manifest.

The bundle is what a client or an outside auditor verifies offline with
`python -m phiwarden.audit.verify BUNDLE.zip`. It holds identifiers, never PHI values.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
import zipfile
from pathlib import Path

from phiwarden.audit.canonical import FORMAT_VERSION, event_bytes
from phiwarden.audit.models import PurgeRecord, TreeHead
from phiwarden.audit.records import iso_utc
from phiwarden.audit.verification import _sealed_rows, known_public_keys


def latest_purge(log_id: int) -> PurgeRecord | None:
    return PurgeRecord.objects.filter(log_id=log_id).order_by("-tree_size").first()


def bundle_write(
    *,
    log_ids: list[int],
    destination: Path,
    end: int | None = None,
) -> dict[str, object]:
    """Write the bundle for the given logs: every sealed event still held and every tree
    head, or, with `end` (one log only, for the retention archive), the events and heads
    up to that tree size. Each log that was purged before starts from its latest signed
    purge record, which the verifier checks and continues from."""
    if end is not None and len(log_ids) != 1:
        raise ValueError("a bounded bundle holds exactly one log")
    starts = [s.as_json() for s in (latest_purge(log_id) for log_id in log_ids) if s]
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        with (folder / "events.jsonl").open("w", encoding="utf-8") as events:
            for log_id in log_ids:
                counts[str(log_id)] = 0
                for record, _leaf in _sealed_rows(log_id, end=end):
                    # Canonical bytes: the verifier hashes such lines as they are read.
                    events.write(event_bytes(record).decode() + "\n")
                    counts[str(log_id)] += 1
        with (folder / "tree_heads.jsonl").open("w", encoding="utf-8") as heads:
            chosen = TreeHead.objects.filter(log_id__in=log_ids)
            if end is not None:
                chosen = chosen.filter(tree_size__lte=end)
            for head in chosen.order_by("log_id", "tree_size"):
                heads.write(json.dumps(head.as_json(), sort_keys=True) + "\n")
        keys = {
            key_id: base64.b64encode(raw).decode() for key_id, raw in known_public_keys().items()
        }
        (folder / "public_keys.json").write_text(json.dumps(keys, sort_keys=True))
        digests = {
            name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
            for name in ("events.jsonl", "tree_heads.jsonl", "public_keys.json")
        }
        from datetime import UTC, datetime

        manifest = {
            "format": FORMAT_VERSION,
            "created_at": iso_utc(datetime.now(tz=UTC)),
            "logs": log_ids,
            "events": counts,
            "sha256": digests,
            "starts": starts,
            "verify_with": "python -m phiwarden.audit.verify <this file>",
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
        destination.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in ("manifest.json", "events.jsonl", "tree_heads.jsonl", "public_keys.json"):
                archive.write(folder / name, arcname=name)
    return manifest
