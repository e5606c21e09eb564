"""Error pages that reveal nothing: no paths, no ids, no exception text."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from phiwarden.core import context
from phiwarden.core.errors import AuditUnavailable


def _error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    ctx = context.current()
    return render(
        request,
        "error.html",
        {
            "status": status,
            "title": title,
            "message": message,
            "request_id": ctx.request_id if ctx else "",
        },
        status=status,
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, "Bad request", "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request, 403, "Not allowed", "Your role does not allow this action in this organization."
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "Not found", "There is nothing here, or it is not yours to see.")


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(
        request,
        500,
        "Something went wrong",
        "The error was recorded. Quote the request id below when you report it.",
    )


def audit_unavailable(request: HttpRequest) -> HttpResponse:
    return _error(request, 503, "Audit trail unavailable", AuditUnavailable.message)
