"""Verify an audit log: every leaf, every root, every signature, and the order.

Used two ways:
  * `python manage.py audit_verify` feeds it records built from the database, plus the
    leaf hashes stored at sealing time (which pinpoint a changed event);
  * `python -m phiwarden.audit.verify BUNDLE.zip` checks an exported bundle offline.
    This module and the two it imports (merkle, canonical) use only the standard library
    and `cryptography`, so an outside auditor needs neither Django nor a database.

Exit status of the command line: 0 when everything holds, 1 when a problem is found,
2 when the bundle cannot be read.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phiwarden.audit import merkle
from phiwarden.audit.canonical import event_bytes, purge_bytes, tree_head_bytes

try:  # cryptography is the one non-stdlib dependency, for Ed25519
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # pragma: no cover - reported when a signature must be checked
    Ed25519PublicKey = None  # type: ignore[assignment,misc]


@dataclass(frozen=True)
class Problem:
    log_id: int
    reason: str
    event_id: int | None = None
    sequence: int | None = None
    tree_size: int | None = None

    def describe(self) -> str:
        where = [f"log {self.log_id}"]
        if self.sequence is not None:
            where.append(f"sequence {self.sequence}")
        if self.event_id is not None:
            where.append(f"event {self.event_id}")
        if self.tree_size is not None:
            where.append(f"tree head of size {self.tree_size}")
        return f"{', '.join(where)}: {self.reason}"


@dataclass
class LogReport:
    log_id: int
    events: int = 0
    tree_heads: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def signature_valid(public_keys: Mapping[str, bytes], head: Mapping[str, Any]) -> bool:
    public = public_keys.get(str(head.get("key_id", "")))
    if public is None or Ed25519PublicKey is None:
        return False
    message = tree_head_bytes(
        organization_id=int(head["log"]), tree_size=int(head["tree_size"]),
        root_hex=str(head["root"]), issued_at=str(head["issued_at"]),
    )  # fmt: skip
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(bytes.fromhex(head["signature"]), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def purge_record_valid(public_keys: Mapping[str, bytes], record: Mapping[str, Any]) -> bool:
    """The signature of a retention purge record (the `start` of a purged log)."""
    public = public_keys.get(str(record.get("key_id", "")))
    if public is None or Ed25519PublicKey is None:
        return False
    try:
        message = purge_bytes(
            organization_id=int(record["log"]), first_seq=int(record["first_seq"]),
            last_seq=int(record["last_seq"]), tree_size=int(record["tree_size"]),
            root_hex=str(record["root"]), bundle_sha256=str(record["bundle_sha256"]),
            purged_at=str(record["purged_at"]),
        )  # fmt: skip
        Ed25519PublicKey.from_public_bytes(public).verify(
            bytes.fromhex(str(record["signature"])), message
        )
    except (InvalidSignature, ValueError, KeyError):
        return False
    return True


def verify_log(
    log_id: int,
    records: Iterable[Mapping[str, Any]],
    tree_heads: Sequence[Mapping[str, Any]],
    public_keys: Mapping[str, bytes],
    *,
    stored_leaves: Iterable[bytes] | None = None,
    start: Mapping[str, Any] | None = None,
) -> LogReport:
    """Check one log. `records` come in sequence order; `tree_heads` in size order.

    `stored_leaves` (database only) are the hashes written when each event was sealed:
    with them a changed event is named exactly. `start`, after a retention purge, is the
    signed tree head at the purge boundary with its frontier.
    """
    report = LogReport(log_id=log_id, tree_heads=len(tree_heads))
    heads = sorted(tree_heads, key=lambda h: int(h["tree_size"]))
    for head in heads:
        if not signature_valid(public_keys, head):
            report.problems.append(
                Problem(
                    log_id, "tree head signature does not verify", tree_size=int(head["tree_size"])
                )
            )
            return report
    frontier = merkle.Frontier()
    if start is not None:
        if not purge_record_valid(public_keys, start):
            report.problems.append(
                Problem(
                    log_id,
                    "the retention purge record's signature does not verify",
                    tree_size=int(start.get("tree_size", 0)),
                )
            )
            return report
        frontier = merkle.Frontier.from_json(start["frontier"])
        if frontier.root().hex() != start["root"] or frontier.size != int(start["tree_size"]):
            report.problems.append(
                Problem(log_id, "purge boundary frontier does not match its root")
            )
            return report
    heads = [h for h in heads if int(h["tree_size"]) > frontier.size]
    head_index = 0
    stored = iter(stored_leaves) if stored_leaves is not None else None
    last_id: int | None = None
    for record in records:
        expected_seq = frontier.size
        seq, event_id = record.get("seq"), record.get("id")
        if seq != expected_seq:
            reason = (
                f"expected sequence {expected_seq}, found {seq}: an event before it is missing"
                if isinstance(seq, int) and seq > expected_seq
                else f"expected sequence {expected_seq}, found {seq}: events are out of order"
            )
            report.problems.append(
                Problem(log_id, reason, event_id=event_id, sequence=expected_seq)
            )
            return report
        try:
            leaf = merkle.leaf_hash(event_bytes(record))
        except ValueError as error:
            report.problems.append(Problem(log_id, str(error), event_id=event_id, sequence=seq))
            return report
        if stored is not None:
            sealed_leaf = next(stored, None)
            if sealed_leaf is None or bytes(sealed_leaf) != leaf:
                report.problems.append(
                    Problem(
                        log_id,
                        "event differs from what was sealed",
                        event_id=event_id,
                        sequence=seq,
                    )
                )
                return report
        frontier.append(leaf)
        report.events += 1
        last_id = event_id
        while head_index < len(heads) and int(heads[head_index]["tree_size"]) == frontier.size:
            head = heads[head_index]
            if frontier.root().hex() != head["root"]:
                report.problems.append(
                    Problem(
                        log_id,
                        "root does not match the signed tree head: an event up to here was "
                        "changed, added or removed",
                        event_id=last_id,
                        sequence=seq,
                        tree_size=frontier.size,
                    )
                )
                return report
            head_index += 1
    if head_index < len(heads):
        head = heads[head_index]
        report.problems.append(
            Problem(
                log_id,
                f"the log ends at {frontier.size} events but a signed tree head covers "
                f"{head['tree_size']}: events at the end were removed",
                event_id=last_id,
                tree_size=int(head["tree_size"]),
            )
        )
    elif heads and frontier.size > int(heads[-1]["tree_size"]):
        report.problems.append(
            Problem(
                log_id,
                f"{frontier.size - int(heads[-1]['tree_size'])} sealed events are not covered "
                "by any signed tree head",
                event_id=last_id,
            )
        )
    elif not heads and frontier.size and start is None:
        report.problems.append(Problem(log_id, "sealed events but no signed tree head"))
    return report


# --- Bundles -----------------------------------------------------------------

BUNDLE_FILES = ("manifest.json", "events.jsonl", "tree_heads.jsonl", "public_keys.json")


class BundleError(Exception):
    """The bundle is unreadable or incomplete (exit status 2)."""


def _lines(archive: zipfile.ZipFile, name: str) -> Iterator[dict[str, Any]]:
    with archive.open(name) as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                try:
                    yield json.loads(raw)
                except json.JSONDecodeError as error:
                    raise BundleError(f"{name} line {number} is not JSON") from error


def verify_bundle(path: str) -> list[LogReport]:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise BundleError(f"cannot open {path}: not a readable zip file") from error
    with archive:
        names = set(archive.namelist())
        missing = [name for name in BUNDLE_FILES if name not in names]
        if missing:
            raise BundleError(f"bundle lacks {', '.join(missing)}")
        manifest = json.loads(archive.read("manifest.json"))
        for name, digest in manifest.get("sha256", {}).items():
            if hashlib.sha256(archive.read(name)).hexdigest() != digest:
                raise BundleError(f"{name} does not match the manifest's checksum")
        keys = {
            key_id: base64.b64decode(value)
            for key_id, value in json.loads(archive.read("public_keys.json")).items()
        }
        heads_by_log: dict[int, list[dict[str, Any]]] = {}
        for head in _lines(archive, "tree_heads.jsonl"):
            heads_by_log.setdefault(int(head["log"]), []).append(head)
        starts = {int(s["log"]): s for s in manifest.get("starts", [])}
        reports = []
        for log_id in sorted(set(heads_by_log) | {int(x) for x in manifest.get("logs", [])}):
            records = (r for r in _lines(archive, "events.jsonl") if int(r["org"] or 0) == log_id)
            reports.append(
                verify_log(
                    log_id, records, heads_by_log.get(log_id, []), keys, start=starts.get(log_id)
                )
            )
        return reports


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m phiwarden.audit.verify",
        description="Verify a PHI Warden audit bundle offline (no Django, no database).",
    )
    parser.add_argument("bundle", help="the .zip written by `manage.py audit_export`")
    args = parser.parse_args(argv)
    try:
        reports = verify_bundle(args.bundle)
    except BundleError as error:
        print(f"UNREADABLE: {error}", file=sys.stderr)  # noqa: T201
        return 2
    ok = True
    for report in reports:
        if report.ok:
            print(f"OK log {report.log_id}: {report.events} events, {report.tree_heads} tree heads")  # noqa: T201
        else:
            ok = False
            for problem in report.problems:
                print(f"FAIL {problem.describe()}")  # noqa: T201
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
