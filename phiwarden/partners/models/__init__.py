"""Clients' compliance profiles, vendors and their due diligence, BAAs, and the PHI flow map."""

from phiwarden.partners.models.baas import Baa, BaaDocument
from phiwarden.partners.models.flows import ApprovedChannel, Flow, FlowMapReview
from phiwarden.partners.models.parties import (
    Attestation,
    ClientProfile,
    DiligenceReview,
    Vendor,
)
from phiwarden.partners.models.vocabulary import Channel, PhiClass, Stage

__all__ = [
    "ApprovedChannel",
    "Attestation",
    "Baa",
    "BaaDocument",
    "Channel",
    "ClientProfile",
    "DiligenceReview",
    "Flow",
    "FlowMapReview",
    "PhiClass",
    "Stage",
    "Vendor",
]
