"""`manage.py seed_demo`: a synthetic demo organization, deterministic and idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.utils import timezone

from phiwarden.accounts.models import Client, Membership, Organization, User
from phiwarden.accounts.roles import ALL_CLIENTS_ROLES, Capability, Role, role_has
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.billing.models import Claim, ClaimPayment, Patient, X12File
from phiwarden.compliance.management.commands.seed_demo import (
    BILLING_CLIENTS,
    CLAIMS_PER_CLIENT,
    CLIENT_NAMES,
    DEMO_DOMAIN,
    DEMO_SLUG,
    demo_email,
    demo_password,
)
from phiwarden.incidents.models import Assessment, Incident, ScopingRun
from phiwarden.partners.checks import FlagKind, PartnerIndex, flows_checked
from phiwarden.partners.models import (
    ApprovedChannel,
    Baa,
    ClientProfile,
    DiligenceReview,
    Flow,
    Stage,
    Vendor,
)

pytestmark = pytest.mark.django_db
# Most tests need the demo's shape, not its volume: a few claims per client keep them fast.
FEW = ("--claims-per-client", "6")


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "organizations": Organization.objects.count(),
        "clients": Client.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "client_assignments": Membership.clients.through.objects.count(),
        "client_profiles": ClientProfile.objects.count(),
        "vendors": Vendor.objects.count(),
        "diligence_reviews": DiligenceReview.objects.count(),
        "baas": Baa.objects.count(),
        "approved_channels": ApprovedChannel.objects.count(),
        "flows": Flow.objects.count(),
        "x12_files": X12File.objects.count(),
        "patients": Patient.objects.count(),
        "claims": Claim.objects.count(),
        "claim_payments": ClaimPayment.objects.count(),
        "incidents": Incident.objects.count(),
        "scopings": ScopingRun.objects.count(),
        "audit_events": AuditEvent.objects.count(),
    }


def test_running_twice_changes_nothing_the_second_time():
    # given a first run, at the demo's full size
    first = seed()
    after_first = counts()

    # when it runs again
    second = seed()

    # then nothing new exists (not even an audit event) and the seeding was recorded once
    assert counts() == after_first
    assert {k: after_first[k] for k in ("organizations", "clients", "users", "memberships")} == {
        "organizations": 1,
        "clients": 3,
        "users": len(Role),
        "memberships": len(Role),
    }
    # every member outside the officers gets one billing client; the billing manager both
    assert after_first["client_assignments"] == len(Role) - len(ALL_CLIENTS_ROLES) + 1
    assert {k: after_first[k] for k in ("vendors", "diligence_reviews", "baas", "flows")} == {
        "vendors": 4,
        "diligence_reviews": 3,
        "baas": 6,  # three vendors (the shredder has none) and the three clients
        "flows": 10 + 2 * BILLING_CLIENTS,  # mapped, and claims and remits seen by the import
    }
    # a few hundred claims, imported with their remittances through the X12 import
    assert after_first["claims"] == BILLING_CLIENTS * CLAIMS_PER_CLIENT == 300
    assert after_first["x12_files"] == 5  # 837P + 835, and 837P + 837I + 835
    assert after_first["claim_payments"] > 200
    assert AuditEvent.objects.filter(event_code=EventCode.BILLING_CLAIM_IMPORTED).count() == 300
    assert "Imported 300 synthetic claims through the X12 import." in first
    assert "Imported" not in second
    seeded = AuditEvent.objects.get(event_code=EventCode.DEMO_SEEDED)
    assert seeded.organization == Organization.objects.get(slug=DEMO_SLUG)
    assert seeded.data == {"seed": 2026}
    assert seeded.via == "cli:seed_demo"
    assert f"Created synthetic organization '{DEMO_SLUG}'." in first
    assert f"Already present: synthetic organization '{DEMO_SLUG}'." in second


def test_one_member_per_role():
    seed(*FEW)

    memberships = Membership.objects.select_related("user", "organization")
    assert sorted(m.role for m in memberships) == sorted(Role.values)
    assert {m.organization.slug for m in memberships} == {DEMO_SLUG}
    assert {m.user.email: m.role for m in memberships} == {demo_email(r): r.value for r in Role}


def test_billing_staff_are_assigned_clients_with_claims_and_officers_reach_all():
    seed(*FEW)

    billing_clients = set(CLIENT_NAMES[:BILLING_CLIENTS])
    for membership in Membership.objects.prefetch_related("clients"):
        assigned = {c.name for c in membership.clients.all()}
        if membership.role in ALL_CLIENTS_ROLES:
            assert assigned == set(), membership.role
        elif membership.role == Role.BILLING_MANAGER:
            assert assigned == billing_clients
        else:
            assert len(assigned) == 1, membership.role
            assert assigned <= billing_clients, membership.role
        if role_has(membership.role, Capability.BILLING_VIEW_PHI):
            reachable = Claim.objects.all()
            if not membership.reaches_all_clients:
                reachable = reachable.filter(client__in=membership.clients.all())
            assert reachable.exists(), membership.role
    # both billing roles that work one client are spread over the two clients
    specialists = Membership.objects.filter(
        role__in=[Role.CLAIMS_SPECIALIST, Role.PAYMENT_POSTER, Role.CODER, Role.AR_SPECIALIST]
    )
    assert {c.name for m in specialists for c in m.clients.all()} == billing_clients


def test_claims_are_spread_over_two_clients_and_marked_synthetic():
    seed(*FEW)

    by_client = {name: Claim.objects.filter(client__name=name).count() for name in CLIENT_NAMES}
    assert by_client == {CLIENT_NAMES[0]: 6, CLIENT_NAMES[1]: 6, CLIENT_NAMES[2]: 0}
    assert not Claim.objects.filter(is_synthetic=False).exists()
    assert not Patient.objects.filter(is_synthetic=False).exists()
    assert set(X12File.objects.values_list("usage_indicator", flat=True)) == {"T"}
    assert ClaimPayment.objects.exclude(claim=None).exists()  # 835s matched their claims


def test_partners_show_every_kind_of_standing_and_a_flow_per_stage():
    seed(*FEW)

    organization = Organization.objects.get()
    index = PartnerIndex.load(organization, timezone.localdate())
    vendor_states = {v.kind: index.vendor_check(v).state for v in Vendor.objects.all()}
    assert vendor_states == {
        "clearinghouse": "current",
        "statement_printer": "expiring",
        "cloud": "current",
        "shredding": "missing",
    }
    client_states = {c.name: index.client_check(c).state for c in Client.objects.all()}
    assert client_states == {
        CLIENT_NAMES[0]: "current",
        CLIENT_NAMES[1]: "current",
        CLIENT_NAMES[2]: "unsigned",
    }
    assert ClientProfile.objects.count() == len(CLIENT_NAMES)
    assert all(p.privacy_officer_email.endswith(DEMO_DOMAIN) for p in ClientProfile.objects.all())
    checked = flows_checked(organization, timezone.localdate())
    assert {c.flow.stage for c in checked} == set(Stage.values)
    flagged = {c.flow.name: {f.kind for f in c.flags} for c in checked if c.flags}
    assert flagged == {
        # from the client whose BAA is still a draft, by fax
        "Faxed face sheets (to replace)": {FlagKind.UNAPPROVED_CHANNEL, FlagKind.NO_CURRENT_BAA},
        "Paper for shredding": {
            FlagKind.NO_CURRENT_BAA,
            FlagKind.DILIGENCE_NOT_DONE,
            FlagKind.VENDOR_NOT_APPROVED,
        },
    }


def test_incidents_wait_for_the_officers_with_a_real_scope():
    seed(*FEW)

    fax, laptop = Incident.objects.order_by("number")
    assert fax.kind == Incident.Kind.MISDIRECTED
    assert fax.status == Incident.Status.REPORTED
    run = ScopingRun.objects.get(incident=laptop)
    lost = X12File.objects.order_by("pk")[0]
    in_file = Patient.objects.filter(client=lost.client)
    assert 0 < run.individuals <= in_file.count()
    draft = Assessment.objects.get(incident=laptop)
    assert not draft.is_signed
    assert f"{run.individuals} individuals" in draft.nature_extent


def test_everything_is_marked_synthetic():
    seed(*FEW)

    organization = Organization.objects.get()
    assert organization.is_synthetic
    assert not organization.mfa_required
    assert sorted(Client.objects.values_list("name", flat=True)) == [
        "Synthetic Family Practice",
        "Synthetic Orthopedic Clinic",
        "Synthetic Pediatric Group",
    ]
    # .test is reserved (RFC 2606): no demo address can reach a real mailbox
    assert all(
        email.endswith(f"@{DEMO_DOMAIN}") for email in User.objects.values_list("email", flat=True)
    )
    assert DEMO_DOMAIN.endswith(".test")


def test_password_is_deterministic_printed_and_works():
    out = seed("--seed", "7", *FEW)

    password = demo_password(7)
    assert password == demo_password(7)
    assert password != demo_password(8)
    assert f"password for every demo login: {password}" in out
    for role in Role:
        assert demo_email(role) in out
    assert all(user.check_password(password) for user in User.objects.all())


def test_demo_password_meets_the_password_policy():
    user = User(email=demo_email(Role.OWNER))

    validate_password(demo_password(2026), user=user)


def test_a_second_run_with_another_seed_keeps_the_first_password():
    seed("--seed", "1", *FEW)

    out = seed("--seed", "2", *FEW)

    # the accounts keep the first password, so the second one is not printed as theirs
    assert demo_password(2) not in out
    assert "password: unchanged since the demo was first created" in out
    owner = User.objects.get(email=demo_email(Role.OWNER))
    assert owner.check_password(demo_password(1))
    assert AuditEvent.objects.get(event_code=EventCode.DEMO_SEEDED).data == {"seed": 1}
    # and the claims of the first seed stay the only ones
    assert Claim.objects.count() == 2 * 6
