"""Plain-words descriptions of the most common 835 codes, for screens and statements.

LABEL: these are short paraphrases written for PHI Warden, NOT the official wording. The
authoritative Claim Adjustment Reason Codes (CARC), Remittance Advice Remark Codes (RARC)
and Claim Adjustment Group Codes are maintained and published by X12
(https://x12.org/codes); look a code up there when the exact text matters, for example in
an appeal. Codes missing from these tables are shown as the bare code.
"""

from __future__ import annotations

from typing import Final

PARAPHRASE_NOTICE: Final = (
    "Paraphrased by PHI Warden; the official code lists are published by X12."
)

GROUP_CODES: Final[dict[str, str]] = {
    "CO": "Contractual obligation: the provider writes this off; do not bill the patient",
    "PR": "Patient responsibility: the patient may be billed for this amount",
    "OA": "Other adjustment: neither the provider's contract nor the patient's share",
    "PI": "Payer-initiated reduction the payer does not consider the patient's to pay",
    "CR": "Correction or reversal of an earlier payment",
}

CARC: Final[dict[str, str]] = {
    "1": "Deductible amount",
    "2": "Coinsurance amount",
    "3": "Co-payment amount",
    "4": "Modifier is inconsistent with the procedure code, or a required modifier is missing",
    "5": "Procedure code or bill type is inconsistent with the place of service",
    "6": "Procedure or revenue code is inconsistent with the patient's age",
    "11": "Diagnosis is inconsistent with the procedure",
    "16": "Claim or service lacks information or has billing errors needed to adjudicate it",
    "18": "Exact duplicate claim or service",
    "22": "Another payer may cover this care (coordination of benefits)",
    "23": "Adjusted for what a prior payer paid or adjusted",
    "24": "Covered by a capitation agreement or managed care plan",
    "26": "Expenses incurred before coverage began",
    "27": "Expenses incurred after coverage ended",
    "29": "The time limit for filing has expired",
    "31": "The payer cannot identify the patient as its insured",
    "45": "Charge exceeds the fee schedule, maximum allowable or contracted amount",
    "50": "Not covered: the payer does not consider it medically necessary",
    "59": "Reduced under multiple or concurrent procedure rules",
    "96": "Non-covered charge",
    "97": "Included in the payment for another service or procedure already adjudicated",
    "109": "Not covered by this payer; send the claim to the correct payer",
    "119": "Benefit maximum for this period or occurrence has been reached",
    "131": "Claim-specific negotiated discount",
    "167": "The diagnosis is not covered",
    "170": "Payment denied when performed or billed by this type of provider",
    "197": "Precertification, authorization or notification was absent",
    "198": "Precertification, notification or authorization was exceeded",
    "204": "Service, equipment or drug is not covered under the patient's current plan",
    "226": "Information the payer requested was not provided or was insufficient",
    "234": "This procedure is not paid separately",
    "242": "Services not provided by network or primary care providers",
    "252": "An attachment or other documentation is required to adjudicate the claim",
    "253": "Sequestration: reduction of federal payment",
}

RARC: Final[dict[str, str]] = {
    "M15": "Separately billed services or tests were bundled as parts of one procedure",
    "M51": "Missing, incomplete or invalid procedure code",
    "M76": "Missing, incomplete or invalid diagnosis or condition",
    "M80": "Not covered when performed during the same session as another service",
    "M86": "Denied: payment was already made for the same or a similar service in this period",
    "M127": "Missing patient medical record for this service",
    "MA01": "Explains how to request a review or appeal of this decision",
    "MA04": "Secondary payment needs the primary payer's payment information",
    "MA18": "Claim information is also being forwarded to the patient's supplemental insurer",
    "MA63": "Missing, incomplete or invalid principal diagnosis",
    "MA130": "Claim is unprocessable (incomplete or invalid information); submit a new claim",
    "N4": "Missing or incomplete prior insurance carrier explanation of benefits",
    "N19": "Procedure code is incidental to the primary procedure",
    "N20": "Not paid separately when billed with another service on the same date",
    "N56": "Procedure code is not correct or valid for the service or date billed",
    "N115": "Decision based on a Local Coverage Determination (LCD)",
    "N130": "Check the plan's benefit documents for restrictions on this service",
    "N179": "Additional information was requested from the member",
    "N211": "This service cannot be appealed",
    "N286": "Missing, incomplete or invalid referring provider identifier",
    "N290": "Missing, incomplete or invalid rendering provider identifier",
    "N382": "Missing, incomplete or invalid patient identifier",
    "N425": "Statutorily excluded service",
    "N432": "Adjusted based on a recovery audit",
    "N522": "Duplicate of a claim processed, or being processed, as a crossover claim",
    "N640": "Exceeds the frequency limit for this service",
    "N657": "This should be billed with the appropriate code for these services",
}

CLAIM_STATUS: Final[dict[str, str]] = {
    "1": "Processed as primary",
    "2": "Processed as secondary",
    "3": "Processed as tertiary",
    "4": "Denied",
    "19": "Processed as primary, forwarded to additional payer(s)",
    "20": "Processed as secondary, forwarded to additional payer(s)",
    "21": "Processed as tertiary, forwarded to additional payer(s)",
    "22": "Reversal of a previous payment",
    "23": "Not our claim, forwarded to additional payer(s)",
    "25": "Predetermination pricing only, no payment",
}


def describe_carc(code: str) -> str:
    """Plain words for a claim adjustment reason code, or the bare code when unknown."""
    return CARC.get(code, f"Adjustment reason {code}")


def describe_rarc(code: str) -> str:
    """Plain words for a remittance advice remark code, or the bare code when unknown."""
    return RARC.get(code, f"Remark {code}")


def describe_group(code: str) -> str:
    return GROUP_CODES.get(code, f"Group {code}")


def describe_claim_status(code: str) -> str:
    return CLAIM_STATUS.get(code, f"Status {code}")
