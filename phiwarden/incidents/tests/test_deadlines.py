"""Breach deadlines: BA windows (calendar and business days), the HHS annual log across
year ends and leap years, media thresholds, and law-enforcement delays (164.404-164.412)."""

from __future__ import annotations

import datetime as dt

import pytest

from phiwarden.core.clock import DayKind, NoticeWindow
from phiwarden.incidents.deadlines import (
    DelayKind,
    LawEnforcementDelay,
    client_notice_deadline,
    covered_entity_deadlines,
    hhs_deadline,
    states_needing_media_notice,
)

D = dt.date


def test_without_a_baa_window_the_client_is_told_within_60_calendar_days():
    assert client_notice_deadline(D(2026, 3, 1)).due_on == D(2026, 4, 30)


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (NoticeWindow(5, DayKind.CALENDAR), D(2026, 12, 28)),
        # 23 Dec 2026 (Wed) + 5 business days skips 25 Dec (Fri) and the weekend, and
        # 1 Jan 2027 (Fri): 24, 28, 29, 30, 31 December.
        (NoticeWindow(5, DayKind.BUSINESS), D(2026, 12, 31)),
        (NoticeWindow(90, DayKind.CALENDAR), D(2027, 2, 21)),  # never past the 60 days
    ],
)
def test_a_baa_window_shortens_but_never_lengthens_the_limit(window, expected):
    assert client_notice_deadline(D(2026, 12, 23), window).due_on == expected


@pytest.mark.parametrize(
    ("discovered", "individuals", "expected"),
    [
        (D(2026, 6, 15), 499, D(2027, 3, 1)),  # fewer than 500: after the year ends
        (D(2019, 11, 2), 12, D(2020, 2, 29)),  # 2020 is a leap year (HHS's own 2019 date)
        (D(2027, 1, 1), 1, D(2028, 2, 29)),
        (D(2026, 6, 15), 500, D(2026, 8, 14)),  # 500 or more: 60 days from discovery
        (D(2026, 12, 15), 10_000, D(2027, 2, 13)),
    ],
)
def test_hhs_deadline_depends_on_the_count(discovered, individuals, expected):
    assert hhs_deadline(discovered, individuals) == expected


def test_media_notice_is_for_states_with_more_than_500_residents():
    assert states_needing_media_notice({"TX": 501, "OK": 500, "NM": 12, "": 900}) == ["TX"]


def test_the_clients_deadlines_list_individuals_hhs_and_each_media_state():
    deadlines = covered_entity_deadlines(D(2026, 5, 4), 1_200, {"TX": 700, "AZ": 501, "NM": 1})

    by_key = {d.key: d for d in deadlines}
    assert set(by_key) == {"individuals", "hhs", "media:AZ", "media:TX"}
    assert by_key["individuals"].due_on == D(2026, 7, 3)
    assert by_key["hhs"].citation == "45 CFR 164.408(b)"
    assert by_key["media:TX"].due_on == D(2026, 7, 3)


def test_a_written_delay_moves_deadlines_inside_it_to_its_end():
    delay = LawEnforcementDelay(DelayKind.WRITTEN, D(2026, 3, 10), written_until=D(2026, 6, 1))

    moved = client_notice_deadline(D(2026, 3, 1), delay=delay)
    untouched = client_notice_deadline(D(2026, 3, 1), delay=LawEnforcementDelay(
        DelayKind.WRITTEN, D(2026, 3, 10), written_until=D(2026, 4, 1)))  # fmt: skip

    assert (moved.due_on, moved.delayed_from) == (D(2026, 6, 1), D(2026, 4, 30))
    assert "164.412" in moved.citation
    assert (untouched.due_on, untouched.delayed_from) == (D(2026, 4, 30), None)


def test_an_oral_delay_lasts_30_days_unless_a_written_one_follows_in_time():
    oral = LawEnforcementDelay(DelayKind.ORAL, D(2026, 4, 20))
    followed = LawEnforcementDelay(
        DelayKind.ORAL, D(2026, 4, 20), written_received_on=D(2026, 5, 15),
        written_until=D(2026, 7, 31),
    )  # fmt: skip
    too_late = LawEnforcementDelay(
        DelayKind.ORAL, D(2026, 4, 20), written_received_on=D(2026, 5, 25),
        written_until=D(2026, 7, 31),
    )  # fmt: skip

    assert oral.ends_on() == D(2026, 5, 20)
    assert followed.ends_on() == D(2026, 7, 31)
    assert too_late.ends_on() == D(2026, 5, 20)
    assert client_notice_deadline(D(2026, 3, 1), delay=oral).due_on == D(2026, 5, 20)


def test_a_written_delay_must_say_how_long():
    with pytest.raises(ValueError, match="specifies the period"):
        LawEnforcementDelay(DelayKind.WRITTEN, D(2026, 3, 10))
