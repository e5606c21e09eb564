"""`python manage.py seed_demo [--seed N]`: a synthetic organization to try PHI Warden with.

Deterministic from the seed and idempotent: running it again changes nothing. Every
record is marked synthetic; no real person or patient appears.
"""

from __future__ import annotations

import random
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from faker import Faker

from phiwarden.accounts.models import Client, Membership, Organization, User
from phiwarden.accounts.roles import Role
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.core.context import cli_context

DEMO_SLUG = "demo-billing"
DEMO_DOMAIN = "demo.phiwarden.test"  # .test is reserved (RFC 2606): never a real mailbox
CLIENT_NAMES = ("Synthetic Family Practice", "Synthetic Orthopedic Clinic")
_WORDS = (
    "harbor",
    "violet",
    "lantern",
    "granite",
    "meadow",
    "cobalt",
    "orchard",
    "saffron",
    "glacier",
    "thimble",
    "juniper",
    "falcon",
    "quartz",
    "willow",
    "ember",
    "tundra",
)


def demo_email(role: Role) -> str:
    return f"{role.value.replace('_', '.')}@{DEMO_DOMAIN}"


def demo_password(seed: int) -> str:
    rng = random.Random(seed)  # noqa: S311  (a demo password for synthetic accounts)
    return "-".join(rng.sample(_WORDS, 4))


def _password_works(password: str) -> bool:
    owner = User.objects.filter(email=demo_email(Role.OWNER)).first()
    return owner is not None and owner.check_password(password)


class Command(BaseCommand):
    help = "Create (or confirm) the synthetic demo organization, clients and one member per role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args: Any, **options: Any) -> None:
        seed: int = options["seed"]
        password = demo_password(seed)
        with cli_context("cli:seed_demo"), transaction.atomic():
            created = self._seed(seed, password)
        verb = "Created" if created else "Already present:"
        self.stdout.write(self.style.SUCCESS(f"{verb} synthetic organization '{DEMO_SLUG}'."))
        self.stdout.write("Demo logins (synthetic; MFA is optional in the demo organization):")
        for role in Role:
            self.stdout.write(f"  {role.label:<28} {demo_email(role)}")
        if created or _password_works(password):
            self.stdout.write(f"  password for every demo login: {password}")
        else:
            # Idempotent means a re-run with another --seed leaves the accounts alone, so
            # this seed's password is not theirs: do not print one that fails.
            self.stdout.write("  password: unchanged since the demo was first created")

    def _seed(self, seed: int, password: str) -> bool:
        fake = Faker("en_US")
        fake.seed_instance(seed)
        organization, created = Organization.objects.get_or_create(
            slug=DEMO_SLUG,
            defaults={
                "name": "Synthetic Billing Co (demo)",
                "is_synthetic": True,
                # The demo lets people look around before enrolling an authenticator;
                # the K2 checklist item shows the gap this leaves.
                "mfa_required": False,
            },
        )
        clients = [
            Client.objects.get_or_create(organization=organization, name=name)[0]
            for name in CLIENT_NAMES
        ]
        for index, role in enumerate(Role):
            name = fake.name()
            user = User.objects.filter(email=demo_email(role)).first()
            if user is None:
                user = User.objects.create_user(demo_email(role), password, full_name=name)
            membership, _ = Membership.objects.get_or_create(
                user=user, organization=organization, defaults={"role": role}
            )
            if not membership.reaches_all_clients and not membership.clients.exists():
                membership.clients.set([clients[index % len(clients)]])
        if created:
            audit_event_record(
                actor=None,
                organization=organization,
                event_code=EventCode.DEMO_SEEDED,
                target=organization,
                data={"seed": seed},
            )
        return created
