"""The authorization matrix: every URL and API route, for every role, in its own organization
and in another.

The routes come from walking the URL resolver and the API's OpenAPI schema, never from a
list kept by hand. The one hand-written part is the table below that says what each route
requires; a route missing from it fails the suite, so a new view cannot escape the matrix.
Allowed and refused follow from `ROLE_CAPABILITIES`. Every refused request is also shown to
change nothing, to write no audit event but the one denial, to send no email and to return
no data of the organization it aimed at (STYLE.md §8, DESIGN.md tenancy).

Speed: the two organizations, their people, invitations and tokens are made once per module
inside a transaction that each test's own transaction nests in (pytest-django allows this
for non-transactional tests); each role signs in once through the real log-in page and every
test reuses that session cookie. The clock stands still for the whole module, so the idle
timeout and the re-authentication window cannot run out halfway through.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection, models, transaction
from django.test import Client as HttpClient
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from phiwarden.accounts.models import (
    ApiToken,
    Client,
    Invitation,
    Membership,
    Organization,
    User,
    hash_token,
)
from phiwarden.accounts.roles import ROLE_CAPABILITIES, Capability, Role
from phiwarden.accounts.services import api_token_create
from phiwarden.api import api
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.models import AuditEvent
from phiwarden.audit.sealing import latest_tree_head
from phiwarden.conftest import PASSWORD
from phiwarden.core.tests.matrix import (
    GET,
    GET_POST,
    POST,
    ApiRoute,
    OrgRoute,
    TenantSeed,
    builders,
    merged,
    resolve,
)
from phiwarden.core.tests.phi_door import phi_door_guard

pytestmark = pytest.mark.django_db

C = Capability

# --- The table: what each route requires (the only hand-written part) -----------------
# Other apps add theirs in phiwarden/<app>/tests/matrix_routes.py (see matrix.py).

ORG_ROUTES: dict[str, OrgRoute] = {
    "compliance:dashboard": OrgRoute(C.DASHBOARD_VIEW),
    "compliance:obligations": OrgRoute(C.CHECKLIST_VIEW),
    "accounts:member-list": OrgRoute(C.MEMBERS_VIEW),
    "accounts:invitation-create": OrgRoute(
        C.MEMBERS_MANAGE,
        GET_POST,
        reauthentication=True,
        form={"email": "new-hire@example.test", "role": Role.CODER.value},
    ),
    "accounts:invitation-revoke": OrgRoute(C.MEMBERS_MANAGE, POST),
    "accounts:member-edit": OrgRoute(
        C.MEMBERS_MANAGE, GET_POST, reauthentication=True, form={"role": Role.CODER.value}
    ),
    "accounts:member-deactivate": OrgRoute(C.MEMBERS_MANAGE, POST, reauthentication=True),
    "accounts:member-reactivate": OrgRoute(
        C.MEMBERS_MANAGE, POST, reauthentication=True, member="departed"
    ),
    "accounts:security-settings": OrgRoute(
        C.SECURITY_SETTINGS_MANAGE,
        GET_POST,
        reauthentication=True,
        form={"idle_timeout_minutes": 30, "session_max_age_hours": 8},
    ),
    "accounts:api-token-list": OrgRoute(C.API_TOKENS_USE),
    "accounts:api-token-create": OrgRoute(
        C.API_TOKENS_USE,
        GET_POST,
        reauthentication=True,
        form={"name": "Matrix probe", "scopes": [C.DASHBOARD_VIEW.value], "days": 30},
    ),
    "accounts:api-token-revoke": OrgRoute(C.API_TOKENS_USE, POST),
    **merged("ORG_ROUTES"),
}


@dataclass(frozen=True)
class PersonalRoute:
    """A page about the signed-in person, outside any organization: any member may use it."""

    method: str
    status: int


SIGNED_IN_ROUTES: dict[str, PersonalRoute] = {
    "home": PersonalRoute("GET", 302),  # on to the member's organization
    "personal:account-security": PersonalRoute("GET", 200),
    "personal:sessions-end-all": PersonalRoute("POST", 302),  # back to the log-in page
}

# Open to anyone: the secret token in the link is the credential.
PUBLIC_ROUTES: dict[str, tuple[str, ...]] = {"invitation-accept": GET_POST}

# Every API operation in the OpenAPI schema: the capability its token needs (None: open).
_ACCOUNTS_API_ROUTES: dict[str, Capability | None] = {
    "GET /api/v1/health": None,  # load balancers and uptime checks probe it without a token
    "GET /api/v1/me": C.DASHBOARD_VIEW,
    "GET /api/v1/members": C.MEMBERS_VIEW,
    "GET /api/v1/checklist": C.CHECKLIST_VIEW,
    "GET /api/v1/obligations": C.CHECKLIST_VIEW,
    "GET /api/v1/audit/events": C.AUDIT_VIEW,
    "GET /api/v1/audit/tree-heads": C.AUDIT_VIEW,
    "GET /api/v1/audit/events/{event_id}/inclusion-proof": C.AUDIT_VIEW,
    "GET /api/v1/audit/consistency-proof": C.AUDIT_VIEW,
}
API_ROUTES: dict[str, ApiRoute] = {
    **{operation: ApiRoute(capability) for operation, capability in _ACCOUNTS_API_ROUTES.items()},
    **merged("API_ROUTES"),
}
# API URLs outside the schema, answered without a token.
API_OUTSIDE_SCHEMA: dict[str, int] = {"api:openapi-json": 200, "api:api-root": 404}

# allauth's own pages, the operations admin (tested on its own below) and static files.
SKIPPED_PREFIXES = ("accounts/", "ops/admin/", "static/")
ORG_PREFIX = "o/<slug:org_slug>/"
API_PREFIX = "api/v1/"

# --- Walking the routes ---------------------------------------------------------------


@dataclass(frozen=True)
class WalkedRoute:
    name: str
    route: str
    params: tuple[str, ...]


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[WalkedRoute]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace or "") if part)
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            name = entry.name or ""
            if name and namespace:
                name = f"{namespace}:{name}"
            params = tuple(re.findall(r"<(?:\w+:)?(\w+)>", route))
            yield WalkedRoute(name=name, route=route, params=params)


WALKED = [r for r in _walk(get_resolver().url_patterns) if not r.route.startswith(SKIPPED_PREFIXES)]
WALKED_BY_NAME = {r.name: r for r in WALKED}
WALKED_ORG = [r for r in WALKED if r.route.startswith(ORG_PREFIX)]
WALKED_API = [r for r in WALKED if r.route.startswith(API_PREFIX)]
WALKED_OTHER = [r for r in WALKED if r not in WALKED_ORG and r not in WALKED_API]

API_SCHEMA_PATHS: dict[str, dict[str, Any]] = api.get_openapi_schema()["paths"]


def _schema_path(walked: WalkedRoute) -> str:
    """The OpenAPI path of a URL route: `<int:event_id>` is written `{event_id}` there."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", walked.route)


