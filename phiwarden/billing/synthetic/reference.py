"""Code numbers and fictional organisations the synthetic generator draws from.

CPT and HCPCS appear as code NUMBERS only: CPT descriptions are copyrighted by the American
Medical Association and are not included anywhere in PHI Warden. Revenue codes (NUBC) and
place-of-service codes (CMS) are likewise numbers only. Payer and practice names are made up.
"""

from __future__ import annotations

from typing import Final

# Restricted three-digit ZIP codes (population 20,000 or fewer): 45 CFR 164.514(b)(2)(i)(B)
# as listed in /shared/reference/safe-harbor.json, with the state each prefix belongs to,
# so synthetic addresses stay plausible. A test checks this list against the JSON.
RESTRICTED_ZIP3: Final[dict[str, str]] = {
    "036": "NH",
    "059": "VT",
    "063": "CT",
    "102": "NY",
    "203": "DC",
    "556": "MN",
    "692": "NE",
    "790": "TX",
    "821": "WY",
    "823": "WY",
    "830": "WY",
    "831": "WY",
    "878": "NM",
    "879": "NM",
    "884": "NM",
    "890": "NV",
    "893": "NV",
}

# specialty: (taxonomy, [CPT/HCPCS code numbers], [modifiers that fit])
PROFESSIONAL_SPECIALTIES: Final[dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]] = {
    "family medicine": (
        "207Q00000X",
        (
            "99202", "99203", "99204", "99212", "99213", "99214", "99215", "99395",
            "99396", "90471", "90686", "36415", "81002", "87880", "93000", "G0438", "G0439",
        ),
        ("25", "59"),
    ),
    "orthopedics": (
        "207X00000X",
        ("99203", "99204", "99213", "99214", "20610", "73030", "73560", "73610", "29125",
         "97110", "97140", "L3908"),
        ("LT", "RT", "25", "59"),
    ),
    "cardiology": (
        "207RC0000X",
        ("99204", "99205", "99214", "99215", "93000", "93306", "93015", "93880", "93224"),
        ("26", "TC"),
    ),
    "behavioral health": (
        "103T00000X",
        ("90791", "90832", "90834", "90837", "90846", "90847", "96127"),
        ("95", "HO"),
    ),
}  # fmt: skip

PLACES_OF_SERVICE: Final = ("11", "11", "11", "11", "22", "02", "10", "12")

# revenue code -> HCPCS code numbers billed with it ("" = revenue code alone)
OUTPATIENT_REVENUE: Final[dict[str, tuple[str, ...]]] = {
    "0450": ("99283", "99284", "99285"),
    "0300": ("80053", "85025", "80048", "84443"),
    "0305": ("85025", "85610"),
    "0320": ("71046", "73030", "73610"),
    "0350": ("74177", "70450"),
    "0730": ("93005",),
    "0636": ("J1885", "J2405", "J7050"),
    "0260": ("96374", "96361"),
    "0250": ("",),
}
INPATIENT_REVENUE: Final[dict[str, tuple[str, ...]]] = {
    "0120": ("",),  # room and board, units are days
    "0250": ("",),
    "0300": ("80053", "85025"),
    "0320": ("71046",),
    "0710": ("",),
}
HOSPITAL_TAXONOMY: Final = "282N00000X"
ATTENDING_TAXONOMIES: Final = ("208M00000X", "207P00000X", "207R00000X")

# Common ICD-10-CM categories for realism; codes are drawn from simple_icd_10_cm's billable
# (leaf) codes under them, and some from anywhere in the code set.
COMMON_ICD_CATEGORIES: Final = (
    "E11", "I10", "J06", "M54", "Z00", "R05", "K21", "F41", "E78", "N39", "J45", "M25",
    "R10", "Z23", "F32", "M17", "I25", "E66", "J20", "R51", "S93", "L03", "H66", "G43",
)  # fmt: skip

# (name, payer id, claim filing indicator SBR09/CLP06, member id prefix)
PAYERS: Final = (
    ("NORTHWIND HEALTH PLAN", "SX101", "CI", "NWH"),
    ("CONTOSO MEDICAID PLAN", "SX202", "MC", "CMD"),
    ("FABRIKAM MEDICARE PART B", "SX303", "MB", "1EG"),
    ("TAILSPIN HMO", "SX404", "HM", "TSH"),
    ("WOODGROVE BLUE PLAN", "SX505", "BL", "WGB"),
    ("LITWARE COMMERCIAL INSURANCE", "SX606", "CI", "LWC"),
)

PRACTICE_WORDS: Final = (
    "Riverbend", "Cedar Hill", "Lakeside", "Maple Grove", "Summit", "Harbor View",
    "Prairie", "Willow Creek", "Stonebridge", "Meadowbrook", "Pinecrest", "Brookside",
)  # fmt: skip

# Denial scenarios: (CARC, RARC or "", group code)
DENIALS: Final = (
    ("16", "MA130", "CO"),
    ("16", "N290", "CO"),
    ("197", "N130", "CO"),
    ("27", "", "PR"),
    ("29", "", "CO"),
    ("50", "N115", "CO"),
    ("18", "M86", "CO"),
    ("109", "", "CO"),
    ("204", "N130", "PR"),
    ("22", "MA04", "OA"),
)
LINE_DENIALS: Final = (
    ("97", "M15", "CO"),
    ("4", "N657", "CO"),
    ("119", "N640", "PR"),
    ("96", "N425", "CO"),
    ("242", "N130", "PR"),
)
