"""Shared test data for the incidents app: two clients' imported claims and two members
who read some of those patients at known times, so scoping has known answers; and rows
(incident, scoping run, assessment, notice) made directly, so due dates are known answers."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import time_machine
from django.utils import timezone

from phiwarden.accounts.models import Client, Membership
from phiwarden.accounts.roles import Role
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.billing.imports import x12_import
from phiwarden.billing.models import Patient
from phiwarden.billing.synthetic import generate_batch
from phiwarden.incidents.models import Assessment, Incident, Notice, ScopingRun

T0 = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)
DISCOVERED = dt.date(2026, 10, 20)  # a Tuesday


def window() -> tuple[dt.datetime, dt.datetime]:
    return T0, T0 + dt.timedelta(days=30)


def scoping_world(owner: Membership, clients: list[Client], make_member: Any) -> dict[str, Any]:
    """The snoop reads 3 of client 0's patients and 2 of client 1's inside the window (one
    more of client 0's before it); the other member reads 2 of client 0's, one shared."""
    for client, seed in ((clients[0], 31), (clients[1], 32)):
        stream = io.BytesIO()
        generate_batch(seed=seed, claims=80).write_837p(stream)
        stream.seek(0)
        x12_import(actor=owner, client=client, stream=stream, filename="w.837")
    first = list(Patient.objects.filter(client=clients[0]).order_by("pk"))
    second = list(Patient.objects.filter(client=clients[1]).order_by("pk"))
    snoop = make_member(Role.AR_SPECIALIST, email="snoop@example.test")
    other = make_member(Role.CODER, email="other@example.test")

    def read(
        member: Membership,
        patients: list[Patient],
        at: dt.datetime,
        fields: tuple[str, ...] = ("patient.name", "claim.amounts"),
        token: str = "",
    ) -> None:
        with time_machine.travel(at, tick=False):
            audit_event_record(
                actor=member.user, organization=member.organization,
                event_code=EventCode.BILLING_PHI_VIEWED, purpose="payment",
                patient_ids=[p.pk for p in patients], fields_disclosed=list(fields),
                api_token_prefix=token,
            )  # fmt: skip

    read(snoop, first[:2], T0 + dt.timedelta(days=1))
    read(snoop, [first[2]], T0 + dt.timedelta(days=2), fields=("patient.ssn",))
    read(snoop, second[:2], T0 + dt.timedelta(days=3), token="tok123")
    read(snoop, [first[3]], T0 - dt.timedelta(days=5))
    read(other, first[1:3], T0 + dt.timedelta(days=1), fields=("claim.diagnoses",))
    return {"first": first, "second": second, "snoop": snoop, "other": other}


# --- Rows made directly -------------------------------------------------------------


def make_incident(
    officer: Membership,
    number: int = 1,
    *,
    discovered_on: dt.date = DISCOVERED,
    clients: list[Client] = (),  # type: ignore[assignment]
    status: str = Incident.Status.REPORTED,
    **fields: object,
) -> Incident:
    incident = Incident.objects.create(
        organization=officer.organization,
        number=number,
        discovered_on=discovered_on,
        reported_by=officer.user,
        status=status,
        **{
            "kind": Incident.Kind.UNAUTHORIZED_ACCESS,
            "title": "Snooping",
            "description_ct": b"ciphertext",
            **fields,
        },
    )
    incident.clients.set(clients)
    return incident


def scoping(officer: Membership, incident: Incident, clients: list[Client]) -> ScopingRun:
    return ScopingRun.objects.create(
        organization=officer.organization,
        incident=incident,
        computed_by=officer.user,
        query={},
        individuals=12,
        by_client={str(c.pk): 6 for c in clients},
        by_state={"TX": 12},
        patient_ids=list(range(1, 13)),
    )


def sign(
    officer: Membership,
    incident: Incident,
    decision: str,
    *,
    version: int = 1,
    run: ScopingRun | None = None,
    signed: bool = True,
) -> Assessment:
    return Assessment.objects.create(
        organization=officer.organization,
        incident=incident,
        version=version,
        scoping=run,
        decision=decision,
        reasons="Synthetic reasons",
        mitigation="Access removed",
        created_by=officer.user,
        signed_at=timezone.now() if signed else None,
        signed_by=officer.user if signed else None,
    )


def notice(
    officer: Membership,
    assessment: Assessment,
    client: Client,
    recipient: str,
    due_on: dt.date,
    citation: str,
    *,
    state: str = "",
    sent: bool = False,
) -> Notice:
    assert assessment.scoping is not None
    return Notice.objects.create(
        organization=officer.organization,
        incident=assessment.incident,
        recipient=recipient,
        client=client,
        state=state,
        assessment=assessment,
        scoping=assessment.scoping,
        individuals=6,
        due_on=due_on,
        citation=citation,
        sent_at=timezone.now() if sent else None,
    )