API_OPERATIONS = sorted(
    f"{method.upper()} {path}"
    for path, operations in API_SCHEMA_PATHS.items()
    for method in operations
)

# --- The world: two organizations with a member in every role -------------------------

OURS, THEIRS = "own_org", "other_org"
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@dataclass
class Tenant:
    organization: Organization
    client: Client  # a covered entity the organization bills for
    members: dict[Role, Membership]
    colleague: Membership  # an active workforce member whom managers may change
    departed: Membership  # a deactivated member whom managers may reactivate
    invitation: Invitation
    invitation_link_token: str
    tokens: dict[Role, tuple[ApiToken, str]]
    # Values for the API's path and required query parameters, filled once the log is sealed.
    api_values: dict[str, Any] = field(default_factory=dict)
    # Objects the other apps made (matrix_routes.build), by parameter name, and the strings
    # that only this organization's permitted members may see.
    params: dict[str, Any] = field(default_factory=dict)
    extra_private: list[str] = field(default_factory=list)

    def api_value(self, name: str) -> Any:
        values = {**self.params, **self.api_values}
        if name not in values:
            pytest.fail(f"no value for API parameter {name!r}: add one in world() or build()")
        return values[name]

    def token_for(self, viewer: Role | None) -> ApiToken:
        """The viewer's own token where the role may hold one, else the owner's."""
        mine = self.tokens.get(viewer) if viewer is not None else None
        return (mine or self.tokens[Role.OWNER])[0]

    def private_strings(self) -> list[str]:
        """What only people with the right capability in this organization may see."""
        people = [*self.members.values(), self.colleague, self.departed]
        return sorted(
            {m.user.email for m in people}
            | {m.user.full_name for m in people}
            | {self.invitation.email}
            | {token.name for token, _ in self.tokens.values()}
            | {token.prefix for token, _ in self.tokens.values()}
            | {self.client.name}
            | set(self.extra_private)
        )

    def all_strings(self) -> list[str]:
        """Everything that would tell a stranger about this organization."""
        return [self.organization.name, self.organization.slug, *self.private_strings()]


@dataclass
class World:
    tenants: dict[str, Tenant]
    sessions: dict[Role, str]  # session cookie of each role's member of our organization

    @property
    def ours(self) -> Tenant:
        return self.tenants[OURS]

    @property
    def theirs(self) -> Tenant:
        return self.tenants[THEIRS]

    def browser(self, viewer: Role | None) -> HttpClient:
        client = HttpClient()
        if viewer is not None:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[viewer]
        return client


def _person(organization: Organization, role: Role, email: str, full_name: str) -> Membership:
    user = User.objects.create_user(email, PASSWORD, full_name=full_name)
    return Membership.objects.create(user=user, organization=organization, role=role)


