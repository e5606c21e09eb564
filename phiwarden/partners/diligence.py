"""The vendor due-diligence questionnaire and its score (45 CFR 164.308(b)(1), 164.314(a)).

Each question asks for one safeguard the vendor must have before PHI reaches it; answers
are "yes", "partial" or "no", weighted. The score guides the reviewer, whose decision is
what approves the vendor; a "no" on a required safeguard blocks approval outright.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Answer(StrEnum):
    YES = "yes"
    PARTIAL = "partial"
    NO = "no"

    @property
    def label(self) -> str:
        return {Answer.YES: "Yes", Answer.PARTIAL: "Partly", Answer.NO: "No"}[self]


@dataclass(frozen=True)
class Question:
    code: str
    text: str
    weight: int
    citation: str
    required: bool = False


QUESTIONS: tuple[Question, ...] = (
    Question(
        "mfa",
        "Multi-factor authentication on every system holding our PHI",
        15,
        "45 CFR 164.312(d)",
        required=True,
    ),
    Question(
        "encryption_at_rest", "PHI encrypted at rest", 15, "45 CFR 164.312(a)(2)(iv)", required=True
    ),
    Question(
        "encryption_in_transit",
        "PHI encrypted in transit (TLS 1.2 or later)",
        15,
        "45 CFR 164.312(e)(2)(ii)",
        required=True,
    ),
    Question(
        "training",
        "Workforce HIPAA and security training at least yearly",
        10,
        "45 CFR 164.308(a)(5)",
    ),
    Question(
        "incident_response",
        "Written incident response with notice to us under the BAA",
        15,
        "45 CFR 164.308(a)(6), 164.410",
        required=True,
    ),
    Question(
        "subcontractor_baas",
        "BAAs with its own subcontractors that touch our PHI",
        10,
        "45 CFR 164.502(e)(1)(ii), 164.504(e)(2)(ii)(D)",
    ),
    Question("backups", "Tested backups and a contingency plan", 10, "45 CFR 164.308(a)(7)"),
    Question(
        "risk_analysis", "A current risk analysis of its own", 10, "45 CFR 164.308(a)(1)(ii)(A)"
    ),
)

QUESTION_CODES = tuple(q.code for q in QUESTIONS)
# Below this score a favourable decision is still allowed, but only "with conditions".
PASSING_SCORE = 70

_CREDIT = {Answer.YES: 1.0, Answer.PARTIAL: 0.5, Answer.NO: 0.0}


def score(answers: dict[str, str]) -> int:
    """Weighted share of safeguards in place, 0-100. Unanswered counts as "no"."""
    total = sum(q.weight for q in QUESTIONS)
    earned = sum(q.weight * _CREDIT[Answer(answers.get(q.code, Answer.NO))] for q in QUESTIONS)
    return round(100 * earned / total)


def missing_required(answers: dict[str, str]) -> list[Question]:
    """Required safeguards answered "no" (or not at all)."""
    return [q for q in QUESTIONS if q.required and answers.get(q.code, Answer.NO) == Answer.NO]


def validate_answers(answers: dict[str, str]) -> dict[str, str]:
    """Exactly the questionnaire's codes, each with a known answer."""
    unknown = set(answers) - set(QUESTION_CODES)
    if unknown:
        raise ValueError(f"unknown questions: {', '.join(sorted(unknown))}")
    clean = {}
    for code in QUESTION_CODES:
        if code not in answers:
            raise ValueError(f"question {code!r} is not answered")
        clean[code] = Answer(answers[code]).value
    return clean
