"""BAAs: window arithmetic, renewal, the checker's six answers, services and warnings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.core.clock import DayKind
from phiwarden.partners import services
from phiwarden.partners.checks import BaaState, baa_check, baa_check_for_client
from phiwarden.partners.models import Baa
from phiwarden.partners.tests.factories import make_vendor, sign_baa

pytestmark = pytest.mark.django_db
D = dt.date


def unsaved(**fields) -> Baa:
    values = {"direction": "client", "status": "signed", "signed_on": D(2025, 1, 1)}
    values.update(fields)
    return Baa(**values)


@pytest.mark.parametrize(
    ("_case", "days", "kind", "discovered", "expected"),
    [
        ("calendar-ten", 10, DayKind.CALENDAR, D(2025, 12, 26), D(2026, 1, 5)),
        (
            "business-ten-over-christmas-and-new-year",
            10,
            DayKind.BUSINESS,
            D(2025, 12, 22),
            D(2026, 1, 7),
        ),
        ("business-five-over-a-weekend", 5, DayKind.BUSINESS, D(2025, 3, 6), D(2025, 3, 13)),
        ("calendar-sixty", 60, DayKind.CALENDAR, D(2024, 12, 31), D(2025, 3, 1)),
        (
            "business-sixty-capped-by-164-410-b",
            60,
            DayKind.BUSINESS,
            D(2024, 12, 31),
            D(2025, 3, 1),
        ),
        ("leap-year-calendar", 30, DayKind.CALENDAR, D(2024, 2, 15), D(2024, 3, 16)),
    ],
)
def test_breach_notice_deadline_follows_the_baa_window(_case, days, kind, discovered, expected):
    baa = unsaved(notice_window_days=days, notice_window_kind=kind)
    assert baa.notice_window.breach_deadline(discovered) == expected


@pytest.mark.parametrize(
    ("_case", "expires", "auto", "months", "today", "expected"),
    [
        ("fixed-end", D(2025, 12, 31), False, 12, D(2026, 6, 1), D(2025, 12, 31)),
        ("renews-across-year-end", D(2024, 12, 31), True, 12, D(2025, 3, 3), D(2025, 12, 31)),
        ("renews-twice", D(2023, 6, 30), True, 12, D(2025, 3, 3), D(2025, 6, 30)),
        ("leap-day-renews-to-february-28", D(2024, 2, 29), True, 12, D(2024, 3, 1), D(2025, 2, 28)),
        ("monthly-renewal", D(2025, 1, 31), True, 1, D(2025, 3, 3), D(2025, 3, 31)),
        ("no-end", None, False, 12, D(2025, 3, 3), None),
    ],
)
def test_current_expiry_rolls_auto_renewals_forward(_case, expires, auto, months, today, expected):
    baa = unsaved(expires_on=expires, auto_renews=auto, renewal_months=months)
    assert baa.current_expiry(today) == expected


@pytest.mark.parametrize(
    ("_case", "expires", "expected"),
    [
        ("far", D(2025, 12, 1), None),
        ("ninety", D(2025, 6, 1), 90),
        ("sixty", D(2025, 5, 2), 60),
        ("thirty", D(2025, 4, 2), 30),
        ("last-day", D(2025, 3, 3), 30),
        ("expired", D(2025, 3, 2), None),
    ],
)
def test_warning_thresholds_are_90_60_30_days(_case, expires, expected):
    assert unsaved(expires_on=expires).warning_days(D(2025, 3, 3)) == expected


def test_checker_says_missing_without_any_baa():
    assert baa_check([], D(2025, 3, 3)).state is BaaState.MISSING


@pytest.mark.parametrize(
    ("_case", "fields", "expected"),
    [
        ("unsigned", {"status": "draft", "signed_on": None}, BaaState.UNSIGNED),
        ("expired", {"expires_on": D(2025, 3, 2)}, BaaState.EXPIRED),
        ("terminated", {"status": "terminated", "terminated_on": D(2025, 2, 1)}, BaaState.EXPIRED),
        ("expiring", {"expires_on": D(2025, 4, 1)}, BaaState.EXPIRING),
        ("current", {"expires_on": D(2026, 1, 1)}, BaaState.CURRENT),
        ("current-without-end", {"expires_on": None}, BaaState.CURRENT),
        ("auto-renewed", {"expires_on": D(2025, 1, 1), "auto_renews": True}, BaaState.CURRENT),
        ("future-start", {"effective_on": D(2025, 4, 1)}, BaaState.NOT_YET_EFFECTIVE),
    ],
)
def test_checker_answers(_case, fields, expected):
    check = baa_check([unsaved(**fields)], D(2025, 3, 3))
    assert check.state is expected
    assert check.state.in_force is (expected in (BaaState.CURRENT, BaaState.EXPIRING))


def test_checker_prefers_the_current_baa_over_an_expired_one():
    old = unsaved(pk=1, expires_on=D(2024, 12, 31))
    new = unsaved(pk=2, signed_on=D(2024, 12, 1), expires_on=D(2027, 1, 1))
    check = baa_check([old, new], D(2025, 3, 3))
    assert (check.state, check.baa, check.expires_on) == (BaaState.CURRENT, new, D(2027, 1, 1))


def test_create_records_direction_and_audit_event(officer, clients):
    baa = sign_baa(officer, client=clients[0])

    assert baa.direction == Baa.Direction.CLIENT
    event = AuditEvent.objects.get(event_code=EventCode.BAA_CREATED)
    assert (event.target_id, event.data) == (
        str(baa.pk),
        {"direction": "client", "status": "signed"},
    )
    assert baa_check_for_client(clients[0], D(2025, 3, 3)).state is BaaState.CURRENT


def test_a_vendor_and_subcontractor_name_make_a_subcontractor_baa(officer):
    vendor = make_vendor(officer)
    baa = sign_baa(officer, vendor=vendor)
    sub = services.baa_create(
        actor=officer,
        terms=services.BaaTerms(),
        vendor=vendor,
        subcontractor_name="Synthetic Print Co",
    )
    assert (baa.direction, sub.direction) == ("vendor", "subcontractor")
    assert sub.party_label == "Synthetic Print Co (subcontractor of Synthetic Clearinghouse)"


@pytest.mark.parametrize(
    ("_case", "terms", "field"),
    [
        ("signed-without-date", {"status": "signed"}, "signed_on"),
        (
            "ends-before-it-starts",
            {"status": "signed", "signed_on": D(2025, 2, 1), "expires_on": D(2025, 1, 1)},
            "expires_on",
        ),
        ("terminated-is-not-a-create-status", {"status": "terminated"}, "status"),
        ("unknown-day-kind", {"notice_window_kind": "lunar"}, "notice_window_kind"),
    ],
)
def test_create_refuses_bad_terms(_case, terms, field, officer, clients):
    with pytest.raises(ValidationError) as error:
        services.baa_create(actor=officer, terms=services.BaaTerms(**terms), client=clients[0])
    assert field in error.value.message_dict
    assert not Baa.objects.exists()


def test_create_needs_exactly_one_party(officer, clients):
    vendor = make_vendor(officer)
    with pytest.raises(ValidationError):
        services.baa_create(
            actor=officer, terms=services.BaaTerms(), client=clients[0], vendor=vendor
        )
    with pytest.raises(ValidationError):
        services.baa_create(actor=officer, terms=services.BaaTerms())


def test_members_without_partners_manage_cannot_create(auditor, biller, clients):
    for member in (auditor, biller):
        with pytest.raises(PermissionDenied):
            services.baa_create(actor=member, terms=services.BaaTerms(), client=clients[0])
    assert not Baa.objects.exists()


def test_another_organizations_client_is_refused(officer, outsider, other_organization):
    from phiwarden.accounts.models import Client

    stranger = Client.objects.create(organization=other_organization, name="Other Clinic")
    with pytest.raises(ValidationError):
        services.baa_create(actor=officer, terms=services.BaaTerms(), client=stranger)


def test_terminate_records_the_disposition_of_phi(officer, clients):
    baa = sign_baa(officer, client=clients[0])

    services.baa_terminate(
        actor=officer,
        baa=baa,
        terminated_on=D(2025, 3, 3),
        reason="Client left",
        disposition="destroyed",
        disposition_certified_on=D(2025, 3, 1),
    )

    baa.refresh_from_db()
    assert (baa.status, baa.disposition, baa.disposition_certified_on) == (
        "terminated",
        "destroyed",
        D(2025, 3, 1),
    )
    assert AuditEvent.objects.filter(event_code=EventCode.BAA_TERMINATED).count() == 1
    assert baa_check_for_client(clients[0], D(2025, 3, 3)).state is BaaState.EXPIRED
    with pytest.raises(ValidationError):
        services.baa_update(actor=officer, baa=baa, terms=services.BaaTerms())


def test_returned_or_destroyed_needs_the_certificate_date(officer, clients):
    baa = sign_baa(officer, client=clients[0])
    with pytest.raises(ValidationError) as error:
        services.baa_terminate(
            actor=officer,
            baa=baa,
            terminated_on=D(2025, 3, 3),
            reason="Ended",
            disposition="returned",
        )
    assert "disposition_certified_on" in error.value.message_dict
    baa.refresh_from_db()
    assert baa.status == "signed"


def test_update_changes_terms_and_audits_the_changed_fields(officer, clients):
    baa = sign_baa(officer, client=clients[0])
    terms = services.BaaTerms(
        status="signed",
        signed_on=D(2025, 1, 1),
        expires_on=D(2026, 1, 1),
        notice_window_days=5,
        notice_window_kind="business",
    )

    services.baa_update(actor=officer, baa=baa, terms=terms)
    services.baa_update(actor=officer, baa=baa, terms=terms)  # no change, no event

    event = AuditEvent.objects.get(event_code=EventCode.BAA_UPDATED)
    assert event.data == {"fields": ["notice_window_days", "notice_window_kind"]}


def test_expiry_warnings_are_sent_once_per_threshold(
    officer, owner, clients, mailoutbox, django_capture_on_commit_callbacks
):
    baa = sign_baa(officer, client=clients[0], expires_on=D(2025, 5, 20))
    organization = officer.organization

    def send(today):
        with django_capture_on_commit_callbacks(execute=True):
            return services.baa_expiry_warnings_send(organization=organization, today=today)

    assert send(D(2025, 2, 1)) == []  # 108 days out
    assert send(D(2025, 2, 20)) == [baa]  # 89 days: the 90-day warning
    assert send(D(2025, 2, 21)) == []  # still 90: already sent
    assert send(D(2025, 3, 21)) == [baa]  # 60
    assert send(D(2025, 4, 25)) == [baa]  # 25: the 30-day warning
    assert send(D(2025, 4, 26)) == []
    assert len(mailoutbox) == 3
    assert sorted(mailoutbox[0].to) == sorted([officer.user.email, owner.user.email])
    assert "within 90 days" in mailoutbox[0].subject
    assert AuditEvent.objects.filter(event_code=EventCode.BAA_EXPIRY_WARNED).count() == 3


def test_an_auto_renewed_baa_earns_fresh_warnings_for_its_next_end(officer, clients):
    organization = officer.organization
    baa = sign_baa(officer, client=clients[0], expires_on=D(2025, 3, 31), auto_renews=True)
    assert services.baa_expiry_warnings_send(organization=organization, today=D(2025, 3, 10)) == [
        baa
    ]
    # Renewed to 2026-03-31; 30 days before that end is a new warning.
    assert services.baa_expiry_warnings_send(organization=organization, today=D(2026, 3, 10)) == [
        baa
    ]


def test_reminders_command_is_idempotent(officer, clients, capsys):
    from django.core.management import call_command

    sign_baa(officer, client=clients[0], expires_on=D(2025, 3, 20))
    call_command("partners_reminders", "--date", "2025-03-03")
    call_command("partners_reminders", "--date", "2025-03-03")
    out = capsys.readouterr().out
    assert out.count("1 warning(s) sent.") == 1
    assert out.count("0 warning(s) sent.") == 1
