"""Shared abstractions only: no concrete models live here."""

from __future__ import annotations

from typing import Any, Self, TypeVar

from django.db import models

_M = TypeVar("_M", bound=models.Model)


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class OrganizationScopedQuerySet(models.QuerySet[_M]):
    """Every organization-owned model's queryset: the tenant filter has one spelling."""

    def for_organization(self, organization: Any) -> Self:
        return self.filter(organization=organization)