def _tenant(name: str, slug: str, domain: str, label: str) -> Tenant:
    organization = Organization.objects.create(
        name=name, slug=slug, is_synthetic=True, mfa_required=False
    )
    client = Client.objects.create(organization=organization, name=f"{label} Family Practice")
    members = {
        role: _person(
            organization,
            role,
            f"{role.value.replace('_', '-')}@{domain}",
            f"{label} {role.label} Person",
        )
        for role in Role
    }
    colleague = _person(
        organization, Role.WORKFORCE_MEMBER, f"colleague@{domain}", f"{label} Colleague"
    )
    departed = _person(organization, Role.CODER, f"departed@{domain}", f"{label} Departed")
    departed.is_active = False
    departed.deactivated_at = NOW
    departed.save()
    link_token = f"matrix-invitation-{slug}"
    invitation = Invitation.objects.create(
        organization=organization,
        email=f"invitee@{domain}",
        role=Role.CODER,
        token_hash=hash_token(link_token),
        invited_by=members[Role.OWNER].user,
        expires_at=NOW + timedelta(days=7),
    )
    tokens = {
        role: api_token_create(
            actor=membership,
            name=f"{label} {role.label} token",
            scopes=sorted(c.value for c in ROLE_CAPABILITIES[role]),
            days=30,
        )
        for role, membership in members.items()
        if C.API_TOKENS_USE in ROLE_CAPABILITIES[role]
    }
    tenant = Tenant(
        organization, client, members, colleague, departed, invitation, link_token, tokens
    )
    seed = TenantSeed(organization=organization, client=client, members=members)
    for build in builders():
        contribution = build(seed)
        # Two apps may name the same object alike (the seed's client as `client_id`).
        clash = {
            name
            for name, value in contribution.params.items()
            if name in tenant.params and tenant.params[name] != value
        }
        assert not clash, f"two matrix builders name {sorted(clash)}"
        tenant.params.update(contribution.params)
        tenant.extra_private.extend(contribution.private_strings)
    return tenant


_ADDRESSES = itertools.cycle(range(1, 255))


def _sign_in(email: str, *, reauthenticate: bool = True) -> HttpClient:
    """Sign in through the real log-in page and, unless told not to, confirm the password
    once more on the re-authentication page (with allauth 65.22 the log-in itself does not
    count as a recent re-authentication; see the test of that below).

    Each sign-in comes from its own documentation address (RFC 5737), so that allauth's
    per-address log-in rate limit, whose history other modules fill in real time while this
    one stands in the past, cannot answer 429."""
    client = HttpClient(REMOTE_ADDR=f"192.0.2.{next(_ADDRESSES)}")
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == reverse("home")
    if reauthenticate:
        response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
        assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with (
        django_db_blocker.unblock(),
        time_machine.travel(NOW, tick=False),
        transaction.atomic(),
    ):
        tenants = {
            OURS: _tenant("Alder Billing", "alder-billing", "alder.example.test", "Alder"),
            THEIRS: _tenant("Birch Billing", "birch-billing", "birch.example.test", "Birch"),
        }
        sessions = {
            role: _sign_in(m.user.email).cookies[settings.SESSION_COOKIE_NAME].value
            for role, m in tenants[OURS].members.items()
        }
        # Seal each organization's audit log, so that its proofs can be asked for.
        call_command("audit_seal", stdout=io.StringIO())
        for tenant in tenants.values():
            head = latest_tree_head(tenant.organization.pk)
            assert head is not None
            tenant.api_values = {
                "event_id": AuditEvent.objects.for_organization(tenant.organization)
                .order_by("pk")
                .values_list("pk", flat=True)
                .first(),
                "old_size": head.tree_size,
                "new_size": head.tree_size,
            }
        yield World(tenants=tenants, sessions=sessions)
        transaction.set_rollback(True)


# --- Proving that nothing changed -----------------------------------------------------

# Every concrete field of these rows goes into the hash, so a new field is covered too.
SNAPSHOT_MODELS: dict[type[models.Model], frozenset[str]] = {
    Organization: frozenset(),
    Client: frozenset(),
    User: frozenset(),
    Membership: frozenset(),
    Membership.clients.through: frozenset(),
    Invitation: frozenset(),
    # When a token was last used is bookkeeping, not access: a refused call may touch it.
    ApiToken: frozenset({"last_used_at"}),
    **merged("SNAPSHOT_MODELS"),
}


@dataclass(frozen=True)
class DbState:
    counts: dict[str, int]
    digest: str


def _snapshot_queries() -> list[tuple[str, str]]:
    """One plain SELECT per model (raw SQL: the snapshot runs twice per request)."""
    quote = connection.ops.quote_name
    queries = []
    for model, ignored in SNAPSHOT_MODELS.items():
        meta = model._meta
        columns = [f.column for f in meta.concrete_fields if f.attname not in ignored]
        sql = "SELECT {} FROM {} ORDER BY {}".format(  # noqa: S608  (names from model meta)
            ", ".join(quote(c) for c in columns), quote(meta.db_table), quote(meta.pk.column)
        )
        queries.append((meta.label, sql))
    return queries


def _db_state() -> DbState:
    counts, digest = {}, hashlib.sha256()
    with connection.cursor() as cursor:
        for label, sql in _snapshot_queries():
            cursor.execute(sql)
            rows = cursor.fetchall()
            counts[label] = len(rows)
            digest.update(repr((label, rows)).encode())
    return DbState(counts=counts, digest=digest.hexdigest())


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _events_since(event_id: int) -> list[dict[str, Any]]:
    rows = (
        AuditEvent.objects.filter(pk__gt=event_id)
        .order_by("pk")
        .values("event_code", "outcome", "actor_id", "organization_id", "api_token_prefix", "data")
    )
    return [dict(row) for row in rows]


