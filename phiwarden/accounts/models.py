from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from phiwarden.accounts.roles import ALL_CLIENTS_ROLES, Capability, Role, capabilities_for
from phiwarden.core.models import OrganizationScopedQuerySet, TimestampedModel


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in: a member of the workforce of one or more billing companies."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May open the operations admin.")
    date_joined = models.DateTimeField(default=timezone.now)
    # Raised to end every session of the user at once (logout everywhere, deactivation,
    # role change); each session remembers the generation it was created in.
    session_generation = models.PositiveIntegerField(default=0)
    failed_login_count = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.lower()
        super().save(*args, **kwargs)

    def is_locked(self, *, at: Any = None) -> bool:
        return self.locked_until is not None and self.locked_until > (at or timezone.now())

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Organization(TimestampedModel):
    """A billing company: the tenant. Everything it owns is scoped to it."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    is_synthetic = models.BooleanField(
        default=False, help_text="Demo data made by the generator; never real PHI."
    )
    # 45 CFR 164.312(d) person authentication; 164.312(a)(2)(iii) automatic logoff.
    mfa_required = models.BooleanField(default=True)
    idle_timeout_minutes = models.PositiveSmallIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    session_max_age_hours = models.PositiveSmallIntegerField(
        default=12, validators=[MinValueValidator(1), MaxValueValidator(24)]
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(idle_timeout_minutes__gte=1, idle_timeout_minutes__lte=120),
                name="org_idle_timeout_range",
            ),
            models.CheckConstraint(
                condition=models.Q(session_max_age_hours__gte=1, session_max_age_hours__lte=24),
                name="org_session_max_age_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Client(TimestampedModel):
    """A covered entity (practice, hospital, clinic) that the billing company bills for."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="clients")
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)

    objects = OrganizationScopedQuerySet["Client"].as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="client_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MembershipQuerySet(OrganizationScopedQuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        return self.filter(is_active=True, user__is_active=True)


class Membership(TimestampedModel):
    """A user's place in one organization: their role and the clients they work for."""

    Role = Role

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    clients = models.ManyToManyField(Client, blank=True, related_name="assigned_memberships")

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} as {self.get_role_display()}"

    @property
    def capabilities(self) -> frozenset[Capability]:
        if not self.is_active:
            return frozenset()
        return capabilities_for(self.role)

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    @property
    def reaches_all_clients(self) -> bool:
        return self.role in ALL_CLIENTS_ROLES


def hash_token(secret: str) -> str:
    """Tokens are 256-bit random values, so one round of SHA-256 is enough to store them."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


class InvitationQuerySet(OrganizationScopedQuerySet["Invitation"]):
    def pending(self) -> InvitationQuerySet:
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(TimestampedModel):
    """A single-use, expiring link that lets a person join an organization in a role."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=32, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Invitation to {self.organization} as {self.get_role_display()}"

    def is_usable(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class ApiTokenQuerySet(OrganizationScopedQuerySet["ApiToken"]):
    def usable(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ApiToken(TimestampedModel):
    """A personal API token: shown once, stored hashed, scoped, expiring, revocable."""

    PREFIX = "phw"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="api_tokens"
    )
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part, for look-up.")
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list, help_text="Capabilities this token may use.")
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def effective_capabilities(self) -> frozenset[Capability]:
        """The token's scopes, never more than its member's current role allows."""
        granted = self.membership.capabilities if self.membership.user.is_active else frozenset()
        return frozenset(c for c in granted if c.value in self.scopes)

    def should_touch(self) -> bool:
        """Record last use at most once a minute, so reads do not become writes."""
        return self.last_used_at is None or timezone.now() - self.last_used_at > timedelta(
            minutes=1
        )
