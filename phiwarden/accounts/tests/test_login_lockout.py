"""Log-in monitoring and lockout through the real log-in page (45 CFR 164.308(a)(5)(ii)(C)).

LOGIN_LOCKOUT_THRESHOLD consecutive wrong passwords lock the account for
LOGIN_LOCKOUT_MINUTES, during which even the right password is refused (NIST SP 800-63B
5.2.2); every attempt leaves an audit event.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client as HttpClient

from phiwarden.accounts.models import User
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.models import AuditEvent
from phiwarden.conftest import PASSWORD

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WRONG = "not the right passphrase at all"
REFUSAL = "The email address and/or password you specified are not correct."


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth's per-IP log-in rate limits live in the cache; start and leave it empty."""
    cache.clear()
    yield
    cache.clear()


def attempt(client: HttpClient, email: str, password: str):
    return client.post("/accounts/login/", {"login": email, "password": password})


def refusal_of(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def fail_times(client: HttpClient, email: str, times: int) -> None:
    for _ in range(times):
        response = attempt(client, email, WRONG)
        assert response.status_code == 200
        assert refusal_of(response) == [REFUSAL]


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(owner, settings):
    # given the default policy
    assert (settings.LOGIN_LOCKOUT_THRESHOLD, settings.LOGIN_LOCKOUT_MINUTES) == (5, 15)
    user = owner.user

    # when five wrong passwords are tried in a row
    with time_machine.travel(START, tick=False):
        fail_times(HttpClient(), user.email, 5)

    # then the account is locked for fifteen minutes and every step is on record
    user.refresh_from_db()
    assert user.locked_until == START + timedelta(minutes=15)
    assert user.failed_login_count == 0
    failures = AuditEvent.objects.filter(event_code=EventCode.LOGIN_FAILED).order_by("id")
    assert [e.data for e in failures] == [{"consecutive_failures": n} for n in range(1, 6)]
    assert {(e.outcome, e.target_type, e.target_id) for e in failures} == {
        (Outcome.FAILED, "accounts.user", str(user.pk))
    }
    locked = AuditEvent.objects.get(event_code=EventCode.LOGIN_LOCKED)
    assert (locked.outcome, locked.target_id, locked.data) == (
        Outcome.DENIED,
        str(user.pk),
        {"minutes": 15},
    )
    assert locked.actor is None
    assert locked.organization is None


def test_four_wrong_passwords_do_not_lock(owner):
    with time_machine.travel(START, tick=False):
        fail_times(HttpClient(), owner.user.email, 4)

    owner.user.refresh_from_db()
    assert owner.user.locked_until is None
    assert owner.user.failed_login_count == 4
    assert not AuditEvent.objects.filter(event_code=EventCode.LOGIN_LOCKED).exists()


@pytest.mark.parametrize("password", [PASSWORD, WRONG], ids=["right password", "wrong password"])
def test_locked_account_refuses_every_password(owner, password):
    # given a locked account
    client = HttpClient()
    with time_machine.travel(START, tick=False) as traveller:
        fail_times(client, owner.user.email, 5)
        traveller.shift(timedelta(minutes=5))

        # when someone tries again, even with the right password
        response = attempt(client, owner.user.email, password)
        signed_in = "_auth_user_id" in client.session

    # then the answer is the ordinary refusal, nobody is signed in, and the refusal is audited
    assert response.status_code == 200
    assert refusal_of(response) == [REFUSAL]
    assert not signed_in
    refused = AuditEvent.objects.get(event_code=EventCode.LOGIN_REFUSED_LOCKED)
    assert (refused.outcome, refused.target_id) == (Outcome.DENIED, str(owner.user.pk))
    assert not AuditEvent.objects.filter(event_code=EventCode.LOGIN_SUCCEEDED).exists()
    assert AuditEvent.objects.filter(event_code=EventCode.LOGIN_FAILED).count() == 5
    owner.user.refresh_from_db()
    assert owner.user.locked_until == START + timedelta(minutes=15)


LOCK_END_CASES = [
    ("one second before the lock ends", timedelta(minutes=15) - timedelta(seconds=1), False),
    ("when the lock ends", timedelta(minutes=15), True),
    ("an hour later", timedelta(hours=1), True),
]


@pytest.mark.parametrize(
    ("_case", "elapsed", "accepted"), LOCK_END_CASES, ids=[c[0] for c in LOCK_END_CASES]
)
def test_right_password_works_again_once_the_lock_passes(owner, _case, elapsed, accepted):
    client = HttpClient()
    with time_machine.travel(START, tick=False) as traveller:
        fail_times(client, owner.user.email, 5)
        traveller.shift(elapsed)

        response = attempt(client, owner.user.email, PASSWORD)
        signed_in = "_auth_user_id" in client.session

    assert (response.status_code == 302) is accepted
    assert signed_in is accepted
    assert AuditEvent.objects.filter(event_code=EventCode.LOGIN_SUCCEEDED).exists() is accepted
    assert AuditEvent.objects.filter(event_code=EventCode.LOGIN_REFUSED_LOCKED).exists() is not (
        accepted
    )


def test_failures_after_the_lock_count_from_one(owner):
    # given a lock that has passed
    with time_machine.travel(START, tick=False) as traveller:
        fail_times(HttpClient(), owner.user.email, 5)
        traveller.shift(timedelta(minutes=16))

        # when the next wrong password comes
        fail_times(HttpClient(), owner.user.email, 1)

    # then it is the first of a new series, not the sixth of the old one
    last = AuditEvent.objects.filter(event_code=EventCode.LOGIN_FAILED).order_by("id").last()
    assert last is not None
    assert last.data == {"consecutive_failures": 1}
    assert AuditEvent.objects.filter(event_code=EventCode.LOGIN_LOCKED).count() == 1


def test_success_resets_the_failure_counter(owner):
    # given four failures, then a successful log-in
    client = HttpClient()
    fail_times(client, owner.user.email, 4)
    assert attempt(client, owner.user.email, PASSWORD).status_code == 302
    owner.user.refresh_from_db()
    assert owner.user.failed_login_count == 0

    # when the next failure comes (from another browser)
    fail_times(HttpClient(), owner.user.email, 1)

    # then it counts from one again, and no lock follows
    last = AuditEvent.objects.filter(event_code=EventCode.LOGIN_FAILED).order_by("id").last()
    assert last is not None
    assert last.data == {"consecutive_failures": 1}
    owner.user.refresh_from_db()
    assert owner.user.locked_until is None


def test_lockout_follows_the_settings(owner, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 3
    settings.LOGIN_LOCKOUT_MINUTES = 30

    with time_machine.travel(START, tick=False):
        fail_times(HttpClient(), owner.user.email, 3)

    owner.user.refresh_from_db()
    assert owner.user.locked_until == START + timedelta(minutes=30)
    assert AuditEvent.objects.get(event_code=EventCode.LOGIN_LOCKED).data == {"minutes": 30}


def test_unknown_address_records_a_failure_with_no_target(db):
    response = attempt(HttpClient(), "nobody@example.test", WRONG)

    assert response.status_code == 200
    event = AuditEvent.objects.get(event_code=EventCode.LOGIN_FAILED)
    assert (event.outcome, event.target_type, event.target_id) == (Outcome.FAILED, "", "")
    assert event.actor is None
    assert event.organization is None
    assert event.data == {"reason": "unknown_account"}
    assert event.request_id == response["X-Request-ID"]
    assert not User.objects.filter(email="nobody@example.test").exists()


def test_unknown_and_known_addresses_get_the_same_answer(owner):
    # when one attempt names an unknown address and another a real one with a wrong password
    unknown = attempt(HttpClient(), "nobody@example.test", WRONG)
    known = attempt(HttpClient(), owner.user.email, WRONG)

    # then nothing in the answer tells them apart
    assert unknown.status_code == known.status_code == 200
    assert refusal_of(unknown) == refusal_of(known) == [REFUSAL]
    assert [t.name for t in unknown.templates] == [t.name for t in known.templates]
    assert unknown.content.count(b"not correct") == known.content.count(b"not correct")


def test_unknown_address_never_locks_anything(db):
    fail_times(HttpClient(), "nobody@example.test", 6)

    assert AuditEvent.objects.filter(event_code=EventCode.LOGIN_FAILED).count() == 6
    assert not AuditEvent.objects.filter(event_code=EventCode.LOGIN_LOCKED).exists()