def _denial(
    membership: Membership, capability: Capability, token_prefix: str = ""
) -> dict[str, Any]:
    return {
        "event_code": EventCode.ACCESS_DENIED.value,
        "outcome": Outcome.DENIED.value,
        "actor_id": membership.user_id,
        "organization_id": membership.organization_id,
        "api_token_prefix": token_prefix,
        "data": {"capability": capability.value},
    }


@dataclass
class Observed:
    """One request, with what the database, the audit trail and the outbox held around it."""

    response: Any
    before: DbState
    after: DbState
    events: list[dict[str, Any]]
    on_commit: list[Any]
    mail: list[Any]

    @property
    def body(self) -> str:
        # errors="replace": some allowed answers are binary files (XLSX, PDF).
        if getattr(self.response, "streaming", False):
            if not hasattr(self, "_streamed"):
                content = b"".join(self.response.streaming_content)
                self._streamed = content.decode(errors="replace")
            return self._streamed
        return bytes(self.response.content).decode(errors="replace")


@pytest.fixture
def observe(django_capture_on_commit_callbacks, mailoutbox):
    """Send a request and record what changed around it; on-commit work (mail) runs too."""

    def send(
        client: HttpClient,
        method: str,
        url: str,
        data=None,
        follow=False,
        json_body: dict[str, Any] | None = None,
        **headers,
    ) -> Observed:
        before, last_event = _db_state(), _last_event_id()
        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            phi_door_guard() as door,
        ):
            if json_body is not None:
                response = client.generic(
                    method,
                    url,
                    json.dumps(json_body),
                    content_type="application/json",
                    headers=headers,
                )
            elif method == "POST":
                response = client.post(url, data or {}, headers=headers, follow=follow)
            else:
                response = client.get(url, data, headers=headers, follow=follow)
        # DESIGN.md, the PHI door: no view or endpoint queries a PHI table itself.
        assert door.violations == [], f"PHI read outside the door: {door.violations[:3]}"
        return Observed(
            response=response,
            before=before,
            after=_db_state(),
            events=_events_since(last_event),
            on_commit=list(callbacks),
            mail=list(mailoutbox),
        )

    return send


def assert_changed_nothing(
    seen: Observed, *, revealing: list[str], events: list[dict[str, Any]] | None = None
) -> None:
    """A refused request: the rows are as they were, the audit trail holds the denial (if
    any) and nothing else, no email went out, and the body names nothing it should not."""
    assert seen.after == seen.before
    assert seen.events == (events or [])
    assert seen.on_commit == []
    assert seen.mail == []
    assert [s for s in revealing if s in seen.body] == []


# --- Coverage: no route escapes the matrix ------------------------------------------


def test_every_route_has_an_expectation_in_the_matrix():
    missing = []
    for walked in WALKED:
        if walked.route.startswith(ORG_PREFIX):
            known = walked.name in ORG_ROUTES
        elif walked.route.startswith(API_PREFIX):
            known = _schema_path(walked) in API_SCHEMA_PATHS or walked.name in API_OUTSIDE_SCHEMA
        else:
            known = walked.name in SIGNED_IN_ROUTES or walked.name in PUBLIC_ROUTES
        if not known:
            missing.append(f"{walked.name or '(unnamed)'} at /{walked.route}")
    missing += [op for op in API_OPERATIONS if op not in API_ROUTES]

    assert missing == [], "add these routes to the tables in test_authorization_matrix.py"


def test_the_matrix_names_only_routes_that_exist():
    walked_names = {r.name for r in WALKED}
    tabled = [*ORG_ROUTES, *SIGNED_IN_ROUTES, *PUBLIC_ROUTES, *API_OUTSIDE_SCHEMA]

    assert [name for name in tabled if name not in walked_names] == []
    assert [op for op in API_ROUTES if op not in API_OPERATIONS] == []
    assert {r.name for r in WALKED_ORG} == set(ORG_ROUTES)


def test_the_matrix_covers_every_role_and_anonymous_visitors():
    assert set(ROLE_CAPABILITIES) == set(Role)
    assert {case.values[3] for case in ORG_CASES} == {*Role, None}
    assert {case.values[2] for case in API_CASES} == set(TOKEN_ROLES)


# --- Organization pages: every role, in its own organization and in another ------------


def _org_url(url_name: str, tenant: Tenant, viewer: Role | None) -> str:
    route = ORG_ROUTES[url_name]
    objects: dict[str, Callable[[], Any]] = {
        "org_slug": lambda: tenant.organization.slug,
        "member_id": lambda: getattr(tenant, route.member).pk,
        "invitation_id": lambda: tenant.invitation.pk,
        "token_id": lambda: tenant.token_for(viewer).pk,
    }
    kwargs = {}
    for param in WALKED_BY_NAME[url_name].params:
        if param in tenant.params:
            kwargs[param] = tenant.params[param]
        elif param in objects:
            kwargs[param] = objects[param]()
        else:
            pytest.fail(f"no object for <{param}> in {url_name}: add one to _org_url")
    return reverse(url_name, kwargs=kwargs)


