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


class LogChecker:
    """Checks one log's records one at a time, in sequence order, so that a bundle holding
    several logs is read once. `verify_log` drives it over an iterable of records.

    `stored_leaves` (database only) are the hashes written when each event was sealed:
    with them a changed event is named exactly. `start`, after a retention purge, is the
    signed purge record at the purge boundary with its frontier.
    """

    def __init__(
        self,
        log_id: int,
        tree_heads: Sequence[Mapping[str, Any]],
        public_keys: Mapping[str, bytes],
        *,
        stored_leaves: Iterable[bytes] | None = None,
        start: Mapping[str, Any] | None = None,
    ) -> None:
        self.report = LogReport(log_id=log_id, tree_heads=len(tree_heads))
        self.closed = False  # a problem was found: later records are not looked at
        self._start = start
        self._frontier = merkle.Frontier()
        self._stored = iter(stored_leaves) if stored_leaves is not None else None
        self._last_id: int | None = None
        self._heads: list[Mapping[str, Any]] = []
        self._sizes: list[int] = []
        self._head_index = 0
        self._next_size = -1  # size of the next tree head to check, -1 when none is left
        heads = sorted(tree_heads, key=lambda h: int(h["tree_size"]))
        for head in heads:
            if not signature_valid(public_keys, head):
                self._fail("tree head signature does not verify", tree_size=int(head["tree_size"]))
                return
        if start is not None:
            if not purge_record_valid(public_keys, start):
                self._fail(
                    "the retention purge record's signature does not verify",
                    tree_size=int(start.get("tree_size", 0)),
                )
                return
            self._frontier = merkle.Frontier.from_json(start["frontier"])
            if self._frontier.root().hex() != start["root"] or self._frontier.size != int(
                start["tree_size"]
            ):
                self._fail("purge boundary frontier does not match its root")
                return
        self._heads = [h for h in heads if int(h["tree_size"]) > self._frontier.size]
        self._sizes = [int(h["tree_size"]) for h in self._heads]
        self._next_size = self._sizes[0] if self._sizes else -1

    def _fail(self, reason: str, **where: Any) -> None:
        self.report.problems.append(Problem(self.report.log_id, reason, **where))
        self.closed = True

    def feed(self, record: Mapping[str, Any], canonical: bytes | None = None) -> bool:
        """Check the next record of the log. False once a problem is found: stop feeding.

        `canonical`, when given, is the record's canonical encoding as read from a bundle:
        it is hashed as it is instead of encoding the record again. That is sound because
        only the exact sealed bytes hash into the signed roots, but a mismatch is then
        seen only at the next tree head (see `verify_bundle`, which re-checks such a log
        the slow way to name the event)."""
        if self.closed:
            return False
        frontier = self._frontier
        expected_seq = frontier.size
        seq, event_id = record.get("seq"), record.get("id")
        if seq != expected_seq:
            reason = (
                f"expected sequence {expected_seq}, found {seq}: an event before it is missing"
                if isinstance(seq, int) and seq > expected_seq
                else f"expected sequence {expected_seq}, found {seq}: events are out of order"
            )
            self._fail(reason, event_id=event_id, sequence=expected_seq)
            return False
        try:
            leaf = merkle.leaf_hash(event_bytes(record) if canonical is None else canonical)
        except ValueError as error:
            self._fail(str(error), event_id=event_id, sequence=seq)
            return False
        if self._stored is not None:
            sealed_leaf = next(self._stored, None)
            if sealed_leaf is None or bytes(sealed_leaf) != leaf:
                self._fail("event differs from what was sealed", event_id=event_id, sequence=seq)
                return False
        frontier.append(leaf)
        self.report.events += 1
        self._last_id = event_id
        if frontier.size == self._next_size:
            self._check_heads(seq)
        return not self.closed

    def _check_heads(self, seq: int) -> None:
        """The tree has reached the size of the next signed head(s): compare the roots."""
        size = self._frontier.size
        root = self._frontier.root().hex()
        while self._head_index < len(self._heads) and self._sizes[self._head_index] == size:
            if root != self._heads[self._head_index]["root"]:
                self._fail(
                    "root does not match the signed tree head: an event up to here was "
                    "changed, added or removed",
                    event_id=self._last_id,
                    sequence=seq,
                    tree_size=size,
                )
                return
            self._head_index += 1
        self._next_size = (
            self._sizes[self._head_index] if self._head_index < len(self._sizes) else -1
        )

    def finish(self) -> LogReport:
        """The checks that need the whole log: no signed head beyond its end, none missing."""
        if self.closed:
            return self.report
        self.closed = True
        size, heads, last_id = self._frontier.size, self._heads, self._last_id
        if self._head_index < len(heads):
            head = heads[self._head_index]
            self.report.problems.append(
                Problem(
                    self.report.log_id,
                    f"the log ends at {size} events but a signed tree head covers "
                    f"{head['tree_size']}: events at the end were removed",
                    event_id=last_id,
                    tree_size=int(head["tree_size"]),
                )
            )
        elif heads and size > self._sizes[-1]:
            self.report.problems.append(
                Problem(
                    self.report.log_id,
                    f"{size - self._sizes[-1]} sealed events are not covered "
                    "by any signed tree head",
                    event_id=last_id,
                )
            )
        elif not heads and size and self._start is None:
            self.report.problems.append(
                Problem(self.report.log_id, "sealed events but no signed tree head")
            )
        return self.report


