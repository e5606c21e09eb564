"""Seal and verify throughput of the audit log, in events per second on one core.

* **seal**: `seal_all()` on ROUNDS backlogs of PER_ROUND pending events (as the sealer
  finds them after a busy minute): read the events, build each canonical record and its
  RFC 6962 leaf hash, extend the Merkle frontier, insert the leaves, delete the pending
  markers, sign and store a tree head per batch of 5,000. Its peer is reading the same
  events through the ORM and nothing else: the floor that sealing starts from.
* **verify, offline bundle**: the pure verifier (`phiwarden.audit.verify.verify_bundle`,
  no Django, no database) on the bundle `audit_export` writes: checksums, parse every
  line, recompute every leaf and root, check every signature.
* **verify, records in memory**: the same verifier fed already-parsed records
  (`verify_log`), which separates hashing and tree work from reading JSON.
* **verify, database**: `verify_database()` (what `manage.py audit_verify` runs): every
  event read back, its record rebuilt, its leaf compared with the stored one, every
  root and signature checked, and the search for events neither sealed nor pending.

All verifications are compared with the issue's goal, 100,000 events/s on one core (the
"peer" time is N / 100,000 s, so ours/peer below 1 meets the goal). The two pure
verifications are timed in CPU seconds of this process (`time.process_time`), which is
what "per core" means and which other work on a busy machine barely disturbs; seal and
the database verification are timed on the wall clock, because on PostgreSQL part of
their work runs in the server's backend process beside this one. Events are inserted
untimed with `bulk_create`, with and without patient ids, across two logs (an
organization's and the installation log 0).
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from phiwarden.accounts.models import Organization, User
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.export import bundle_write
from phiwarden.audit.models import (
    AuditEvent,
    AuditEventPatient,
    TreeHead,
)
from phiwarden.audit.records import patient_ids_by_event
from phiwarden.audit.sealing import seal_all
from phiwarden.audit.verification import _sealed_rows, known_public_keys, verify_database
from phiwarden.audit.verify import verify_bundle, verify_log

DATABASES = ("sqlite", "postgresql")

PER_ROUND = 10_000
ROUNDS = 3
VERIFY_ROUNDS = 3
GOAL_PER_SECOND = 100_000
CODES = [EventCode.LOGIN_SUCCEEDED, EventCode.ACCESS_DENIED, EventCode.MEMBER_CLIENTS_CHANGED]


def _pending_events(organization: Organization, user: User, count: int, seed: int) -> list[int]:
    """Insert `count` events with their pending markers (untimed set-up)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not a secret
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=seed)
    events = []
    for i in range(count):
        tenant = organization if i % 10 else None  # one in ten: installation log 0
        events.append(
            AuditEvent(
                organization=tenant,
                occurred_at=start + timedelta(milliseconds=37 * i),
                actor=user if tenant else None,
                actor_label=user.email if tenant else "",
                event_code=CODES[i % len(CODES)],
                outcome=Outcome.ALLOWED if i % 4 else Outcome.DENIED,
                target_type="billing.claim",
                target_id=str(rng.randrange(1, 10**6)),
                purpose="payment" if i % 2 else "",
                request_id=f"{seed:08x}{i:024x}",
                ip_address="192.0.2.10",
                via="web",
                data={"client_id": rng.randrange(1, 50), "rows": i % 7},
                fields_disclosed=["member_id", "name"] if i % 3 == 0 else [],
            )
        )
    AuditEvent.objects.bulk_create(events, batch_size=1000)  # the trigger marks them pending
    AuditEventPatient.objects.bulk_create(
        [
            AuditEventPatient(event=e, organization=organization, patient_id=1000 + j)
            for e in events
            if e.organization_id and e.pk % 3 == 0
            for j in range(2)
        ],
        batch_size=1000,
    )
    return [e.pk for e in events]


def _read_only(ids: list[int]) -> None:
    """What sealing reads, without the hashing and writing: the peer of seal."""
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        list(AuditEvent.objects.filter(pk__in=chunk).order_by("pk"))
        patient_ids_by_event(chunk)


def _best(
    action: Callable[[], Any], rounds: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = clock()
        action()
        best = min(best, clock() - start)
    return best


def run() -> list[dict[str, object]]:
    organization, _ = Organization.objects.get_or_create(
        slug="bench-seal", defaults={"name": "Bench Seal (synthetic)", "is_synthetic": True}
    )
    user = User.objects.create_user("seal@example.test", None, full_name="Bench Synthetic")

    seal_best = read_best = float("inf")
    for round_ in range(ROUNDS):
        ids = _pending_events(organization, user, PER_ROUND, seed=round_)
        read_best = min(read_best, _best(partial(_read_only, ids), 1))
        start = time.perf_counter()
        results = seal_all()
        seal_best = min(seal_best, time.perf_counter() - start)
        assert sum(r.sealed for r in results) == PER_ROUND

    total = PER_ROUND * ROUNDS
    logs = [organization.pk, 0]
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle.zip"
        bundle_write(log_ids=logs, destination=bundle)

        def offline() -> None:
            reports = verify_bundle(str(bundle))
            assert all(r.ok for r in reports)
            assert sum(r.events for r in reports) == total

        offline_seconds = _best(offline, VERIFY_ROUNDS, time.process_time)

    keys = known_public_keys()

    in_memory: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for log_id in logs:
        records = [record for record, _leaf in _sealed_rows(log_id)]
        heads = [h.as_json() for h in TreeHead.objects.filter(log_id=log_id)]
        in_memory[log_id] = (records, heads)

    def memory() -> None:
        for log_id, (records, heads) in in_memory.items():
            assert verify_log(log_id, records, heads, keys).ok

    memory_seconds = _best(memory, VERIFY_ROUNDS, time.process_time)

    def database() -> None:
        reports = verify_database(external_head_files=[])
        assert all(r.ok for r in reports)
        assert sum(r.events for r in reports) == total

    database_seconds = _best(database, VERIFY_ROUNDS)

    goal = f"goal: {GOAL_PER_SECOND:,} events/s"
    return [
        {
            "name": "audit seal (backlog of 10,000)",
            "n": PER_ROUND,
            "ours_seconds": seal_best,
            "peer_name": "read the same events (ORM)",
            "peer_seconds": read_best,
        },
        {
            "name": "audit verify, offline bundle",
            "n": total,
            "ours_seconds": offline_seconds,
            "peer_name": goal,
            "peer_seconds": total / GOAL_PER_SECOND,
        },
        {
            "name": "audit verify, records in memory",
            "n": total,
            "ours_seconds": memory_seconds,
            "peer_name": goal,
            "peer_seconds": total / GOAL_PER_SECOND,
        },
        {
            "name": "audit verify, database",
            "n": total,
            "ours_seconds": database_seconds,
            "peer_name": goal,
            "peer_seconds": total / GOAL_PER_SECOND,
        },
    ]
