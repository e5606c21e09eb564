"""What the one audit writer costs over writing the same rows by hand.

`audit_event_record` (ours) validates `data`, resolves the target, copies the actor label
and reads the request context, then, inside a savepoint, inserts the event and its
pending-seal marker (so the sealer cannot miss it). The peers:

* `AuditEvent.objects.create` with the values precomputed: the event row alone, no checks,
  no seal marker (what an unsealed audit log costs);
* the same two rows (event + `PendingSeal`) with no checks and no savepoint: isolates the
  writer's own overhead;
* `AuditEvent.objects.bulk_create` of all N rows: an upper bound no per-event writer reaches.

Each loop writes N events inside one transaction, as a service or a PHI selector would
inside its own. Every timing is the best of ROUNDS, with the writers interleaved
so that the growing table and the page cache treat them alike. Rows are never deleted:
the audit tables refuse DELETE (append-only triggers).

Issue 3 adds django-auditlog's LogEntry as a peer here, single-event and batched, on
SQLite and PostgreSQL; until then this measures the writer's own overhead.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from phiwarden.accounts.models import Membership, Organization, User
from phiwarden.accounts.roles import Role
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.models import AuditEvent, PendingSeal, log_id_for
from phiwarden.audit.services import audit_event_record
from phiwarden.core import context

N = 2000
ROUNDS = 5


def _fixtures() -> tuple[Organization, User, Membership]:
    organization, _ = Organization.objects.get_or_create(
        slug="bench-billing", defaults={"name": "Bench Billing (synthetic)", "is_synthetic": True}
    )
    user = User.objects.filter(email="bench@example.test").first()
    if user is None:
        user = User.objects.create_user("bench@example.test", None, full_name="Bench Synthetic")
    membership, _ = Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": Role.CLAIMS_SPECIALIST}
    )
    return organization, user, membership


def _timed(loop: Callable[[], None]) -> float:
    start = time.perf_counter()
    with transaction.atomic():
        loop()
    return time.perf_counter() - start


def run() -> list[dict[str, object]]:
    organization, user, membership = _fixtures()
    request = context.RequestContext(
        request_id=context.new_request_id(), ip_address="192.0.2.10", via="web"
    )
    target_type = membership._meta.label_lower
    target_id = str(membership.pk)

    def ours() -> None:
        for i in range(N):
            audit_event_record(
                actor=user,
                organization=organization,
                event_code=EventCode.MEMBER_CLIENTS_CHANGED,
                target=membership,
                data={"old_client_ids": [1, 2], "new_client_ids": [i]},
            )

    def row(i: int) -> AuditEvent:
        return AuditEvent(
            organization=organization,
            occurred_at=timezone.now(),
            actor=user,
            actor_label=user.email,
            event_code=EventCode.MEMBER_CLIENTS_CHANGED,
            outcome=Outcome.ALLOWED,
            target_type=target_type,
            target_id=target_id,
            request_id=request.request_id,
            ip_address=request.ip_address,
            via=request.via,
            data={"old_client_ids": [1, 2], "new_client_ids": [i]},
        )

    def bare_create() -> None:
        for i in range(N):
            AuditEvent.objects.create(
                organization=organization,
                occurred_at=timezone.now(),
                actor=user,
                actor_label=user.email,
                event_code=EventCode.MEMBER_CLIENTS_CHANGED,
                outcome=Outcome.ALLOWED,
                target_type=target_type,
                target_id=target_id,
                request_id=request.request_id,
                ip_address=request.ip_address,
                via=request.via,
                data={"old_client_ids": [1, 2], "new_client_ids": [i]},
            )

    log_id = log_id_for(organization.pk)

    def same_rows() -> None:
        for i in range(N):
            event = row(i)
            event.save(force_insert=True)
            PendingSeal.objects.create(event=event, log_id=log_id)

    def bulk() -> None:
        AuditEvent.objects.bulk_create([row(i) for i in range(N)], batch_size=500)

    loops = {"ours": ours, "create": bare_create, "same_rows": same_rows, "bulk": bulk}
    best = dict.fromkeys(loops, float("inf"))
    with context.bound(request):
        for loop in loops.values():  # warm-up: imports, statement caches, the file's first pages
            _timed(loop)
        for _ in range(ROUNDS):
            for key, loop in loops.items():
                best[key] = min(best[key], _timed(loop))

    written = AuditEvent.objects.filter(organization=organization).count()
    assert written == N * len(loops) * (ROUNDS + 1), written

    return [
        {
            "name": "audit write, N in one transaction",
            "n": N,
            "ours_seconds": best["ours"],
            "peer_name": "AuditEvent.objects.create",
            "peer_seconds": best["create"],
        },
        {
            "name": "audit write, N in one transaction",
            "n": N,
            "ours_seconds": best["ours"],
            "peer_name": "event + PendingSeal, no checks",
            "peer_seconds": best["same_rows"],
        },
        {
            "name": "audit write, N in one transaction",
            "n": N,
            "ours_seconds": best["ours"],
            "peer_name": "bulk_create (upper bound)",
            "peer_seconds": best["bulk"],
        },
    ]