def _org_cases() -> Iterator[Any]:
    for walked in WALKED_ORG:
        route = ORG_ROUTES.get(walked.name)
        for method in route.methods if route else GET:
            for role in Role:
                for target in (OURS, THEIRS):
                    case = f"{walked.name}-{method}-{role.value}-{target}"
                    yield pytest.param(case, walked.name, method, role, target, id=case)
            case = f"{walked.name}-{method}-anonymous"
            yield pytest.param(case, walked.name, method, None, OURS, id=case)


ORG_CASES = list(_org_cases())


@pytest.mark.parametrize(("_case", "url_name", "method", "viewer", "target"), ORG_CASES)
def test_org_page_answers_by_role_capability_and_organization(
    _case, url_name, method, viewer, target, world, observe
):
    route = ORG_ROUTES.get(url_name)
    assert route is not None, f"{url_name} has no expectation in ORG_ROUTES"
    tenant = world.tenants[target]
    url = _org_url(url_name, tenant, viewer)

    seen = observe(world.browser(viewer), method, url, resolve(route.form, tenant.params))

    response = seen.response
    if viewer is None:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login") + "?next=")
        assert_changed_nothing(seen, revealing=tenant.all_strings())
    elif target == THEIRS:
        # A stranger learns nothing, not even that the organization exists (never 403).
        assert response.status_code == 404
        assert_changed_nothing(seen, revealing=tenant.all_strings())
    elif route.capability not in ROLE_CAPABILITIES[viewer]:
        assert response.status_code == 403
        assert_changed_nothing(
            seen,
            revealing=tenant.private_strings(),
            events=[_denial(tenant.members[viewer], route.capability)],
        )
    elif method == "GET":
        assert response.status_code == 200
        assert [s for s in world.theirs.all_strings() if s in seen.body] == []
    else:
        assert response.status_code in route.post_status
        if response.status_code == 302:
            assert not response["Location"].startswith("/accounts/")
        if route.allowed_event:
            assert route.allowed_event in [e["event_code"] for e in seen.events]
        else:
            assert seen.after != seen.before, "an allowed POST should change something"
        assert [s for s in world.theirs.all_strings() if s in seen.body] == []


def _other_method_cases() -> Iterator[Any]:
    for walked in WALKED_ORG:
        route = ORG_ROUTES.get(walked.name)
        for method in GET_POST:
            if route is None or method not in route.methods:
                case = f"{walked.name}-{method}"
                yield pytest.param(case, walked.name, method, id=case)


@pytest.mark.parametrize(("_case", "url_name", "method"), list(_other_method_cases()))
def test_org_route_called_with_another_method_changes_nothing(
    _case, url_name, method, world, observe
):
    """The table's methods are the only ways in: an action never runs on GET (405), and
    a POST to a page that only shows changes nothing, even for a member whose role has the
    route's capability (the owner's, where it has it)."""
    route = ORG_ROUTES.get(url_name)
    assert route is not None, f"{url_name} has no expectation in ORG_ROUTES"
    viewer = next(r for r in Role if route.capability in ROLE_CAPABILITIES[r])
    url = _org_url(url_name, world.ours, viewer)

    seen = observe(world.browser(viewer), method, url, resolve(route.form, world.ours.params))

    if method == "GET":
        assert seen.response.status_code == 405
    assert_changed_nothing(seen, revealing=world.theirs.all_strings())


def test_an_allowed_invitation_does_send_mail(world, observe):
    """The mail check above is not vacuous: the same POST, allowed, does send an email."""
    url = _org_url("accounts:invitation-create", world.ours, Role.OWNER)

    seen = observe(
        world.browser(Role.OWNER), "POST", url, ORG_ROUTES["accounts:invitation-create"].form
    )

    assert seen.response.status_code == 302
    assert [m.to for m in seen.mail] == [["new-hire@example.test"]]


def test_a_member_cannot_revoke_a_colleagues_token(world, observe):
    owner_token = world.ours.token_for(Role.OWNER)
    url = reverse(
        "accounts:api-token-revoke",
        kwargs={"org_slug": world.ours.organization.slug, "token_id": owner_token.pk},
    )

    seen = observe(world.browser(Role.CODER), "POST", url)

    assert seen.response.status_code == 404
    assert_changed_nothing(seen, revealing=[owner_token.name, owner_token.prefix])


# --- Re-authentication ---------------------------------------------------------------


def _stale_cases() -> Iterator[Any]:
    for walked in WALKED_ORG:
        route = ORG_ROUTES.get(walked.name)
        for method in route.methods if route else GET:
            case = f"{walked.name}-{method}"
            yield pytest.param(case, walked.name, method, id=case)


@pytest.mark.parametrize(("_case", "url_name", "method"), list(_stale_cases()))
def test_stale_authentication_must_reauthenticate_on_sensitive_pages_only(
    _case, url_name, method, world, observe
):
    route = ORG_ROUTES[url_name]
    stale = settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 1
    # Still inside the idle timeout: the session lives on, only re-authentication lapsed.
    assert stale < world.ours.organization.idle_timeout_minutes * 60
    viewer = next(r for r in Role if route.capability in ROLE_CAPABILITIES[r])
    url = _org_url(url_name, world.ours, viewer)

    with time_machine.travel(NOW + timedelta(seconds=stale), tick=False):
        seen = observe(world.browser(viewer), method, url, resolve(route.form, world.ours.params))

    response = seen.response
    if route.reauthentication:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_reauthenticate") + "?next=")
        assert_changed_nothing(seen, revealing=world.ours.private_strings())
    elif method == "GET":
        assert response.status_code == 200
    else:
        assert response.status_code in route.post_status
        if response.status_code == 302:
            assert not response["Location"].startswith("/accounts/")


