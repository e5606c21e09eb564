"""`python manage.py create_organization --name N --slug S --owner-email E`

Creates a billing company and invites its first owner (the link is printed and e-mailed).
The way an operator starts a real installation; nothing else creates organizations.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from phiwarden.accounts.models import Invitation, Organization, User, hash_token
from phiwarden.accounts.roles import Role
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.core.context import cli_context


class Command(BaseCommand):
    help = "Create an organization and an invitation for its first owner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--owner-email", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["slug"]
        if Organization.objects.filter(slug=slug).exists():
            raise CommandError(f"An organization with slug {slug!r} already exists", returncode=2)
        raw = secrets.token_urlsafe(32)
        with cli_context("cli:create_organization"), transaction.atomic():
            organization = Organization.objects.create(name=options["name"], slug=slug)
            system_user, _ = User.objects.get_or_create(
                email="system@phiwarden.invalid", defaults={"is_active": False}
            )
            invitation = Invitation.objects.create(
                organization=organization,
                email=options["owner_email"].lower(),
                role=Role.OWNER,
                token_hash=hash_token(raw),
                invited_by=system_user,
                expires_at=timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS),
            )
            audit_event_record(
                actor=None,
                organization=organization,
                event_code=EventCode.INVITATION_SENT,
                target=invitation,
                data={"role": Role.OWNER.value},
            )
        link = settings.SITE_URL.rstrip("/") + reverse("invitation-accept", args=[raw])
        self.stdout.write(self.style.SUCCESS(f"Created {organization.name} ({slug})."))
        self.stdout.write(f"Owner invitation (single use, {settings.INVITATION_VALID_DAYS} days):")
        self.stdout.write(link)
