"""The SVG flow map: its structure, parsed as XML."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from phiwarden.partners import services
from phiwarden.partners.checks import flows_checked
from phiwarden.partners.flowmap import COLOURS, flow_map_svg
from phiwarden.partners.models import Stage
from phiwarden.partners.tests.factories import approved_vendor, make_vendor, map_flow, sign_baa

pytestmark = pytest.mark.django_db
NS = {"svg": "http://www.w3.org/2000/svg"}
TODAY = dt.date(2025, 3, 3)


def one(element: ET.Element, path: str) -> ET.Element:
    found = element.find(path, NS)
    assert found is not None, path
    return found


def text(element: ET.Element, path: str) -> str:
    return one(element, path).text or ""


def attribute(element: ET.Element, path: str, name: str) -> str:
    return one(element, path).get(name) or ""


def render(organization) -> ET.Element:
    svg = flow_map_svg(flows_checked(organization, TODAY), organization_name=organization.name)
    return ET.fromstring(svg)  # noqa: S314  (our own output, not untrusted input)


@pytest.fixture
def mapped(officer, clients):
    services.channels_set(actor=officer, channels=["sftp"])
    clearing = approved_vendor(officer, "Synthetic Clearinghouse")
    sign_baa(officer, vendor=clearing)
    printer = make_vendor(officer, "Synthetic <Print> & Mail")
    sign_baa(officer, client=clients[0])
    ok = map_flow(officer, destination_vendor=clearing)
    flagged = map_flow(
        officer, stage="statements", name="Statements", destination_vendor=printer, channel="mail"
    )
    suggested = services.flow_observed(officer.organization, clients[0], "sftp", "intake")
    return ok, flagged, suggested


def test_svg_has_a_title_a_description_and_a_lane_per_stage(officer, mapped):
    root = render(officer.organization)

    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "flow-map-title flow-map-desc"
    assert text(root, "svg:title") == "PHI flow map of Synthetic Billing"
    description = text(root, "svg:desc")
    assert description.startswith("3 flows across 9 lifecycle stages; 1 flagged.")
    assert (
        "Stages with no flow: Coding, Clearinghouse, Remittances, Storage, Backup, Disposal."
        in description
    )
    lanes = root.findall("svg:g[@class='lane']", NS)
    assert [lane.get("data-stage") for lane in lanes] == [s.value for s in Stage]
    labels = [text(lane, "svg:text[@class='lane-label']") for lane in lanes]
    assert labels == [s.label for s in Stage]


def test_nodes_are_parties_and_systems_with_text_labels(officer, clients, mapped):
    root = render(officer.organization)
    nodes = root.findall(".//svg:g[@class='node']", NS)
    by_lane = {
        lane.get("data-stage"): [
            n.get("data-party") for n in lane.findall("svg:g[@class='node']", NS)
        ]
        for lane in root.findall("svg:g[@class='lane']", NS)
    }
    ok, flagged, _ = mapped
    assert by_lane["claims"] == ["system:Billing system", f"vendor:{ok.destination_vendor_id}"]
    assert by_lane["intake"] == [f"client:{clients[0].pk}", "system:PHI Warden billing"]
    assert by_lane["coding"] == []
    texts = [text(n, "svg:text") for n in nodes]
    assert "⚠ Synthetic <Print> & Mail" in texts  # escaped in XML, intact once parsed
    printer = one(root, f".//svg:g[@data-party='vendor:{flagged.destination_vendor_id}']")
    assert attribute(printer, "svg:rect", "stroke") == COLOURS["gap"]
    assert "gaps: Channel" not in text(printer, "svg:title")
    assert "No current BAA" in text(printer, "svg:title")


def test_flows_carry_their_flags_in_colour_and_words(officer, mapped):
    root = render(officer.organization)
    ok, flagged, suggested = mapped
    arrows = {g.get("data-flow"): g for g in root.findall(".//svg:g[@class='flow']", NS)}

    assert set(arrows) == {str(ok.pk), str(flagged.pk), str(suggested.pk)}
    assert arrows[str(ok.pk)].get("data-flags") == ""
    assert attribute(arrows[str(ok.pk)], "svg:line", "stroke") == COLOURS["ok"]
    assert (arrows[str(flagged.pk)].get("data-flags") or "").split() == [
        "unapproved_channel",
        "no_current_baa",
        "diligence_not_done",
        "vendor_not_approved",
    ]
    line = one(arrows[str(flagged.pk)], "svg:line")
    assert (line.get("stroke"), line.get("stroke-dasharray")) == (COLOURS["gap"], "6 4")
    assert text(arrows[str(flagged.pk)], "svg:text") == "Mail (paper) ⚠ 4"
    title = text(arrows[str(flagged.pk)], "svg:title")
    assert "gaps: Mail (paper) is not approved; Synthetic <Print> & Mail: no current BAA" in title
    assert arrows[str(suggested.pk)].get("data-status") == "suggested"
    assert attribute(arrows[str(suggested.pk)], "svg:line", "stroke") == COLOURS["suggested"]


def test_an_empty_map_says_so_in_every_lane(organization):
    root = render(organization)
    lanes = root.findall("svg:g[@class='lane']", NS)
    assert len(lanes) == len(Stage)
    assert all(lane.findall("svg:text", NS)[1].text == "No flow mapped" for lane in lanes)
    assert one(root, ".//svg:g[@class='legend']") is not None


def test_svg_has_no_script_and_no_style_attributes(officer, mapped):
    svg = flow_map_svg(flows_checked(officer.organization, TODAY), organization_name="X")
    assert "<script" not in svg
    assert " style=" not in svg
    assert "<style" not in svg