def test_a_fresh_sign_in_alone_is_asked_to_reauthenticate(world, observe):
    """allauth counts only an explicit re-authentication, not the log-in before it."""
    client = _sign_in(world.ours.members[Role.SECURITY_OFFICER].user.email, reauthenticate=False)
    url = _org_url("accounts:security-settings", world.ours, Role.SECURITY_OFFICER)

    seen = observe(client, "GET", url)

    assert seen.response.status_code == 302
    assert seen.response["Location"].startswith(reverse("account_reauthenticate") + "?next=")
    assert_changed_nothing(seen, revealing=world.ours.private_strings())


def test_reauthenticated_member_reaches_sensitive_pages(world, observe):
    url = _org_url("accounts:security-settings", world.ours, Role.SECURITY_OFFICER)

    seen = observe(world.browser(Role.SECURITY_OFFICER), "GET", url)

    assert seen.response.status_code == 200


# --- Pages about the signed-in person, and invitation links ---------------------------


def _personal_cases() -> Iterator[Any]:
    for walked in WALKED_OTHER:
        if walked.name in PUBLIC_ROUTES:
            continue
        for viewer in [*Role, None]:
            case = f"{walked.name}-{viewer.value if viewer else 'anonymous'}"
            yield pytest.param(case, walked.name, viewer, id=case)


@pytest.mark.parametrize(("_case", "url_name", "viewer"), list(_personal_cases()))
def test_personal_page_needs_a_signed_in_person(_case, url_name, viewer, world, observe):
    route = SIGNED_IN_ROUTES.get(url_name)
    assert route is not None, f"{url_name} has no expectation in SIGNED_IN_ROUTES"

    seen = observe(world.browser(viewer), route.method, reverse(url_name))

    response = seen.response
    if viewer is None:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
        assert_changed_nothing(seen, revealing=world.ours.all_strings())
        return
    assert response.status_code == route.status
    if route.method == "POST":
        assert seen.after != seen.before
    assert [s for s in world.theirs.all_strings() if s in seen.body] == []


def _invitation_cases() -> Iterator[Any]:
    for link in (OURS, THEIRS, "unknown"):
        for method in PUBLIC_ROUTES["invitation-accept"]:
            for viewer in [*Role, None]:
                case = (
                    f"invitation-accept-{method}-{link}-{viewer.value if viewer else 'anonymous'}"
                )
                yield pytest.param(case, link, method, viewer, id=case)


@pytest.mark.parametrize(("_case", "link", "method", "viewer"), list(_invitation_cases()))
def test_invitation_link_works_only_for_the_invited_address(
    _case, link, method, viewer, world, observe
):
    token = world.tenants[link].invitation_link_token if link != "unknown" else "no-such-link"
    form = {"full_name": "New Hire", "password": PASSWORD, "password_again": PASSWORD}

    seen = observe(world.browser(viewer), method, reverse("invitation-accept", args=[token]), form)

    response = seen.response
    if link == "unknown":
        assert response.status_code == 404
        assert_changed_nothing(
            seen, revealing=[*world.ours.all_strings(), *world.theirs.all_strings()]
        )
        return
    # The link shows whoever holds it where it leads and for which address, nothing more.
    tenant = world.tenants[link]
    revealing = [s for s in tenant.private_strings() if s != tenant.invitation.email]
    if viewer is not None or method == "GET":
        # Signed in as someone other than the invited address, the link is shown, not used.
        assert response.status_code == 200
        assert_changed_nothing(seen, revealing=revealing)
    else:
        assert response.status_code == 302
        invitee = world.tenants[link].invitation.email
        assert (
            Membership.objects.get(user__email=invitee).organization
            == world.tenants[link].organization
        )


# --- The JSON API: every operation with every role's token -------------------------------

TOKEN_ROLES = [role for role in Role if C.API_TOKENS_USE in ROLE_CAPABILITIES[role]]


def _bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def _api_request(operation: str, tenant: Tenant) -> tuple[str, str, dict[str, Any]]:
    """Method, path and query of a well-formed call, with the tenant's objects in the path."""
    method, path = operation.split(" ", 1)
    query = {}
    for parameter in API_SCHEMA_PATHS[path][method.lower()].get("parameters", []):
        name = parameter["name"]
        if parameter["in"] == "path":
            path = path.replace(f"{{{name}}}", str(tenant.api_value(name)))
        elif parameter.get("required"):
            query[name] = tenant.api_value(name)
    return method, path, query


def _api_body(route: ApiRoute, tenant: Tenant) -> dict[str, Any] | None:
    if route.body is None:
        return None
    body: dict[str, Any] = resolve(route.body, {**tenant.params, **tenant.api_values})
    return body


