"""What each app tells the authorization matrix about its routes.

The matrix (`test_authorization_matrix.py`) walks every URL and API route. The hand-written
part, what each route requires, lives beside the app that owns the route: a module
`phiwarden/<app>/tests/matrix_routes.py` may define

    ORG_ROUTES: dict[str, OrgRoute]            pages under /o/<slug>/, by URL name
    API_ROUTES: dict[str, ApiRoute]            "METHOD /api/v1/path" operations
    SNAPSHOT_MODELS: dict[type[Model], frozenset[str]]
        rows that a refused call must leave as they were (fields to ignore)
    def build(seed: TenantSeed) -> Contribution
        makes the app's objects in one organization and names them: values for URL and
        API parameters (`<vendor_id>` → a vendor of that organization) and strings that
        only permitted members of that organization may see

so that several apps can grow the matrix without editing one shared table.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import phiwarden
from phiwarden.accounts.models import Client, Membership, Organization
from phiwarden.accounts.roles import Capability, Role

GET, POST, GET_POST = ("GET",), ("POST",), ("GET", "POST")


@dataclass(frozen=True)
class Param:
    """A value in a form or JSON body that names one of the tenant's objects."""

    name: str


@dataclass(frozen=True)
class OrgRoute:
    """A page under /o/<org_slug>/: the capability it needs and how it is called."""

    capability: Capability
    methods: tuple[str, ...] = GET
    reauthentication: bool = False
    # Which of the target organization's members a <member_id> names.
    member: str = "colleague"
    # What an allowed POST sends; it must change something, or a refusal proves nothing.
    # Values may be `Param("name")`, filled from the tenant's objects.
    form: dict[str, Any] = field(default_factory=dict, hash=False)
    # A POST that answers with a file (an export) rather than a redirect.
    post_status: tuple[int, ...] = (200, 302)
    # An allowed POST that changes no rows but writes this audit event (an export).
    allowed_event: str = ""


@dataclass(frozen=True)
class ApiRoute:
    """An API operation: the capability its token needs (None: open to anyone)."""

    capability: Capability | None
    # The JSON body of an allowed call (POST/PUT/PATCH); values may be `Param("name")`.
    body: dict[str, Any] | None = field(default=None, hash=False)
    # Or a multipart form (file uploads); values may be Params or zero-argument callables.
    multipart: dict[str, Any] | None = field(default=None, hash=False)
    ok_status: tuple[int, ...] = (200,)
    # An allowed write that changes no rows but writes this audit event (a look-up).
    allowed_event: str = ""
    # Whether the path's parameters name one organization's objects (then another
    # organization's object must answer 404). False for values such as a period "2025-02".
    tenant_path: bool = True


@dataclass(frozen=True)
class TenantSeed:
    """One organization of the matrix's world, before the apps add their objects."""

    organization: Organization
    client: Client
    members: dict[Role, Membership]


@dataclass
class Contribution:
    params: dict[str, Any] = field(default_factory=dict)
    private_strings: list[str] = field(default_factory=list)


def resolve(value: Any, params: dict[str, Any]) -> Any:
    """Fill `Param`s (also inside lists and dicts) from a tenant's objects, and call
    zero-argument callables (a fresh upload for each request)."""
    if callable(value) and not isinstance(value, type):
        return value()
    if isinstance(value, Param):
        if value.name not in params:
            raise KeyError(f"no object named {value.name!r}: add it in a matrix build()")
        return params[value.name]
    if isinstance(value, dict):
        return {k: resolve(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, params) for v in value]
    return value


def contribution_modules() -> list[ModuleType]:
    """Every app's `tests/matrix_routes.py`, in app order."""
    found = []
    for app in pkgutil.iter_modules(phiwarden.__path__):
        name = f"phiwarden.{app.name}.tests.matrix_routes"
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as error:
            if error.name not in (name, f"phiwarden.{app.name}.tests"):
                raise
    return found


def merged(attribute: str) -> dict[Any, Any]:
    table: dict[Any, Any] = {}
    for module in contribution_modules():
        for key, value in getattr(module, attribute, {}).items():
            if key in table:
                raise ValueError(f"{key!r} is in two matrix_routes modules")
            table[key] = value
    return table


def builders() -> list[Callable[[TenantSeed], Contribution]]:
    return [m.build for m in contribution_modules() if hasattr(m, "build")]
