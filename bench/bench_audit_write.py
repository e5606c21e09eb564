"""Audit event writes: our one writer against django-auditlog, and against bare rows.

What is compared, like for like: one audit record of one change ("member X's client
access changed from [1, 2] to [i]", by user U, from IP A, in request R), written

* by ours, `audit_event_record(...)`: validates `data`, resolves the target, copies the
  actor label, reads the request context, then, in a savepoint, inserts the event and its
  pending-seal marker (the row that guarantees the sealer finds it, which is what makes
  the log tamper-evident once sealed);
* by django-auditlog 3.x, `LogEntry.objects.log_create(instance, force_log=True, ...)`
  with the same facts: content type, object pk and repr, action UPDATE, the change as
  JSON, actor and actor e-mail, remote address, correlation id. That is auditlog's own
  writer without its model diffing (its signal handlers compute `changes` from a
  model's fields before calling log_create), so the peer does strictly less work than
  auditlog in normal use. Its rows are plain rows that anyone with database access can
  edit: no sealing, no append-only triggers.

Two shapes, each on SQLite and PostgreSQL:

* one event per transaction (N_SINGLE transactions, each `transaction.atomic()` around
  one write), as a log-in or a single PHI read records itself;
* N_BATCH events in one transaction, as a service or a report writes many.

For the batched shape two more peers isolate our own cost:
`AuditEvent.objects.create` with values precomputed (the event row, whose pending-seal
marker the database trigger adds, with no checks); and `bulk_create` of all rows, an upper
bound that no per-event writer can reach.

Every timing is the best of ROUNDS after one warm-up, with the writers interleaved so
that the growing tables and the caches treat them alike. Rows are never deleted: the
audit tables refuse DELETE (append-only triggers).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from auditlog.models import LogEntry  # type: ignore[import-untyped]
from django.db import transaction
from django.utils import timezone

from phiwarden.accounts.models import Membership, Organization, User
from phiwarden.accounts.roles import Role
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.models import AuditEvent
from phiwarden.audit.services import audit_event_record
from phiwarden.core import context

DATABASES = ("sqlite", "postgresql")
EXTRA_APPS = ("auditlog",)

N_BATCH = 2000
N_SINGLE = 500
ROUNDS = 5

Loop = Callable[[int], None]  # writes event number i


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


def _timed(write: Loop, n: int, *, per_event_transaction: bool) -> float:
    """Seconds to write n events, in one transaction or one transaction each."""
    start = time.perf_counter()
    if per_event_transaction:
        for i in range(n):
            with transaction.atomic():
                write(i)
    else:
        with transaction.atomic():
            for i in range(n):
                write(i)
    return time.perf_counter() - start


def _best(writers: dict[str, Loop], n: int, *, per_event_transaction: bool) -> dict[str, float]:
    """Best of ROUNDS per writer, after one warm-up, the writers interleaved."""
    best = dict.fromkeys(writers, float("inf"))
    for write in writers.values():  # warm-up: imports, statement caches, first pages
        _timed(write, n, per_event_transaction=per_event_transaction)
    for _ in range(ROUNDS):
        for key, write in writers.items():
            seconds = _timed(write, n, per_event_transaction=per_event_transaction)
            best[key] = min(best[key], seconds)
    return best


def run() -> list[dict[str, object]]:
    organization, user, membership = _fixtures()
    request = context.RequestContext(
        request_id=context.new_request_id(), ip_address="192.0.2.10", via="web"
    )
    target_type = membership._meta.label_lower
    target_id = str(membership.pk)

    def ours(i: int) -> None:
        audit_event_record(
            actor=user,
            organization=organization,
            event_code=EventCode.MEMBER_CLIENTS_CHANGED,
            target=membership,
            data={"old_client_ids": [1, 2], "new_client_ids": [i]},
        )

    def auditlog(i: int) -> None:
        LogEntry.objects.log_create(
            membership,
            force_log=True,
            action=LogEntry.Action.UPDATE,
            changes={"client_ids": [[1, 2], [i]]},
            actor=user,
            actor_email=user.email,
            remote_addr=request.ip_address,
            cid=request.request_id,
        )

    def row(i: int) -> AuditEvent:
        """The event ours writes, with every value precomputed and nothing checked."""
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

    def bare_create(i: int) -> None:
        row(i).save(force_insert=True)

    bulk_rows: list[AuditEvent] = []

    def bulk(i: int) -> None:
        bulk_rows.append(row(i))
        if i == N_BATCH - 1:
            AuditEvent.objects.bulk_create(bulk_rows, batch_size=500)
            bulk_rows.clear()

    with context.bound(request):
        single = _best({"ours": ours, "auditlog": auditlog}, N_SINGLE, per_event_transaction=True)
        batch = _best(
            {
                "ours": ours,
                "auditlog": auditlog,
                "create": bare_create,
                "bulk": bulk,
            },
            N_BATCH,
            per_event_transaction=False,
        )

    rounds = ROUNDS + 1
    written = AuditEvent.objects.filter(organization=organization).count()
    assert written == N_SINGLE * rounds + N_BATCH * 3 * rounds, written
    assert LogEntry.objects.count() == (N_SINGLE + N_BATCH) * rounds

    def result(
        name: str, n: int, best: dict[str, float], peer: str, label: str
    ) -> dict[str, object]:
        return {
            "name": name,
            "n": n,
            "ours_seconds": best["ours"],
            "peer_name": label,
            "peer_seconds": best[peer],
        }

    one_each = "audit write, 1 event per transaction"
    in_one = f"audit write, {N_BATCH} in one transaction"
    return [
        result(one_each, N_SINGLE, single, "auditlog", "django-auditlog LogEntry"),
        result(in_one, N_BATCH, batch, "auditlog", "django-auditlog LogEntry"),
        result(in_one, N_BATCH, batch, "create", "AuditEvent.objects.create"),
        result(in_one, N_BATCH, batch, "bulk", "bulk_create (upper bound)"),
    ]
