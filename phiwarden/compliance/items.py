# ruff: noqa: E501  (the items are quoted verbatim from the reference checklist)
"""The 35 items of the billing-specialist HIPAA checklist (`shared/reference/checklist.md`).

Ids are stable; evidence functions live in `compliance/evidence/` and register by id.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    area: str
    title: str
    measures: str


AREAS: dict[str, str] = {
    "P": "Program foundations (Privacy, Security and Breach Notification Rules)",
    "D": "Roles and duties",
    "K": "Key compliance requirements",
    "T": "Training",
    "A": "Managing data access and usage",
    "B": "Handling breaches",
    "R": "Documentation and compliance audits",
}

ITEMS: tuple[ChecklistItem, ...] = (
    ChecklistItem(
        id="P1",
        area="P",
        title="PHI flows mapped across the billing lifecycle: intake, coding, claims, clearinghouse, remits, patient statements",
        measures="every stage has at least one flow; each flow names systems, parties, channel and PHI classes; reviewed within the last 12 months",
    ),
    ChecklistItem(
        id="P2",
        area="P",
        title="Signed BAAs with every covered-entity client and every downstream vendor that handles PHI",
        measures="share of active clients and PHI vendors with a signed, unexpired BAA; flows that end at a party without one",
    ),
    ChecklistItem(
        id="P3",
        area="P",
        title="Written policies for the Privacy, Security and Breach Notification Rules",
        measures="each required policy exists, is approved, effective and reviewed within 12 months",
    ),
    ChecklistItem(
        id="P4",
        area="P",
        title="Minimum necessary applied to payment and operations uses and disclosures",
        measures="every PHI read and disclosure went through a projection; share of disclosures with a recorded field set",
    ),
    ChecklistItem(
        id="P5",
        area="P",
        title="Documented organization-wide risk analysis and risk management plan for ePHI",
        measures="a completed analysis within 12 months covering every ePHI asset; every high risk has a treatment with owner and date",
    ),
    ChecklistItem(
        id="D1",
        area="D",
        title="PHI used only for payment and operations; written authorization for anything else",
        measures="every PHI access carries a purpose; non-TPO disclosures each link a valid authorization",
    ),
    ChecklistItem(
        id="D2",
        area="D",
        title="Identity and authority verified before PHI is released",
        measures="every release records the verification method and who verified",
    ),
    ChecklistItem(
        id="D3",
        area="D",
        title="Screen and file access limited to the role; no PHI on personal devices",
        measures="capabilities by role; export attempts blocked by policy; devices used for PHI are registered and company-managed",
    ),
    ChecklistItem(
        id="D4",
        area="D",
        title="Disclosures that must be accounted for are logged; an audit trail of system activity is kept",
        measures="disclosure log complete for accountable disclosures; audit trail continuous and verified",
    ),
    ChecklistItem(
        id="D5",
        area="D",
        title="Patient rights requests (access, amendment, restriction) escalated per policy",
        measures="every request logged, routed to the covered entity or officer, answered within its legal clock",
    ),
    ChecklistItem(
        id="K1",
        area="K",
        title="Minimum necessary in all billing workflows; de-identified data where identity is not needed",
        measures="projections per workflow; data sets leaving for analytics are de-identified (Safe Harbor) or limited data sets under a data use agreement",
    ),
    ChecklistItem(
        id="K2",
        area="K",
        title="Access controls and MFA on billing, EHR and clearinghouse systems",
        measures="share of members with MFA; external systems in the inventory with MFA attested",
    ),
    ChecklistItem(
        id="K3",
        area="K",
        title="Audit trail reports reviewed for anomalous access and data exports",
        measures="reviews done on schedule with reviewer sign-off; anomalies triaged",
    ),
    ChecklistItem(
        id="K4",
        area="K",
        title="Risk analysis completed and updated; findings tracked and remediated",
        measures="open findings past their due date; analysis age",
    ),
    ChecklistItem(
        id="K5",
        area="K",
        title="BAAs maintained; vendor safeguards verified before PHI is shared",
        measures="vendor due-diligence done before the first flow; attestations not expired",
    ),
    ChecklistItem(
        id="T1",
        area="T",
        title="Role-based training at hire and at least yearly; completion and comprehension tracked",
        measures="share of members current; scores; overdue members (and their PHI access suspended if the organization chooses)",
    ),
    ChecklistItem(
        id="T2",
        area="T",
        title="Training covers what PHI is, authorization and consent, data minimization",
        measures="required topics present in each role's curriculum",
    ),
    ChecklistItem(
        id="T3",
        area="T",
        title="Incident spotting and reporting drilled; breach notification basics taught",
        measures="drills held and recorded this year; participation",
    ),
    ChecklistItem(
        id="T4",
        area="T",
        title="Secure remote work, password hygiene and phishing defense covered",
        measures="topics present; phishing-drill results",
    ),
    ChecklistItem(
        id="T5",
        area="T",
        title="Curricula updated after system or policy changes; records kept",
        measures="course versions follow policy and system changes; records retained",
    ),
    ChecklistItem(
        id="A1",
        area="A",
        title="Quarterly access reviews; access removed or adjusted promptly on role change",
        measures="reviews completed each quarter from real grants; time from role change or exit to access change",
    ),
    ChecklistItem(
        id="A2",
        area="A",
        title="MFA, session timeouts and device encryption on every endpoint with ePHI",
        measures="MFA share; timeout settings; devices attested encrypted within the attestation period",
    ),
    ChecklistItem(
        id="A3",
        area="A",
        title="PHI transmitted only over approved secure channels",
        measures="every flow and disclosure uses a channel on the approved list",
    ),
    ChecklistItem(
        id="A4",
        area="A",
        title="Audit logs of access, edits, downloads and disclosures retained and reviewed",
        measures="retention ≥ 6 years configured; log verified intact; reviews on schedule",
    ),
    ChecklistItem(
        id="A5",
        area="A",
        title="Secure printing, mailing and shredding of paper PHI",
        measures="procedures in policy; print and mail events logged; destruction certificates on file",
    ),
    ChecklistItem(
        id="B1",
        area="B",
        title="Exposure stopped, systems secured, audit trail and evidence preserved",
        measures="containment steps recorded with times; evidence snapshot sealed",
    ),
    ChecklistItem(
        id="B2",
        area="B",
        title="Privacy or security officer notified promptly; vendor incidents escalated under BAA terms",
        measures="time from discovery to officer notice; vendor incidents linked to their BAA",
    ),
    ChecklistItem(
        id="B3",
        area="B",
        title="Breach risk assessment (four factors) documented; mitigation recorded",
        measures="every incident has a signed assessment before its deadline",
    ),
    ChecklistItem(
        id="B4",
        area="B",
        title="Notifications to covered entities, individuals, regulators and media coordinated on time",
        measures="each required notice sent before its computed deadline",
    ),
    ChecklistItem(
        id="B5",
        area="B",
        title="Root causes remediated and outcomes recorded",
        measures="corrective actions closed and verified",
    ),
    ChecklistItem(
        id="R1",
        area="R",
        title="Policies, BAAs, risk analysis and training records kept current in one repository",
        measures="all present, current, retrievable",
    ),
    ChecklistItem(
        id="R2",
        area="R",
        title="Periodic privacy and security audits with findings and corrective actions",
        measures="audits held on schedule; findings with corrective actions tracked to closure",
    ),
    ChecklistItem(
        id="R3",
        area="R",
        title="Audit trail and access rights reviewed on a defined schedule",
        measures="schedule defined; reviews on time",
    ),
    ChecklistItem(
        id="R4",
        area="R",
        title="Disclosure logs and incident reports complete, consistent and retrievable",
        measures="accounting of disclosures can be produced for any patient; incident records complete",
    ),
    ChecklistItem(
        id="R5",
        area="R",
        title="Records retained for the required period (six years); backup integrity validated",
        measures="retention rules applied; last backup restore test passed with counts and hashes",
    ),
)

ITEMS_BY_ID: dict[str, ChecklistItem] = {item.id: item for item in ITEMS}
