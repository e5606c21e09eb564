"""`manage.py seed_demo`: a synthetic demo organization, deterministic and idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command

from phiwarden.accounts.management.commands.seed_demo import (
    DEMO_DOMAIN,
    DEMO_SLUG,
    demo_email,
    demo_password,
)
from phiwarden.accounts.models import Client, Membership, Organization, User
from phiwarden.accounts.roles import ALL_CLIENTS_ROLES, Role
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


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
    }


def test_running_twice_changes_nothing_the_second_time():
    # given a first run
    first = seed()
    after_first = counts()

    # when it runs again
    second = seed()

    # then nothing new exists and the seeding was recorded once
    assert counts() == after_first
    assert after_first == {
        "organizations": 1,
        "clients": 2,
        "users": len(Role),
        "memberships": len(Role),
        "client_assignments": len(Role) - len(ALL_CLIENTS_ROLES),
    }
    seeded = AuditEvent.objects.get(event_code=EventCode.DEMO_SEEDED)
    assert seeded.organization == Organization.objects.get(slug=DEMO_SLUG)
    assert seeded.data == {"seed": 2026}
    assert seeded.via == "cli:seed_demo"
    assert f"Created synthetic organization '{DEMO_SLUG}'." in first
    assert f"Already present: synthetic organization '{DEMO_SLUG}'." in second


def test_one_member_per_role():
    seed()

    memberships = Membership.objects.select_related("user", "organization")
    assert sorted(m.role for m in memberships) == sorted(Role.values)
    assert {m.organization.slug for m in memberships} == {DEMO_SLUG}
    assert {m.user.email: m.role for m in memberships} == {demo_email(r): r.value for r in Role}


def test_members_who_need_an_assignment_get_one_client_and_officers_reach_all():
    seed()

    for membership in Membership.objects.prefetch_related("clients"):
        assigned = list(membership.clients.all())
        if membership.role in ALL_CLIENTS_ROLES:
            assert assigned == [], membership.role
        else:
            assert len(assigned) == 1, membership.role


def test_everything_is_marked_synthetic():
    seed()

    organization = Organization.objects.get()
    assert organization.is_synthetic
    assert not organization.mfa_required
    assert sorted(Client.objects.values_list("name", flat=True)) == [
        "Synthetic Family Practice",
        "Synthetic Orthopedic Clinic",
    ]
    # .test is reserved (RFC 2606): no demo address can reach a real mailbox
    assert all(
        email.endswith(f"@{DEMO_DOMAIN}") for email in User.objects.values_list("email", flat=True)
    )
    assert DEMO_DOMAIN.endswith(".test")


def test_password_is_deterministic_printed_and_works():
    out = seed("--seed", "7")

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
    seed("--seed", "1")

    out = seed("--seed", "2")

    # the accounts keep the first password, so the second one is not printed as theirs
    assert demo_password(2) not in out
    assert "password: unchanged since the demo was first created" in out
    owner = User.objects.get(email=demo_email(Role.OWNER))
    assert owner.check_password(demo_password(1))
    assert AuditEvent.objects.get(event_code=EventCode.DEMO_SEEDED).data == {"seed": 1}
