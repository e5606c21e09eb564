"""The canonical bytes of an audit event and of a tree head (stdlib only).

The same functions run inside the app (when sealing) and in the offline verifier
(on an exported bundle), so both compute identical leaf hashes. Encoding: JSON with
sorted keys, no insignificant whitespace, UTF-8; times as ISO 8601 UTC with
microseconds. Changing this is a format change: bump FORMAT_VERSION.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

FORMAT_VERSION = 1
TREE_HEAD_DOMAIN = b"phiwarden-tree-head-v1\n"
PURGE_DOMAIN = b"phiwarden-purge-v1\n"

# The keys of an event record, in the order documented in docs/audit.md.
RECORD_KEYS = (
    "v", "id", "org", "seq", "at", "actor_id", "actor_label", "token", "code", "outcome",
    "target_type", "target_id", "purpose", "request_id", "ip", "via", "data",
    "patient_ids", "fields",
)  # fmt: skip


def dumps(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_bytes(record: Mapping[str, Any]) -> bytes:
    """Canonical bytes of one event record (a mapping with exactly RECORD_KEYS)."""
    keys = set(record)
    if keys != set(RECORD_KEYS):
        missing, extra = set(RECORD_KEYS) - keys, keys - set(RECORD_KEYS)
        raise ValueError(
            f"event record keys differ (missing {sorted(missing)}, extra {sorted(extra)})"
        )
    return dumps(dict(record))


def tree_head_bytes(
    *, organization_id: int, tree_size: int, root_hex: str, issued_at: str
) -> bytes:
    """What the Ed25519 signature of a tree head covers."""
    body = f"{organization_id}\n{tree_size}\n{root_hex}\n{issued_at}\n"
    return TREE_HEAD_DOMAIN + body.encode()


def purge_bytes(
    *,
    organization_id: int,
    first_seq: int,
    last_seq: int,
    tree_size: int,
    root_hex: str,
    bundle_sha256: str,
    purged_at: str,
) -> bytes:
    """What the signature of a retention purge record covers."""
    body = (
        f"{organization_id}\n{first_seq}\n{last_seq}\n{tree_size}\n{root_hex}\n"
        f"{bundle_sha256}\n{purged_at}\n"
    )
    return PURGE_DOMAIN + body.encode()
