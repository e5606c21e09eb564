"""The audited claim-detail API read stays cheap: a fixed number of queries however many
lines and payments a claim has (docs/benchmarks.md, issue 4), and the shortcuts that made it
cheap keep every check: token authentication answers the MFA question exactly like
`mfa.enrollment_required`, and a claim of an unassigned client is still not found."""

from __future__ import annotations

import io
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.db import connection
from django.db.models import Count
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from phiwarden.accounts import api_auth, mfa
from phiwarden.accounts.models import Membership, Organization
from phiwarden.accounts.roles import Capability, Role
from phiwarden.accounts.services import api_token_create
from phiwarden.accounts.tests.factories import totp_enable
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.billing.imports import x12_import
from phiwarden.billing.models import Claim, ClaimPayment
from phiwarden.billing.synthetic import generate_batch

pytestmark = pytest.mark.django_db

# Token (with its membership, user, organization and MFA facts), the claim's lines each with
# the claim (with patient, coverage, payer, provider, client, whether it has payments, and
# the organization's key rows), and the audit write: on PostgreSQL one statement for the
# event and its patient row, atomic by itself (no transaction, so no BEGIN/COMMIT either);
# on SQLite the event and the patient row.
QUERIES_WITHOUT_PAYMENTS = 3 if connection.vendor == "postgresql" else 4
# ... and the payments, their adjustments and their remarks.
QUERIES_WITH_PAYMENTS = QUERIES_WITHOUT_PAYMENTS + 3


def _import(owner: Membership, client: Any, *writers: Any) -> None:
    for writer in writers:
        stream = io.BytesIO()
        writer(stream)
        stream.seek(0)
        x12_import(actor=owner, client=client, stream=stream, filename="f.x12")


@pytest.fixture
def unpaid_claims(owner, clients) -> None:
    batch = generate_batch(seed=11, claims=6)
    _import(owner, clients[0], batch.write_837p)


@pytest.fixture
def paid_claims(owner, clients) -> None:
    batch = generate_batch(seed=29, claims=30)
    _import(owner, clients[0], batch.write_837p, batch.write_835)


def _token(member: Membership) -> str:
    _, raw = api_token_create(
        actor=member, name="queries", scopes=[Capability.BILLING_VIEW_PHI.value], days=1
    )
    return raw


def _get(raw: str, claim_id: int) -> tuple[int, Any, int]:
    """(status, body, number of queries) of one claim-detail API read."""
    with CaptureQueriesContext(connection) as queries:
        response = HttpClient().get(
            f"/api/v1/billing/claims/{claim_id}",
            {"purpose": "payment"},
            headers={"Authorization": f"Bearer {raw}"},
        )
    body = response.json() if response.status_code == 200 else None
    return response.status_code, body, len(queries)


def _claims_by_lines() -> list[Claim]:
    return list(Claim.objects.annotate(n=Count("lines")).order_by("n", "pk"))


def test_the_query_count_does_not_grow_with_lines(unpaid_claims, biller):
    raw = _token(biller)
    claims = _claims_by_lines()
    fewest, most = claims[0], claims[-1]
    assert most.n > fewest.n  # type: ignore[attr-defined]
    _get(raw, fewest.pk)  # the token's first use is recorded (once a minute)

    counts = []
    for claim in (fewest, most):
        status, body, queries = _get(raw, claim.pk)
        assert status == 200
        assert len(body["lines"]) == claim.n  # type: ignore[attr-defined]
        counts.append(queries)

    assert counts == [QUERIES_WITHOUT_PAYMENTS, QUERIES_WITHOUT_PAYMENTS]


def test_the_query_count_does_not_grow_with_payments(paid_claims, biller):
    raw = _token(biller)
    _get(raw, Claim.objects.order_by("pk").first().pk)  # type: ignore[union-attr]
    paid = Claim.objects.annotate(n=Count("payments")).filter(n__gt=0).order_by("-n", "pk")
    claim = paid.first()
    assert claim is not None
    assert ClaimPayment.objects.filter(claim=claim, adjustments__isnull=False).exists()

    status, body, queries = _get(raw, claim.pk)

    assert status == 200
    assert body["adjustments"], "the projection for payment shows the adjustments"
    assert queries == QUERIES_WITH_PAYMENTS
    unpaid = Claim.objects.annotate(n=Count("payments")).filter(n=0).order_by("pk").first()
    assert unpaid is not None
    status, body, queries = _get(raw, unpaid.pk)
    assert (status, body["adjustments"], queries) == (200, [], QUERIES_WITHOUT_PAYMENTS)