def _api_cases() -> Iterator[Any]:
    for operation in API_OPERATIONS:
        # The API has no organization in its URLs; objects named in the path may have one.
        tenant_path = "{" in operation and API_ROUTES.get(operation, ApiRoute(None)).tenant_path
        targets = (OURS, THEIRS) if tenant_path else (OURS,)
        for role in TOKEN_ROLES:
            for target in targets:
                case = f"{operation.replace(' ', '-')}-{role.value}-{target}"
                yield pytest.param(case, operation, role, target, id=case)


API_CASES = list(_api_cases())


@pytest.mark.parametrize(("_case", "operation", "role", "target"), API_CASES)
def test_api_operation_answers_by_the_tokens_capabilities(
    _case, operation, role, target, world, observe
):
    assert operation in API_ROUTES, f"{operation} has no expectation in API_ROUTES"
    route = API_ROUTES[operation]
    capability = route.capability
    method, path, query = _api_request(operation, world.tenants[target])
    token, raw = world.ours.tokens[role]
    body = _api_body(route, world.tenants[target])
    if route.multipart is not None:
        query = resolve(route.multipart, {**world.tenants[target].params})

    seen = observe(HttpClient(), method, path, query, json_body=body, **_bearer(raw))

    response = seen.response
    if capability is not None and capability not in ROLE_CAPABILITIES[role]:
        assert response.status_code == 403
        assert response.json() == {"detail": "Not allowed"}
        assert_changed_nothing(
            seen,
            revealing=world.ours.private_strings(),
            events=[_denial(world.ours.members[role], capability, token.prefix)],
        )
    elif target == THEIRS:
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found"}
        assert_changed_nothing(seen, revealing=world.theirs.all_strings())
    else:
        assert response.status_code in route.ok_status, response.content[:500]
        if route.allowed_event:
            assert route.allowed_event in [e["event_code"] for e in seen.events]
        elif method != "GET":
            assert seen.after != seen.before, "an allowed write should change something"
        # A token reaches its own organization and no other.
        assert [s for s in world.theirs.all_strings() if s in seen.body] == []


@pytest.mark.parametrize("side", [OURS, THEIRS])
def test_api_members_lists_only_the_tokens_own_organization(side, world):
    tenant = world.tenants[side]
    _, raw = tenant.tokens[Role.OWNER]

    response = HttpClient().get("/api/v1/members", headers=_bearer(raw))

    assert response.status_code == 200
    expected = set(
        Membership.objects.for_organization(tenant.organization).values_list(
            "user__email", flat=True
        )
    )
    assert {m["email"] for m in response.json()} == expected


def test_api_me_names_the_tokens_own_organization(world):
    _, raw = world.ours.tokens[Role.CODER]

    response = HttpClient().get("/api/v1/me", headers=_bearer(raw))

    assert response.status_code == 200
    assert response.json()["organization"] == world.ours.organization.slug
    assert response.json()["role"] == Role.CODER.value


BAD_CREDENTIALS = [
    "no_token",
    "malformed",
    "unknown_prefix",
    "wrong_secret",
    "revoked",
    "expired",
    "member_deactivated",
    "session_cookie_only",
]
# A known token that is no longer usable is refused with an audit event naming it.
REFUSED_TOKEN_STATES = {"revoked", "expired", "member_deactivated"}


def _bad_credential_cases() -> Iterator[Any]:
    for operation in API_OPERATIONS:
        for credential in BAD_CREDENTIALS:
            case = f"{operation.replace(' ', '-')}-{credential}"
            yield pytest.param(case, operation, credential, id=case)


@pytest.mark.parametrize(("_case", "operation", "credential"), list(_bad_credential_cases()))
def test_api_refuses_missing_bad_and_dead_tokens(_case, operation, credential, world, observe):
    method, path, query = _api_request(operation, world.ours)
    owner = world.ours.members[Role.OWNER]
    token, raw = world.ours.tokens[Role.OWNER]
    client = HttpClient()
    headers: dict[str, str] = {}
    if credential == "malformed":
        headers = _bearer("not-a-token")
    elif credential == "unknown_prefix":
        headers = _bearer("phw_000000000000_" + raw.split("_", 2)[2])
    elif credential == "wrong_secret":
        headers = _bearer(f"phw_{token.prefix}_wrong-secret")
    elif credential in REFUSED_TOKEN_STATES:
        headers = _bearer(raw)
        if credential == "revoked":
            ApiToken.objects.filter(pk=token.pk).update(revoked_at=NOW)
        elif credential == "expired":
            ApiToken.objects.filter(pk=token.pk).update(expires_at=NOW - timedelta(seconds=1))
        else:
            Membership.objects.filter(pk=owner.pk).update(is_active=False)
    elif credential == "session_cookie_only":
        client = world.browser(Role.OWNER)

    body = _api_body(API_ROUTES[operation], world.ours)
    if API_ROUTES[operation].multipart is not None:
        query = resolve(API_ROUTES[operation].multipart, world.ours.params)
    seen = observe(client, method, path, query, json_body=body, **headers)

    assert operation in API_ROUTES, f"{operation} has no expectation in API_ROUTES"
    if API_ROUTES[operation].capability is None:
        assert seen.response.status_code == 200
        assert_changed_nothing(seen, revealing=world.ours.private_strings())
        return
    assert seen.response.status_code == 401
    assert seen.response.json() == {"detail": "Unauthorized"}
    refusals = []
    if credential in REFUSED_TOKEN_STATES:
        reason = {"revoked": "revoked", "expired": "expired"}.get(credential, "inactive")
        refusals = [
            {
                "event_code": EventCode.API_TOKEN_REFUSED.value,
                "outcome": Outcome.DENIED.value,
                "actor_id": owner.user_id,
                "organization_id": owner.organization_id,
                "api_token_prefix": token.prefix,
                "data": {"reason": reason},
            }
        ]
    assert_changed_nothing(seen, revealing=world.ours.all_strings(), events=refusals)


