from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from phiwarden.core import context
from phiwarden.core.errors import AuditUnavailable


def client_ip(request: HttpRequest) -> str | None:
    """The client address, trusting X-Forwarded-For only through configured proxies."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return str(hops[-proxies])
    address = request.META.get("REMOTE_ADDR")
    return str(address) if address else None


class RequestContextMiddleware:
    """Give every request an id (echoed as X-Request-ID) and bind it for audit and logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = context.new_request_id()
        via = "api" if request.path.startswith("/api/") else "web"
        ctx = context.RequestContext(request_id=request_id, ip_address=client_ip(request), via=via)
        with context.bound(ctx):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class AuditUnavailableMiddleware:
    """A page whose audit event could not be written answers 503 and shows nothing
    (the view's transaction rolled back with the failed write)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, AuditUnavailable):
            from phiwarden.core.views import audit_unavailable

            return audit_unavailable(request)
        return None
