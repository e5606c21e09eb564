"""The JSON API at /api/v1/ (OpenAPI at /api/v1/openapi.json). Every route but health needs a
personal API token; the UI and the API call the same selectors and services."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema, Status

from phiwarden.accounts.api import router as accounts_router
from phiwarden.accounts.api_auth import TokenAuth
from phiwarden.audit.api import router as audit_router
from phiwarden.billing.api import router as billing_router
from phiwarden.compliance.api import router as compliance_router
from phiwarden.core.errors import AuditUnavailable
from phiwarden.incidents.api import router as incidents_router
from phiwarden.partners.api import router as partners_router

api = NinjaAPI(
    title="PHI Warden API",
    version="1",
    urls_namespace="api",
    auth=TokenAuth(),
    docs_url=None,  # the interactive docs load scripts from a CDN; the schema is enough
)


class HealthOut(Schema):
    status: str
    database: str


@api.get("/health", auth=None, response={200: HealthOut, 503: HealthOut}, tags=["health"])
def health(request: HttpRequest) -> Status[HealthOut]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return Status(503, HealthOut(status="unavailable", database="unreachable"))
    return Status(200, HealthOut(status="ok", database="ok"))


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": "Not allowed"}, status=403)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found"}, status=404)


@api.exception_handler(AuditUnavailable)
def on_audit_unavailable(request: HttpRequest, exc: AuditUnavailable) -> HttpResponse:
    return api.create_response(request, {"detail": AuditUnavailable.message}, status=503)


@api.exception_handler(ValidationError)
def on_invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.messages}, status=422)


api.add_router("/", accounts_router)
api.add_router("/", compliance_router)
api.add_router("/", audit_router)
api.add_router("/billing", billing_router)
api.add_router("/partners", partners_router)
api.add_router("/", incidents_router)
