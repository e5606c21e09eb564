"""The incidents API operations in the authorization matrix (merged by matrix_routes).

The objects come from matrix_routes.build(): `incident_id` is ready to close (its breach
assessment signed, its client notice sent, its notice to individuals `notice_id` generated
but unsent); `step_id`, `assessment_id` (a draft ready to sign) and `action_id` (open)
belong to the other incident, which is in progress; `client_notice_id` is the sent notice
to the client. Operations on one object of an incident name it by its own id."""

from __future__ import annotations

from phiwarden.accounts.roles import Capability
from phiwarden.audit.codes import EventCode
from phiwarden.core.tests.matrix import ApiRoute, Param

REPORT, MANAGE = Capability.INCIDENTS_REPORT, Capability.INCIDENTS_MANAGE
PREFIX = "/api/v1/incidents"
WINDOW = {"since": "2025-02-01T00:00:00Z", "until": "2025-03-03T00:00:00Z"}
EXPORTED = EventCode.INCIDENT_EXPORTED.value

API_ROUTES: dict[str, ApiRoute] = {
    # Any member reports, and lists the incidents they reported.
    f"GET {PREFIX}": ApiRoute(REPORT),
    f"POST {PREFIX}": ApiRoute(
        REPORT,
        body={
            "kind": "lost_device",
            "title": "Matrix API lost laptop",
            "description": "A synthetic laptop left on a train.",
            "discovered_on": "2025-03-01",
            "client_ids": [Param("client_id")],
        },
        ok_status=(201,),
    ),
    # Everything else is the officers'.
    f"GET {PREFIX}/breach-log": ApiRoute(MANAGE),
    f"GET {PREFIX}/breach-log.csv": ApiRoute(MANAGE, allowed_event=EXPORTED),
    f"GET {PREFIX}/breach-log.xlsx": ApiRoute(MANAGE, allowed_event=EXPORTED),
    f"GET {PREFIX}/{{incident_id}}": ApiRoute(MANAGE),
    f"PATCH {PREFIX}/{{incident_id}}": ApiRoute(
        MANAGE, body={"title": "Matrix API corrected label", "safeguards_before": "Encryption"}
    ),
    f"GET {PREFIX}/{{incident_id}}/description": ApiRoute(
        MANAGE, allowed_event=EventCode.INCIDENT_VIEWED.value
    ),
    f"POST {PREFIX}/{{incident_id}}/evidence": ApiRoute(
        MANAGE, body={"actor_ids": [Param("scope_user_id")], **WINDOW}, ok_status=(201,)
    ),
    f"POST {PREFIX}/{{incident_id}}/scopings": ApiRoute(
        MANAGE, body={"actor_ids": [Param("scope_user_id")], **WINDOW}, ok_status=(201,)
    ),
    f"GET {PREFIX}/{{incident_id}}/assessment": ApiRoute(MANAGE),
    # The incident's assessment is signed: saving starts version 2 from a copy of it.
    f"POST {PREFIX}/{{incident_id}}/assessment": ApiRoute(
        MANAGE, body={"recipient": "Matrix API recipient", "reasons": "Matrix API reasons"}
    ),
    f"POST {PREFIX}/{{incident_id}}/assessment/versions": ApiRoute(MANAGE, ok_status=(201,)),
    f"POST {PREFIX}/{{incident_id}}/actions": ApiRoute(
        MANAGE,
        body={
            "description": "Matrix API corrective action",
            "owner_id": Param("action_owner_id"),
            "due_on": "2025-04-01",
        },
        ok_status=(201,),
    ),
    f"POST {PREFIX}/{{incident_id}}/close": ApiRoute(
        MANAGE, body={"root_cause": "Matrix API root cause"}
    ),
    f"GET {PREFIX}/{{incident_id}}/timeline": ApiRoute(MANAGE),
    f"GET {PREFIX}/{{incident_id}}/timeline.pdf": ApiRoute(MANAGE, allowed_event=EXPORTED),
    # One object of an incident, by its own id.
    f"POST {PREFIX}/steps/{{step_id}}": ApiRoute(MANAGE, body={"note": "Matrix API step note"}),
    f"POST {PREFIX}/assessments/{{assessment_id}}/sign": ApiRoute(MANAGE),
    f"POST {PREFIX}/notices/{{notice_id}}/generate": ApiRoute(MANAGE),
    f"GET {PREFIX}/notices/{{notice_id}}/files/{{kind}}": ApiRoute(
        MANAGE, allowed_event=EventCode.INCIDENT_NOTICE_DOWNLOADED.value
    ),
    f"POST {PREFIX}/notices/{{notice_id}}/sent": ApiRoute(
        MANAGE, body={"method": "Matrix API courier"}
    ),
    f"POST {PREFIX}/notices/{{client_notice_id}}/ack": ApiRoute(
        MANAGE, body={"note": "Matrix API receipt"}
    ),
    f"POST {PREFIX}/actions/{{action_id}}/done": ApiRoute(MANAGE),
    f"POST {PREFIX}/actions/{{action_id}}/verify": ApiRoute(
        MANAGE, body={"verification": "Matrix API check"}
    ),
}