def test_a_cold_process_reads_with_the_same_queries(unpaid_claims, biller):
    """The first read in a process (keys not yet unwrapped) costs no extra query."""
    from phiwarden.vault.services import cipher_cache_clear

    raw = _token(biller)
    claim = _claims_by_lines()[0]
    _get(raw, claim.pk)
    warm = _get(raw, claim.pk)[2]
    cipher_cache_clear()

    assert _get(raw, claim.pk)[2] == warm


def test_a_claim_without_lines_is_read_with_one_more_query(unpaid_claims, biller):
    """The claim comes with its lines; a claim that has none is read on its own."""
    raw = _token(biller)
    claim = _claims_by_lines()[0]
    _get(raw, claim.pk)
    status, with_lines, queries = _get(raw, claim.pk)
    assert (status, queries) == (200, QUERIES_WITHOUT_PAYMENTS)
    claim.lines.all().delete()

    status, body, queries = _get(raw, claim.pk)

    assert (status, body["lines"], queries) == (200, [], QUERIES_WITHOUT_PAYMENTS + 1)
    assert body["projected"] == with_lines["projected"]


def test_a_claim_of_an_unassigned_client_is_still_not_found(paid_claims, make_member, clients):
    coder = make_member(Role.CLAIMS_SPECIALIST, email="elsewhere@example.test")
    coder.clients.set([clients[1]])
    claim = _claims_by_lines()[0]
    before = AuditEvent.objects.filter(event_code=EventCode.BILLING_PHI_VIEWED).count()

    status, _, _ = _get(_token(coder), claim.pk)

    assert status == 404
    assert AuditEvent.objects.filter(event_code=EventCode.BILLING_PHI_VIEWED).count() == before


def test_roles_that_reach_every_client_read_without_an_assignment(paid_claims, owner):
    status, body, _ = _get(_token(owner), _claims_by_lines()[0].pk)

    assert status == 200
    assert body["projected"]


def test_a_claim_of_another_organization_is_not_found(paid_claims, outsider):
    assert _get(_token(outsider), _claims_by_lines()[0].pk)[0] == 404


# --- The MFA facts loaded with the token -----------------------------------------------


def _facts_agree(member: Membership) -> bool:
    raw = _token(member)
    token = api_auth._token_with_mfa_facts(raw.split("_")[1])
    assert token is not None
    folded = api_auth._enrollment_required(token)
    assert folded == mfa.enrollment_required(member.user)
    return folded


def _second_organization(member: Membership, *, mfa_required: bool, active: bool) -> None:
    other = Organization.objects.create(
        name="Second Synthetic Billing",
        slug="second-billing",
        is_synthetic=True,
        mfa_required=mfa_required,
    )
    Membership.objects.create(
        user=member.user, organization=other, role=Role.CODER, is_active=active
    )


def test_no_mfa_anywhere_needs_no_second_factor(biller):
    assert _facts_agree(biller) is False


def test_an_organization_requiring_mfa_needs_a_second_factor(biller, organization):
    organization.mfa_required = True
    organization.save(update_fields=["mfa_required"])

    assert _facts_agree(biller) is True
    totp_enable(biller.user)
    assert _facts_agree(biller) is False


def test_another_organization_requiring_mfa_counts_while_that_membership_is_active(biller):
    _second_organization(biller, mfa_required=True, active=True)
    assert _facts_agree(biller) is True

    Membership.objects.filter(user=biller.user, is_active=True).exclude(pk=biller.pk).update(
        is_active=False
    )
    assert _facts_agree(biller) is False


def test_recovery_codes_alone_are_not_a_second_factor(biller, organization):
    organization.mfa_required = True
    organization.save(update_fields=["mfa_required"])
    Authenticator.objects.create(
        user=biller.user, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "synthetic"}
    )

    assert _facts_agree(biller) is True


def test_staff_always_need_a_second_factor(biller):
    biller.user.is_staff = True
    biller.user.save(update_fields=["is_staff"])

    assert _facts_agree(biller) is True
    totp_enable(biller.user)
    assert _facts_agree(biller) is False


def test_the_api_refuses_a_token_while_required_mfa_is_missing(paid_claims, biller, organization):
    raw = _token(biller)
    claim = _claims_by_lines()[0]
    organization.mfa_required = True
    organization.save(update_fields=["mfa_required"])

    assert _get(raw, claim.pk)[0] == 401
    refused = AuditEvent.objects.filter(event_code=EventCode.API_TOKEN_REFUSED).latest("pk")
    assert refused.data == {"reason": "mfa_enrollment_required"}

    totp_enable(biller.user)
    assert _get(raw, claim.pk)[0] == 200