def verify_log(
    log_id: int,
    records: Iterable[Mapping[str, Any]],
    tree_heads: Sequence[Mapping[str, Any]],
    public_keys: Mapping[str, bytes],
    *,
    stored_leaves: Iterable[bytes] | None = None,
    start: Mapping[str, Any] | None = None,
) -> LogReport:
    """Check one log. `records` come in sequence order; `tree_heads` in any order.

    `stored_leaves` (database only) are the hashes written when each event was sealed:
    with them a changed event is named exactly. `start`, after a retention purge, is the
    signed purge record at the purge boundary with its frontier.
    """
    checker = LogChecker(log_id, tree_heads, public_keys, stored_leaves=stored_leaves, start=start)
    if not checker.closed:
        for record in records:
            if not checker.feed(record):
                break
    return checker.finish()


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


_CHUNK = 1 << 20


def _event_records(
    archive: zipfile.ZipFile, digest: str | None
) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """(line, record) for each line of events.jsonl, read once in large chunks; its
    checksum is computed on the way and checked at the end (a mismatch makes the whole
    bundle unreadable)."""
    name = "events.jsonl"
    decode = json.JSONDecoder().decode
    checksum = hashlib.sha256()
    number = 0
    tail = b""
    with archive.open(name) as handle:
        while True:
            chunk = handle.read(_CHUNK)
            checksum.update(chunk)
            lines = (tail + chunk).split(b"\n") if chunk else [tail]
            tail = lines.pop() if chunk else b""
            for raw in lines:
                number += 1
                if not raw.strip():
                    continue
                try:
                    record = decode(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as error:
                    raise BundleError(f"{name} line {number} is not JSON") from error
                if not isinstance(record, dict):
                    raise BundleError(f"{name} line {number} is not an event record")
                yield raw, record
            if not chunk:
                break
    if digest is not None and checksum.hexdigest() != digest:
        raise BundleError(f"{name} does not match the manifest's checksum")


def _log_of(record: Mapping[str, Any]) -> int:
    try:
        return int(record["org"] or 0)
    except (KeyError, TypeError, ValueError) as error:
        raise BundleError(f"event {record.get('id')!r} names no valid log") from error


def _is_canonical(line: bytes, record: Mapping[str, Any]) -> bool:
    try:
        return line.rstrip(b"\r") == event_bytes(record)
    except ValueError:
        return False


def verify_bundle(path: str) -> list[LogReport]:
    """Verify every log of a bundle, reading its events once (memory stays flat).

    When the bundle's lines are the canonical encodings themselves (the first line
    tells), each line is hashed as read, which spares encoding every record again. If a
    log then fails, the bundle is checked again the slow way, which names the first
    changed event exactly and accepts a line that only differs in formatting."""
    reports = _verify_bundle(path, fast=True)
    if all(report.ok for report in reports):
        return reports
    return _verify_bundle(path, fast=False)


def _verify_bundle(path: str, *, fast: bool) -> list[LogReport]:
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
        digests = dict(manifest.get("sha256", {}))
        for name, digest in digests.items():
            if name == "events.jsonl":
                continue  # checked while it is read, below
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
        log_ids = sorted(set(heads_by_log) | {int(x) for x in manifest.get("logs", [])})
        checkers = {
            log_id: LogChecker(log_id, heads_by_log.get(log_id, []), keys, start=starts.get(log_id))
            for log_id in log_ids
        }
        hash_lines: bool | None = None if fast else False
        for line, record in _event_records(archive, digests.get("events.jsonl")):
            if hash_lines is None:
                hash_lines = _is_canonical(line, record)
            checker = checkers.get(_log_of(record))
            if checker is not None:  # events of logs the bundle does not cover are ignored
                checker.feed(record, line.rstrip(b"\r") if hash_lines else None)
        return [checkers[log_id].finish() for log_id in log_ids]


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
