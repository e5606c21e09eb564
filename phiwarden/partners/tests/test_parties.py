"""Vendors, due diligence, attestations and client profiles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.partners import diligence, services
from phiwarden.partners.models import ClientProfile, DiligenceReview, Vendor
from phiwarden.partners.tests.factories import make_vendor, pass_diligence

pytestmark = pytest.mark.django_db
D = dt.date
ALL = diligence.QUESTION_CODES


def test_vendor_create_records_an_audit_event(officer):
    vendor = make_vendor(officer, kind="clearinghouse", phi_classes=["insurance", "demographics"])

    assert (vendor.status, vendor.phi_classes) == ("proposed", ["demographics", "insurance"])
    event = AuditEvent.objects.get(event_code=EventCode.VENDOR_CREATED)
    assert (event.actor_id, event.target_id) == (officer.user_id, str(vendor.pk))


def test_vendor_names_are_unique_per_organization_ignoring_case(officer, outsider):
    make_vendor(officer, "Synthetic Mail House")
    with pytest.raises(ValidationError) as error:
        make_vendor(officer, "synthetic mail house")
    assert "name" in error.value.message_dict
    make_vendor(outsider, "Synthetic Mail House")  # another organization may
    assert Vendor.objects.count() == 2


def test_vendor_refuses_unknown_phi_classes(officer):
    with pytest.raises(ValidationError):
        make_vendor(officer, phi_classes=["genome"])


def test_vendor_update_audits_only_changed_fields(officer):
    vendor = make_vendor(officer)
    data = services.VendorData(name=vendor.name, risk_tier="low")
    services.vendor_update(actor=officer, vendor=vendor, data=data)
    services.vendor_update(actor=officer, vendor=vendor, data=data)
    event = AuditEvent.objects.get(event_code=EventCode.VENDOR_UPDATED)
    assert event.data == {"fields": ["risk_tier"]}


def test_vendor_cannot_be_approved_before_due_diligence(officer):
    vendor = make_vendor(officer)
    with pytest.raises(ValidationError, match=r"164\.308\(b\)\(1\)"):
        services.vendor_set_status(actor=officer, vendor=vendor, status="approved")
    vendor.refresh_from_db()
    assert vendor.status == "proposed"


def test_vendor_is_approved_after_favourable_diligence(officer):
    vendor = make_vendor(officer)
    pass_diligence(officer, vendor, on=D(2025, 3, 1))
    services.vendor_set_status(actor=officer, vendor=vendor, status="approved")
    vendor.refresh_from_db()
    assert vendor.status == "approved"
    assert vendor.approved_at is not None
    event = AuditEvent.objects.get(event_code=EventCode.VENDOR_STATUS_CHANGED)
    assert event.data == {"old_status": "proposed", "status": "approved"}


def test_a_lapsed_review_does_not_allow_approval(officer):
    vendor = make_vendor(officer, risk_tier="high")  # re-review every 12 months
    pass_diligence(officer, vendor, on=D(2024, 3, 1))
    with pytest.raises(ValidationError):
        services.vendor_set_status(actor=officer, vendor=vendor, status="approved")


def test_a_rejection_after_approval_blocks_a_new_approval(officer):
    vendor = make_vendor(officer)
    pass_diligence(officer, vendor, on=D(2025, 1, 1))
    services.diligence_record(
        actor=officer,
        vendor=vendor,
        answers=dict.fromkeys(ALL, "no"),
        decision="rejected",
        decided_on=D(2025, 2, 1),
    )
    with pytest.raises(ValidationError):
        services.vendor_set_status(actor=officer, vendor=vendor, status="approved")


@pytest.mark.parametrize(
    ("_case", "answers", "expected"),
    [
        ("all-yes", dict.fromkeys(ALL, "yes"), 100),
        ("all-no", dict.fromkeys(ALL, "no"), 0),
        ("all-partial", dict.fromkeys(ALL, "partial"), 50),
        (
            "no-training-and-backups",
            {**dict.fromkeys(ALL, "yes"), "training": "no", "backups": "no"},
            80,
        ),
        ("unanswered-counts-as-no", {}, 0),
    ],
)
def test_diligence_score(_case, answers, expected):
    assert diligence.score(answers) == expected


def test_diligence_sets_the_next_review_by_risk_tier(officer):
    for tier, expected in (
        ("high", D(2026, 1, 31)),
        ("moderate", D(2027, 1, 31)),
        ("low", D(2028, 1, 31)),
    ):
        vendor = make_vendor(officer, f"Synthetic {tier} vendor", risk_tier=tier)
        review = pass_diligence(officer, vendor, on=D(2025, 1, 31))
        assert review.next_review_on == expected


def test_diligence_refuses_approval_without_a_required_safeguard(officer):
    vendor = make_vendor(officer)
    answers = {**dict.fromkeys(ALL, "yes"), "encryption_at_rest": "no"}
    with pytest.raises(ValidationError, match="encrypted at rest"):
        services.diligence_record(
            actor=officer,
            vendor=vendor,
            answers=answers,
            decision="conditional",
            decided_on=D(2025, 3, 1),
        )
    assert not DiligenceReview.objects.exists()


def test_diligence_below_passing_score_needs_conditions(officer):
    vendor = make_vendor(officer)
    answers = {**dict.fromkeys(ALL, "partial")}
    with pytest.raises(ValidationError, match="below 70"):
        services.diligence_record(
            actor=officer,
            vendor=vendor,
            answers=answers,
            decision="approved",
            decided_on=D(2025, 3, 1),
        )
    review = services.diligence_record(
        actor=officer,
        vendor=vendor,
        answers=answers,
        decision="conditional",
        decided_on=D(2025, 3, 1),
    )
    assert (review.score, review.is_favourable) == (50, True)


def test_diligence_needs_every_question_answered(officer):
    vendor = make_vendor(officer)
    with pytest.raises(ValidationError):
        services.diligence_record(
            actor=officer,
            vendor=vendor,
            answers={"mfa": "yes"},
            decision="rejected",
            decided_on=D(2025, 3, 1),
        )


def test_attestation_cannot_expire_before_issue(officer):
    vendor = make_vendor(officer)
    with pytest.raises(ValidationError):
        services.attestation_record(
            actor=officer,
            vendor=vendor,
            kind="soc2_type2",
            title="",
            issued_on=D(2025, 3, 1),
            expires_on=D(2025, 2, 1),
        )


def test_client_profile_update_normalizes_states_and_audits(officer, clients):
    data = services.ClientProfileData(
        privacy_officer_name="Synthetic Officer",
        privacy_officer_email="po@clinic.example.test",
        states_served=["ky", "OH", "oh"],
    )
    profile = services.client_profile_update(actor=officer, client=clients[0], data=data)
    again = services.client_profile_update(actor=officer, client=clients[0], data=data)

    assert profile.pk == again.pk
    assert ClientProfile.objects.get().states_served == ["KY", "OH"]
    assert profile.has_breach_contact
    assert AuditEvent.objects.filter(event_code=EventCode.CLIENT_PROFILE_UPDATED).count() == 1


def test_client_profile_refuses_unknown_states(officer, clients):
    with pytest.raises(ValidationError):
        services.client_profile_update(
            actor=officer, client=clients[0], data=services.ClientProfileData(states_served=["XX"])
        )


def test_viewers_cannot_change_anything(auditor, clients):
    with pytest.raises(PermissionDenied):
        services.vendor_create(actor=auditor, data=services.VendorData(name="Nope"))
    with pytest.raises(PermissionDenied):
        services.client_profile_update(
            actor=auditor, client=clients[0], data=services.ClientProfileData()
        )
    assert not Vendor.objects.exists()
    assert not ClientProfile.objects.exists()