@pytest.mark.parametrize(
    "role", [role for role in Role if C.API_TOKENS_USE not in ROLE_CAPABILITIES[role]]
)
def test_a_role_without_api_access_cannot_hold_a_token(role, world):
    membership = world.ours.members[role]
    before, last_event = _db_state(), _last_event_id()

    with pytest.raises(PermissionDenied):
        api_token_create(actor=membership, name="Not allowed", scopes=[C.DASHBOARD_VIEW], days=1)

    assert _db_state() == before
    assert _events_since(last_event) == [_denial(membership, C.API_TOKENS_USE)]


def _outside_schema_cases() -> Iterator[Any]:
    for walked in WALKED_API:
        if _schema_path(walked) not in API_SCHEMA_PATHS:
            yield pytest.param(walked.name, id=walked.name)


@pytest.mark.parametrize("url_name", list(_outside_schema_cases()))
def test_api_urls_outside_the_schema_need_no_token(url_name, world, observe):
    assert url_name in API_OUTSIDE_SCHEMA, f"{url_name} has no expectation in API_OUTSIDE_SCHEMA"

    seen = observe(HttpClient(), "GET", reverse(url_name))

    assert seen.response.status_code == API_OUTSIDE_SCHEMA[url_name]
    assert_changed_nothing(seen, revealing=[*world.ours.all_strings(), *world.theirs.all_strings()])


def test_openapi_schema_lists_every_operation(world):
    response = HttpClient().get(reverse("api:openapi-json"))

    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    assert sorted(f"{m.upper()} {p}" for p, ops in paths.items() for m in ops) == API_OPERATIONS


# --- The operations admin -------------------------------------------------------------


def test_ops_admin_sends_anonymous_visitors_to_the_log_in_page(world):
    response = HttpClient().get("/ops/admin/", follow=True)

    assert response.status_code == 200
    assert response.request["PATH_INFO"] == reverse("account_login")


@pytest.mark.parametrize("role", list(Role))
def test_ops_admin_refuses_members_who_are_not_staff(role, world, observe):
    seen = observe(world.browser(role), "GET", "/ops/admin/", follow=True)

    assert seen.response.status_code == 403
    assert_changed_nothing(seen, revealing=world.theirs.all_strings())


def test_ops_admin_log_in_form_is_no_way_around_allauth(world, observe):
    """A signed-in member cannot post a staff password to the admin's own log-in form,
    which would skip the second factor."""
    staff = User.objects.create_user("operator@example.test", PASSWORD, is_staff=True)
    client = world.browser(Role.CODER)

    seen = observe(
        client, "POST", reverse("admin:login"), {"username": staff.email, "password": PASSWORD}
    )

    assert seen.response.status_code == 403
    assert_changed_nothing(seen, revealing=[])
    after = client.get(reverse("personal:account-security"))
    assert after.wsgi_request.user == world.ours.members[Role.CODER].user


def test_ops_admin_opens_for_staff_only_after_mfa_enrolment(world):
    from allauth.mfa.models import Authenticator

    operator = User.objects.create_user(
        "operator@example.test", PASSWORD, is_staff=True, is_superuser=True
    )
    client = _sign_in("operator@example.test", reauthenticate=False)

    before_enrolment = client.get("/ops/admin/")
    Authenticator.objects.create(user=operator, type=Authenticator.Type.TOTP, data={})
    after_enrolment = client.get("/ops/admin/")

    assert before_enrolment.status_code == 302
    assert before_enrolment["Location"] == "/accounts/2fa/totp/activate/"
    assert after_enrolment.status_code == 200


# --- The PHI door guard is not vacuous ------------------------------------------------


def test_the_door_guard_counts_reads_through_the_selectors(world):
    client = world.browser(Role.CODER)
    url = reverse(
        "billing:claim-detail",
        kwargs={
            "org_slug": world.ours.organization.slug,
            "claim_id": world.ours.params["claim_id"],
        },
    )
    with phi_door_guard() as door:
        response = client.get(url)

    assert response.status_code == 200
    assert door.through_door > 0
    assert door.violations == []


def test_the_door_guard_catches_a_direct_query(world):
    from phiwarden.billing.models import Patient

    with phi_door_guard() as door:
        Patient.objects.filter(organization=world.ours.organization).count()

    assert door.violations
    assert door.violations[0].startswith("billing_patient queried from")
