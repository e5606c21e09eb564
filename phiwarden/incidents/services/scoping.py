"""Run a breach scoping for an incident and keep its result with the query that made it."""

from __future__ import annotations

from django.db import transaction

from phiwarden.accounts.models import Membership
from phiwarden.incidents.models import Incident, ScopingRun
from phiwarden.incidents.scoping import ScopeQuery, breach_scope
from phiwarden.incidents.services.containment import manage_require


def scoping_run(*, actor: Membership, incident: Incident, query: ScopeQuery) -> ScopingRun:
    """Compute who was exposed (recorded by `breach_scope` with every patient in scope) and
    store the counts, PHI classes and patient ids on the incident."""
    manage_require(actor, incident)
    with transaction.atomic():
        result = breach_scope(membership=actor, query=query, target=incident)
        run = ScopingRun.objects.create(
            organization=actor.organization,
            incident=incident,
            computed_by=actor.user,
            query=query.as_json(),
            individuals=result.individuals,
            events=result.events,
            viewed_events=result.viewed_events,
            by_client={str(client): n for client, n in sorted(result.by_client.items())},
            by_state=dict(sorted(result.by_state.items())),
            by_client_state={
                str(client): dict(sorted(states.items()))
                for client, states in sorted(result.by_client_state.items())
            },
            phi_classes=sorted(result.phi_classes),
            patient_ids=sorted(result.patient_ids),
        )
        clients = [int(client) for client in run.by_client]
        if clients:
            incident.clients.add(*clients)
    return run
