"""Verify the audit log stored in the database (and against tree heads kept outside it)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from phiwarden.audit.models import (
    AuditEvent,
    PendingSeal,
    PurgeRecord,
    SealedLeaf,
    TreeHead,
    VerificationRun,
    log_id_for,
)
from phiwarden.audit.records import event_record, patient_ids_by_event
from phiwarden.audit.signing import configured_signing_key, key_id_of
from phiwarden.audit.verify import LogReport, Problem, verify_log

CHUNK = 2000


def known_public_keys() -> dict[str, bytes]:
    """The current signing key plus retired ones still needed to check old tree heads."""
    current = configured_signing_key()
    keys = {current.key_id: current.public_raw}
    for encoded in settings.AUDIT_RETIRED_PUBLIC_KEYS:
        raw = base64.b64decode(encoded)
        keys[key_id_of(raw)] = raw
    return keys


def log_ids() -> list[int]:
    ids = set(TreeHead.objects.values_list("log_id", flat=True).distinct())
    ids |= set(SealedLeaf.objects.values_list("log_id", flat=True).distinct())
    return sorted(ids)


def _sealed_rows(
    log_id: int, *, first: int = 0, end: int | None = None
) -> Iterator[tuple[dict[str, Any], bytes]]:
    """(record, stored leaf) in sequence order from `first` up to `end` (exclusive), read
    in chunks to keep memory flat."""
    last_seq = first - 1
    bounded = SealedLeaf.objects.filter(log_id=log_id)
    if end is not None:
        bounded = bounded.filter(sequence__lt=end)
    while True:
        leaves = list(
            bounded.filter(sequence__gt=last_seq)
            .order_by("sequence")
            .values_list("event_id", "sequence", "leaf_hash")[:CHUNK]
        )
        if not leaves:
            return
        events = AuditEvent.objects.in_bulk([event_id for event_id, _, _ in leaves])
        patients = patient_ids_by_event(events)
        for event_id, sequence, leaf in leaves:
            event = events[event_id]
            yield (
                event_record(event, sequence=sequence, patient_ids=patients[event_id]),
                bytes(leaf),
            )
        last_seq = leaves[-1][1]


def _external_heads(log_id: int, paths: list[Path]) -> list[dict[str, Any]]:
    heads = []
    for path in paths:
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as handle:
            heads += [
                h
                for line in handle
                if line.strip()
                for h in [json.loads(line)]
                if h["log"] == log_id
            ]
    return heads


def configured_head_files() -> list[Path]:
    return [Path(sink[5:]) for sink in settings.AUDIT_TREE_HEAD_SINKS if sink.startswith("file:")]


def verify_database_log(log_id: int, *, external_head_files: list[Path] | None = None) -> LogReport:
    keys = known_public_keys()
    heads = [h.as_json() for h in TreeHead.objects.filter(log_id=log_id).order_by("tree_size")]
    # The verifier pulls a record, then the leaf stored for it: hand them over in step.
    current: list[bytes] = []

    def records_iter() -> Iterator[dict[str, Any]]:
        for record, leaf in _sealed_rows(log_id):
            current[:] = [leaf]
            yield record

    def stored_iter() -> Iterator[bytes]:
        while True:
            yield current[0]

    purge = PurgeRecord.objects.filter(log_id=log_id).order_by("-tree_size").first()
    report = verify_log(
        log_id,
        records_iter(),
        heads,
        keys,
        stored_leaves=stored_iter(),
        start=purge.as_json() if purge else None,
    )
    if not report.ok:
        return report
    # Tree heads kept outside the database must all still match what is inside it.
    by_size = {int(h["tree_size"]): h for h in heads}
    for outside in _external_heads(log_id, external_head_files or configured_head_files()):
        inside = by_size.get(int(outside["tree_size"]))
        if inside is None or inside["root"] != outside["root"]:
            report.problems.append(
                Problem(
                    log_id,
                    "a tree head kept outside the database is missing or different inside it",
                    tree_size=int(outside["tree_size"]),
                )
            )
            break
    return report


def orphan_events() -> list[int]:
    """Events that are neither sealed nor pending: their marker or leaf was removed."""
    leaf = SealedLeaf.objects.filter(event_id=OuterRef("pk"))
    pending = PendingSeal.objects.filter(event_id=OuterRef("pk"))
    return list(
        AuditEvent.objects.filter(~Exists(leaf), ~Exists(pending))
        .order_by("pk")
        .values_list("pk", flat=True)[:10]
    )


def verify_database(*, external_head_files: list[Path] | None = None) -> list[LogReport]:
    reports = [
        verify_database_log(log_id, external_head_files=external_head_files) for log_id in log_ids()
    ]
    orphans = orphan_events()
    if orphans:
        first = AuditEvent.objects.get(pk=orphans[0])
        report = LogReport(log_id=log_id_for(first.organization_id))
        report.problems.append(
            Problem(
                report.log_id, "event is neither sealed nor waiting to be sealed", event_id=first.pk
            )
        )
        reports.append(report)
    return reports


def verification_record(reports: list[LogReport]) -> None:
    """Keep each log's outcome as evidence (checklist A4, D4): when it was verified, how
    many events, and the first problem (ids and sequence numbers only)."""
    now = timezone.now()
    VerificationRun.objects.bulk_create(
        VerificationRun(
            log_id=report.log_id,
            ran_at=now,
            ok=report.ok,
            events=report.events,
            problem=report.problems[0].describe()[:500] if report.problems else "",
        )
        for report in reports
    )
