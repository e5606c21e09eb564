"""Remittance list and detail: projected through the PHI door, CARC/RARC and PLB in plain
words, withheld fields named with the reason."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client as HttpClient
from django.urls import reverse

from phiwarden.accounts.roles import Capability, Role
from phiwarden.accounts.services import api_token_create
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.billing import selectors
from phiwarden.billing.imports import x12_import
from phiwarden.billing.minimum_necessary import PhiField, allowed_fields
from phiwarden.billing.models import ClaimPayment, ProviderAdjustment, Remittance
from phiwarden.billing.synthetic import generate_batch

pytestmark = pytest.mark.django_db
F = PhiField


@pytest.fixture
def remittance(owner, clients) -> Remittance:
    batch = generate_batch(seed=29, claims=30)
    for writer in (batch.write_837p, batch.write_835):
        stream = io.BytesIO()
        writer(stream)
        stream.seek(0)
        x12_import(actor=owner, client=clients[0], stream=stream, filename="f.x12")
    with_plb = ProviderAdjustment.objects.values_list("remittance_id", flat=True).first()
    if with_plb is not None:
        return Remittance.objects.get(pk=with_plb)
    return Remittance.objects.order_by("pk").first()  # type: ignore[return-value]


def _member(make_member, clients, role):
    member = make_member(role, email=f"{role.value}-remit@example.test")
    member.clients.set([clients[0]])
    return member


def test_the_poster_sees_payments_with_reasons_in_plain_words(make_member, clients, remittance):
    poster = _member(make_member, clients, Role.PAYMENT_POSTER)

    detail = selectors.remittance_detail(
        membership=poster, remittance_id=remittance.pk, purpose="payment"
    )

    payments = ClaimPayment.objects.filter(remittance=remittance)
    assert [p.payment_id for p in detail.payments] == sorted(p.pk for p in payments)
    assert all(p.status_words for p in detail.payments)
    reasons = [a for p in detail.payments for a in p.adjustments]
    assert all(a["reason_words"] and a["group_words"] for a in reasons)
    assert {p.claim_id for p in detail.payments if p.claim_id} <= set(
        payments.values_list("claim_id", flat=True)
    )
    assert set(detail.withheld) == {
        f.value
        for f in selectors.REMITTANCE_FIELDS
        if f not in allowed_fields(Role.PAYMENT_POSTER, "payment")
    }
    event = AuditEvent.objects.get(event_code=EventCode.BILLING_PHI_VIEWED)
    assert event.data["view"] == "remittance"
    assert set(event.fields_disclosed) <= {
        f.value for f in allowed_fields(Role.PAYMENT_POSTER, "payment")
    }
    matched = {p.claim.patient_id for p in payments if p.claim is not None}
    assert set(event.patients.values_list("patient_id", flat=True)) == matched


def test_a_coder_sees_no_names_or_amounts_and_is_told_why(make_member, clients, remittance):
    coder = _member(make_member, clients, Role.CODER)

    detail = selectors.remittance_detail(
        membership=coder, remittance_id=remittance.pk, purpose="payment"
    )

    assert all("patient.name" not in p.projected.values for p in detail.payments)
    assert all(not p.adjustments for p in detail.payments)
    assert "patient.name" in detail.withheld
    assert "minimum necessary" in detail.withheld["patient.name"]
    assert all("reference" not in a for a in detail.provider_adjustments)


def test_an_unassigned_client_and_another_organization_get_404(
    make_member, clients, remittance, outsider
):
    poster = make_member(Role.PAYMENT_POSTER, email="elsewhere@example.test")
    poster.clients.set([clients[1]])

    with pytest.raises(Http404):
        selectors.remittance_detail(
            membership=poster, remittance_id=remittance.pk, purpose="payment"
        )
    with pytest.raises(Http404):
        selectors.remittance_detail(
            membership=outsider, remittance_id=remittance.pk, purpose="payment"
        )


def test_the_list_is_for_posters_and_holds_no_patient(make_member, clients, remittance):
    poster = _member(make_member, clients, Role.PAYMENT_POSTER)
    coder = _member(make_member, clients, Role.CODER)

    page = selectors.remittance_list(membership=poster)

    assert remittance.pk in [r.id for r in page.rows]
    row = next(r for r in page.rows if r.id == remittance.pk)
    assert row.payments == ClaimPayment.objects.filter(remittance=remittance).count()
    with pytest.raises(PermissionDenied):
        selectors.remittance_list(membership=coder)


def test_the_pages_link_unmatched_payments_to_their_remittance(
    make_member, clients, remittance, login_client
):
    poster = _member(make_member, clients, Role.PAYMENT_POSTER)
    client = login_client(poster)
    slug = poster.organization.slug

    listing = client.get(reverse("billing:remittance-list", args=[slug]))
    detail = client.get(
        reverse("billing:remittance-detail", args=[slug, remittance.pk]), {"purpose": "payment"}
    )
    unmatched = client.get(reverse("billing:unmatched-payments", args=[slug]))

    assert listing.status_code == detail.status_code == unmatched.status_code == 200
    assert (
        reverse("billing:remittance-detail", args=[slug, remittance.pk]) in listing.content.decode()
    )
    assert "Claim payments" in detail.content.decode()
    if ClaimPayment.objects.filter(claim__isnull=True).exists():
        assert "/remittances/" in unmatched.content.decode()


def test_the_api_gives_the_same_projection(make_member, clients, remittance):
    poster = _member(make_member, clients, Role.PAYMENT_POSTER)
    _, raw = api_token_create(
        actor=poster,
        name="p",
        scopes=[Capability.BILLING_VIEW_PHI.value, Capability.BILLING_POST_PAYMENTS.value],
        days=1,
    )
    headers = {"Authorization": f"Bearer {raw}"}

    listed = HttpClient().get("/api/v1/billing/remittances", headers=headers)
    one = HttpClient().get(
        f"/api/v1/billing/remittances/{remittance.pk}", {"purpose": "payment"}, headers=headers
    )

    assert listed.status_code == one.status_code == 200
    body = one.json()
    assert body["id"] == remittance.pk
    # amounts are exact decimal text, as stored (never floats)
    assert body["payment_amount"] == str(remittance.payment_amount)
    row = next(r for r in listed.json()["rows"] if r["id"] == remittance.pk)
    assert row["payment_amount"] == str(remittance.payment_amount)
    assert set(row) == {
        "id", "client", "payer", "trace_number", "payment_amount", "payment_method",
        "payment_date", "payments", "unmatched",
    }  # fmt: skip
    values = {k for p in body["payments"] for k in p["projected"]["values"]}
    assert values <= {f.value for f in allowed_fields(Role.PAYMENT_POSTER, "payment")}
    assert AuditEvent.objects.filter(event_code=EventCode.BILLING_PHI_VIEWED).get().api_token_prefix


def test_the_api_lists_unmatched_payments_with_exact_amounts(make_member, clients, owner):
    batch = generate_batch(seed=31, claims=5)
    stream = io.BytesIO()
    batch.write_835(stream)  # no 837 first: every payment is unmatched
    stream.seek(0)
    x12_import(actor=owner, client=clients[0], stream=stream, filename="only.835")
    poster = _member(make_member, clients, Role.PAYMENT_POSTER)
    _, raw = api_token_create(
        actor=poster, name="p", scopes=[Capability.BILLING_POST_PAYMENTS.value], days=1
    )

    response = HttpClient().get(
        "/api/v1/billing/payments/unmatched",
        {"purpose": "payment"},
        headers={"Authorization": f"Bearer {raw}"},
    )

    assert response.status_code == 200
    rows = response.json()
    payments = {p.pk: p for p in ClaimPayment.objects.filter(claim__isnull=True)}
    assert len(rows) == len(payments) > 0
    for row in rows:
        stored = payments[row["payment_id"]]
        assert (row["paid"], row["charge"]) == (str(stored.paid), str(stored.charge))
        # the selector's remittance_id (a link for the pages) is not in the API
        assert set(row) == {
            "payment_id", "client", "payer", "trace_number", "paid", "charge",
            "status_code", "projected",
        }  # fmt: skip
