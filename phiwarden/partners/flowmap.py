"""The PHI flow map drawn as SVG, on the server, with no script (strict CSP).

Lanes are lifecycle stages, top to bottom. In each lane the flows' sources stand on the
left and their destinations on the right, one node per party or internal system; an arrow
per flow carries its channel as a text label. Gaps are drawn in colour *and* said in words
(each flow's and node's <title>, the flag text beside flagged arrows, the legend), so the
map does not rely on colour alone; the page also lists the same flows as a table.
Colours are SVG presentation attributes, not style attributes, which CSP would block.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from phiwarden.partners.checks import CheckedFlow
from phiwarden.partners.models import Flow, Stage
from phiwarden.partners.models.vocabulary import PhiClass, labels_of

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 1000
LABEL_WIDTH = 150
NODE_WIDTH = 250
NODE_HEIGHT = 38
ROW = 50
LANE_PADDING = 14
SOURCE_X = LABEL_WIDTH + 20
DESTINATION_X = WIDTH - NODE_WIDTH - 20

COLOURS = {
    "lane_even": "#f6f8fa",
    "lane_odd": "#ffffff",
    "lane_line": "#d0d7de",
    "text": "#1f2328",
    "muted": "#57606a",
    "internal": "#e9ecef",
    "client": "#dbeafe",
    "vendor": "#ede9fe",
    "node_line": "#57606a",
    "gap": "#b02a37",
    "ok": "#1a7f37",
    "suggested": "#9a6700",
}


@dataclass(frozen=True)
class Endpoint:
    key: str  # "client:3", "vendor:5" or "system:<name>"
    label: str
    kind: str  # "client", "vendor" or "internal"


def _endpoints(flow: Flow) -> tuple[Endpoint, Endpoint]:
    def end(prefix: str) -> Endpoint:
        client = getattr(flow, f"{prefix}_client")
        vendor = getattr(flow, f"{prefix}_vendor")
        if client is not None:
            return Endpoint(f"client:{client.pk}", client.name, "client")
        if vendor is not None:
            return Endpoint(f"vendor:{vendor.pk}", vendor.name, "vendor")
        system = getattr(flow, f"{prefix}_system")
        return Endpoint(f"system:{system}", system, "internal")

    return end("source"), end("destination")


def _sub(
    parent: ET.Element, tag: str, text: str | None = None, /, **attributes: object
) -> ET.Element:
    element = ET.SubElement(
        parent, tag, {k.rstrip("_").replace("_", "-"): str(v) for k, v in attributes.items()}
    )
    if text is not None:
        element.text = text
    return element


def _clip(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _party_gaps(endpoint: Endpoint, flows: list[CheckedFlow]) -> list[str]:
    """The gap labels of flows that touch this node (a node is flagged if any flow is)."""
    return sorted({f.kind.label for c in flows for f in c.flags if f.party == endpoint.key})


def _node(parent: ET.Element, endpoint: Endpoint, x: int, y: int, gaps: list[str]) -> None:
    group = _sub(parent, "g", class_="node", data_party=endpoint.key, data_kind=endpoint.kind)
    kind_label = {"client": "Client", "vendor": "Vendor", "internal": "Internal system"}
    summary = f"{kind_label[endpoint.kind]}: {endpoint.label}"
    _sub(group, "title", summary + (f" — gaps: {', '.join(gaps)}" if gaps else ""))
    _sub(
        group,
        "rect",
        x=x,
        y=y,
        width=NODE_WIDTH,
        height=NODE_HEIGHT,
        rx=6,
        fill=COLOURS[endpoint.kind],
        stroke=COLOURS["gap"] if gaps else COLOURS["node_line"],
        stroke_width=3 if gaps else 1,
    )
    _sub(
        group,
        "text",
        ("⚠ " if gaps else "") + _clip(endpoint.label),
        x=x + 10,
        y=y + NODE_HEIGHT / 2 + 5,
        fill=COLOURS["text"],
        font_size=13,
        font_family="sans-serif",
    )


def _lane_height(sources: int, destinations: int) -> int:
    return max(sources, destinations, 1) * ROW + 2 * LANE_PADDING


def flow_map_svg(flows: list[CheckedFlow], *, organization_name: str) -> str:
    """The whole map as an SVG document string (inline in HTML, or in the PDF)."""
    by_stage: dict[str, list[CheckedFlow]] = {stage.value: [] for stage in Stage}
    for checked in flows:
        by_stage[checked.flow.stage].append(checked)
    lanes: list[tuple[Stage, list[CheckedFlow], list[Endpoint], list[Endpoint]]] = []
    for stage in Stage:
        sources: list[Endpoint] = []
        destinations: list[Endpoint] = []
        for checked in by_stage[stage.value]:
            source, destination = _endpoints(checked.flow)
            if source not in sources:
                sources.append(source)
            if destination not in destinations:
                destinations.append(destination)
        lanes.append((stage, by_stage[stage.value], sources, destinations))
    legend_height = 60
    height = sum(_lane_height(len(s), len(d)) for _, _, s, d in lanes) + legend_height
    flagged = sum(1 for c in flows if c.flags)
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"0 0 {WIDTH} {height}",
            "width": str(WIDTH),
            "height": str(height),
            "role": "img",
            "aria-labelledby": "flow-map-title flow-map-desc",
            "class": "flow-map",
        },
    )
    _sub(svg, "title", f"PHI flow map of {organization_name}", id="flow-map-title")
    empty = [stage.label for stage, lane_flows, _, _ in lanes if not lane_flows]
    description = (
        f"{len(flows)} flows across {len(Stage)} lifecycle stages; {flagged} flagged. "
        + (f"Stages with no flow: {', '.join(empty)}. " if empty else "")
        + "Each lane is a stage; arrows go from source to destination and name the channel."
    )
    _sub(svg, "desc", description, id="flow-map-desc")
    y = 0
    for index, (stage, lane_flows, sources, destinations) in enumerate(lanes):
        y = _lane(svg, index, stage, lane_flows, sources, destinations, y, flows)
    _legend(svg, y)
    return ET.tostring(svg, encoding="unicode", short_empty_elements=True)


def _lane(
    svg: ET.Element,
    index: int,
    stage: Stage,
    lane_flows: list[CheckedFlow],
    sources: list[Endpoint],
    destinations: list[Endpoint],
    top: int,
    all_flows: list[CheckedFlow],
) -> int:
    height = _lane_height(len(sources), len(destinations))
    lane = _sub(svg, "g", class_="lane", data_stage=stage.value)
    _sub(lane, "title", f"Stage: {stage.label} ({len(lane_flows)} flows)")
    _sub(
        lane,
        "rect",
        x=0,
        y=top,
        width=WIDTH,
        height=height,
        fill=COLOURS["lane_even" if index % 2 == 0 else "lane_odd"],
        stroke=COLOURS["lane_line"],
    )
    _sub(
        lane,
        "text",
        stage.label,
        x=12,
        y=top + LANE_PADDING + 20,
        fill=COLOURS["text"],
        font_size=14,
        font_weight="bold",
        font_family="sans-serif",
        class_="lane-label",
    )
    if not lane_flows:
        _sub(
            lane,
            "text",
            "No flow mapped",
            x=SOURCE_X,
            y=top + LANE_PADDING + 20,
            fill=COLOURS["muted"],
            font_size=13,
            font_style="italic",
            font_family="sans-serif",
        )
        return top + height
    position: dict[str, tuple[int, int]] = {}
    for column, ends, x in ((0, sources, SOURCE_X), (1, destinations, DESTINATION_X)):
        for row, endpoint in enumerate(ends):
            node_y = top + LANE_PADDING + row * ROW
            position[f"{column}:{endpoint.key}"] = (x, node_y)
            _node(lane, endpoint, x, node_y, _party_gaps(endpoint, all_flows))
    seen_pairs: dict[tuple[str, str], int] = {}
    for checked in lane_flows:
        source, destination = _endpoints(checked.flow)
        pair = (source.key, destination.key)
        offset = seen_pairs.get(pair, 0)
        seen_pairs[pair] = offset + 1
        _arrow(lane, checked, position[f"0:{source.key}"], position[f"1:{destination.key}"], offset)
    return top + height


def _arrow(
    lane: ET.Element,
    checked: CheckedFlow,
    start: tuple[int, int],
    end: tuple[int, int],
    offset: int,
) -> None:
    flow = checked.flow
    colour = (
        COLOURS["gap"]
        if checked.flags
        else COLOURS["suggested"]
        if flow.status == Flow.Status.SUGGESTED
        else COLOURS["ok"]
    )
    x1, y1 = start[0] + NODE_WIDTH, start[1] + NODE_HEIGHT / 2 + offset * 8
    x2, y2 = end[0], end[1] + NODE_HEIGHT / 2 + offset * 8
    group = _sub(
        lane,
        "g",
        class_="flow",
        data_flow=flow.pk,
        data_flags=" ".join(f.kind.value for f in checked.flags),
        data_status=flow.status,
    )
    classes = ", ".join(labels_of(PhiClass, list(flow.phi_classes))) or "PHI classes not given"
    words = f"{flow.name}: {flow.source_label} → {flow.destination_label} by "
    words += f"{flow.get_channel_display()}; {classes}"
    if flow.status == Flow.Status.SUGGESTED:
        words += "; suggested by an import, not confirmed"
    if checked.flags:
        words += "; gaps: " + "; ".join(f.detail for f in checked.flags)
    _sub(group, "title", words)
    dashed = {"stroke_dasharray": "6 4"} if checked.flags or flow.status == "suggested" else {}
    _sub(group, "line", x1=x1, y1=y1, x2=x2 - 10, y2=y2, stroke=colour, stroke_width=2, **dashed)
    _sub(
        group,
        "polygon",
        points=f"{x2},{y2} {x2 - 10},{y2 - 5} {x2 - 10},{y2 + 5}",
        fill=colour,
    )
    label = flow.get_channel_display() + (" ⚠ " + str(len(checked.flags)) if checked.flags else "")
    _sub(
        group,
        "text",
        label,
        x=(x1 + x2) / 2,
        y=(y1 + y2) / 2 - 6,
        fill=colour,
        font_size=12,
        text_anchor="middle",
        font_family="sans-serif",
        class_="flow-label",
    )


def _legend(svg: ET.Element, top: int) -> None:
    legend = _sub(svg, "g", class_="legend")
    _sub(legend, "title", "Legend")
    items = [
        (COLOURS["ok"], "Flow without gaps", ""),
        (COLOURS["gap"], "⚠ Flow or party with a gap (dashed)", "6 4"),
        (COLOURS["suggested"], "Suggested by an import (dashed)", "6 4"),
    ]
    x = 20
    for colour, text, dash in items:
        attributes: dict[str, object] = {"stroke": colour, "stroke_width": 2}
        if dash:
            attributes["stroke_dasharray"] = dash
        _sub(legend, "line", x1=x, y1=top + 30, x2=x + 40, y2=top + 30, **attributes)
        _sub(
            legend,
            "text",
            text,
            x=x + 50,
            y=top + 35,
            fill=COLOURS["text"],
            font_size=12,
            font_family="sans-serif",
        )
        x += 320
