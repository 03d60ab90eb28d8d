"""Writes a protocol diagram (BPMN 2.0 with spiff extensions) and its diagram interchange.

The committed `.bpmn` files under `workflows/<protocol>/` are the source of what Relais deploys;
this helper only spares hand-computing coordinates. A protocol is described in
`workflows/_tools/protocols.py` as pools (one per executable process), lanes (roles), nodes
placed on a grid (`col`, `row` inside the node's lane) and flows; `build()` turns it into XML
with a `BPMNShape` for every participant, lane, flow node and annotation and a `BPMNEdge` for
every sequence flow, message flow and association, laid out left to right:

- a lane is as tall as its rows; pools are stacked, all as wide as the widest;
- a flow leaving a gateway towards another row leaves by the gateway's top or bottom corner,
  a flow entering a gateway from another row enters by its top or bottom corner, other flows
  go right, turn in the gap before their target's column, then go right again;
- a flow going back (to a column on its left) runs in the channel just under its rows.

Regenerate after changing a description:

    .venv/bin/python workflows/_tools/protocols.py
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

TASK_W, TASK_H = 120, 80
EVENT_SIZE = 36
GATEWAY_SIZE = 50
COL_W = 170
ROW_H = 130
POOL_X = 60
POOL_HEADER = 30
LANE_HEADER = 30
CONTENT_PAD = 30
POOL_GAP = 60
RIGHT_PAD = 40

TASK_TAGS = {
    "user": "userTask",
    "manual": "manualTask",
    "service": "serviceTask",
    "script": "scriptTask",
}
EVENT_TAGS = {
    "start": "startEvent",
    "end": "endEvent",
    "timer": "intermediateCatchEvent",
    "message": "intermediateCatchEvent",
    "boundary_timer": "boundaryEvent",
}
GATEWAY_TAGS = {
    "xor": "exclusiveGateway",
    "and": "parallelGateway",
    "event": "eventBasedGateway",
}


@dataclass
class Node:
    """One flow node. `kind`: start, end, user, manual, service, script, timer (intermediate
    timer catch), message (intermediate message catch), boundary_timer, xor, and, event."""

    id: str
    kind: str
    name: str
    lane: str
    col: float
    row: int = 0
    form: str | None = None
    prefill: dict[str, str] = field(default_factory=dict)
    allowed: dict[str, str] = field(default_factory=dict)
    operator: str | None = None
    params: list[tuple[str, str, str]] = field(default_factory=list)  # (id, type, value)
    result: str | None = None
    script: str | None = None
    timer: tuple[str, str] | None = None  # ("timeDate" | "timeDuration", expression)
    message: str | None = None  # message id (intermediate catch)
    attached_to: str | None = None  # boundary events
    cancel: bool = True
    default: str | None = None  # default flow of a gateway
    doc: str | None = None

    @property
    def size(self) -> tuple[int, int]:
        if self.kind in TASK_TAGS:
            return TASK_W, TASK_H
        if self.kind in GATEWAY_TAGS:
            return GATEWAY_SIZE, GATEWAY_SIZE
        return EVENT_SIZE, EVENT_SIZE


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str | None = None
    condition: str | None = None
    channel: int = 0  # back flows: extra depth of the channel (several back flows apart)


@dataclass
class Note:
    """A text annotation placed above/below a node, linked to it."""

    id: str
    text: str
    target: str
    dx: int = 0
    dy: int = -90
    width: int = 220
    height: int = 56


@dataclass
class Pool:
    process_id: str
    name: str
    lanes: list[tuple[str, str]]  # (role, French description of who acts there)
    nodes: list[Node]
    flows: list[Flow]
    notes: list[Note] = field(default_factory=list)
    doc: str | None = None
    # Territory partners the process reads (slot codes of engine/territory/slots.py): written
    # as data inputs `organisation_<SLOT>`, checked and given by the runtime at start.
    partners: list[str] = field(default_factory=list)


@dataclass
class MessageFlow:
    id: str
    source: str
    target: str
    name: str | None = None


@dataclass
class Diagram:
    id: str
    pools: list[Pool]
    messages: dict[str, str] = field(default_factory=dict)  # id → name
    message_flows: list[MessageFlow] = field(default_factory=list)


# --- geometry ------------------------------------------------------------------------------

@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass
class Layout:
    pools: dict[str, Box] = field(default_factory=dict)
    lanes: dict[str, Box] = field(default_factory=dict)
    rows: dict[tuple[str, str, int], Box] = field(default_factory=dict)  # (pool, lane, row)
    nodes: dict[str, Box] = field(default_factory=dict)
    notes: dict[str, Box] = field(default_factory=dict)
    pool_of: dict[str, str] = field(default_factory=dict)  # node id → process id


def _content_x() -> float:
    return POOL_X + POOL_HEADER + LANE_HEADER + CONTENT_PAD


def compute(diagram: Diagram) -> Layout:
    layout = Layout()
    # A diagram whose first column is empty (its start moved right) is drawn from the first
    # used column.
    shift = min(min(n.col for n in pool.nodes) for pool in diagram.pools)
    width = max(max(n.col for n in pool.nodes) for pool in diagram.pools) + 1 - shift
    pool_w = POOL_HEADER + LANE_HEADER + CONTENT_PAD + width * COL_W + RIGHT_PAD
    y = 60.0
    for pool in diagram.pools:
        top = y
        for role, _label in pool.lanes:
            in_lane = [n for n in pool.nodes if n.lane == role and n.kind != "boundary_timer"]
            rows = max((n.row for n in in_lane), default=0) + 1
            lane_id = lane_element_id(pool, role)
            layout.lanes[lane_id] = Box(POOL_X + POOL_HEADER, y, pool_w - POOL_HEADER, rows * ROW_H)
            for r in range(rows):
                layout.rows[(pool.process_id, role, r)] = Box(_content_x(), y + r * ROW_H,
                                                              width * COL_W, ROW_H)
            y += rows * ROW_H
        layout.pools[pool.process_id] = Box(POOL_X, top, pool_w, y - top)
        for node in pool.nodes:
            layout.pool_of[node.id] = pool.process_id
            if node.kind == "boundary_timer":
                continue
            row = layout.rows[(pool.process_id, node.lane, node.row)]
            w, h = node.size
            cx = _content_x() + (node.col - shift) * COL_W + TASK_W / 2
            layout.nodes[node.id] = Box(cx - w / 2, row.cy - h / 2, w, h)
        for node in pool.nodes:
            if node.kind == "boundary_timer":
                host = layout.nodes[node.attached_to or ""]
                layout.nodes[node.id] = Box(host.right - 30 - EVENT_SIZE / 2,
                                            host.bottom - EVENT_SIZE / 2, EVENT_SIZE, EVENT_SIZE)
        for note in pool.notes:
            anchor = layout.nodes[note.target]
            layout.notes[note.id] = Box(anchor.cx - note.width / 2 + note.dx,
                                        anchor.cy + note.dy - note.height / 2,
                                        note.width, note.height)
        y += POOL_GAP
    return layout


def lane_element_id(pool: Pool, role: str) -> str:
    return f"Lane_{pool.process_id}_{role}"


def _is_gateway(node: Node) -> bool:
    return node.kind in GATEWAY_TAGS


Point = tuple[float, float]


def route(flow: Flow, nodes: dict[str, Node], layout: Layout) -> list[Point]:
    """Orthogonal waypoints of a sequence flow."""
    src, dst = nodes[flow.source], nodes[flow.target]
    a, b = layout.nodes[src.id], layout.nodes[dst.id]
    if src.kind == "boundary_timer":
        if b.cy > a.bottom + 10 and b.x > a.cx:  # target in a lower row, further right
            return [(a.cx, a.bottom), (a.cx, b.cy), (b.x, b.cy)]
        below = a.bottom + 24
        return [(a.cx, a.bottom), (a.cx, below), (b.cx, below),
                (b.cx, b.bottom if b.bottom < below else b.y)]
    if _is_gateway(src) and abs(a.cx - b.cx) < 1:  # straight up or down
        return [(a.cx, a.y), (b.cx, b.bottom)] if b.cy < a.cy else [(a.cx, a.bottom), (b.cx, b.y)]
    if b.cx <= a.cx:  # back flow: through the channel under the lower of the two rows
        lower = src if a.cy >= b.cy else dst
        depth = min(max(a.bottom, b.bottom) + 22 + 14 * flow.channel,
                    _row_bottom(lower, layout) - 6)
        return [(a.cx, a.bottom), (a.cx, depth), (b.cx, depth), (b.cx, b.bottom)]
    if abs(a.cy - b.cy) < 1:
        return [(a.right, a.cy), (b.x, b.cy)]
    if _is_gateway(src):
        start = (a.cx, a.y) if b.cy < a.cy else (a.cx, a.bottom)
        return [start, (a.cx, b.cy), (b.x, b.cy)]
    if _is_gateway(dst):
        end = (b.cx, b.bottom) if a.cy > b.cy else (b.cx, b.y)
        return [(a.right, a.cy), (b.cx, a.cy), end]
    turn = b.x - (COL_W - TASK_W) / 2
    return [(a.right, a.cy), (turn, a.cy), (turn, b.cy), (b.x, b.cy)]


def _row_bottom(node: Node, layout: Layout) -> float:
    centre = layout.nodes[node.id].cy
    for (_pool, lane, row), box in layout.rows.items():
        if lane == node.lane and row == node.row and box.y <= centre <= box.bottom:
            return box.bottom
    return layout.nodes[node.id].bottom + 40


def message_route(flow: MessageFlow, layout: Layout, index: int = 0) -> list[Point]:
    """Out of the source's pool, along the gap between the two pools (each message flow on
    its own line), into the target's: the source sits on its pool's edge row facing the
    target and the target on its own."""
    a, b = layout.nodes[flow.source], layout.nodes[flow.target]
    source_pool = layout.pools[layout.pool_of[flow.source]]
    target_pool = layout.pools[layout.pool_of[flow.target]]
    offset = 12 * index - 6
    if b.cy > a.cy:
        gap = (source_pool.bottom + target_pool.y) / 2 + offset
        return [(a.cx, a.bottom), (a.cx, gap), (b.cx, gap), (b.cx, b.y)]
    gap = (target_pool.bottom + source_pool.y) / 2 + offset
    return [(a.cx, a.y), (a.cx, gap), (b.cx, gap), (b.cx, b.bottom)]


# --- XML -----------------------------------------------------------------------------------

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id={id} targetNamespace="https://relais.example/protocoles"
    exporter="Relais workflows/_tools/layout.py" exporterVersion="1">
"""


def _attr(value: str) -> str:
    return quoteattr(value)


def _num(value: float) -> str:
    return str(round(value))


def _bounds(box: Box) -> str:
    return (f'<dc:Bounds x="{_num(box.x)}" y="{_num(box.y)}" width="{_num(box.w)}" '
            f'height="{_num(box.h)}"/>')


def _label_box(node: Node, box: Box) -> Box:
    width = max(90, min(150, 7 * len(node.name)))
    lines = max(1, -(-7 * len(node.name) // width))
    if node.kind in GATEWAY_TAGS:  # above, on the left: clear of flows leaving up or down
        width = 100
        lines = max(1, -(-7 * len(node.name) // width))
        return Box(box.cx - width - 6, box.y - 4 - 14 * lines, width, 14 * lines)
    return Box(box.cx - width / 2, box.bottom + 6, width, 14 * lines)


def _node_xml(node: Node, incoming: list[str], outgoing: list[str], indent: str) -> str:
    tag = TASK_TAGS.get(node.kind) or EVENT_TAGS.get(node.kind) or GATEWAY_TAGS[node.kind]
    attrs = f"id={_attr(node.id)} name={_attr(node.name)}"
    if node.kind == "boundary_timer":
        attrs += f" attachedToRef={_attr(node.attached_to or '')}"
        attrs += ' cancelActivity="true"' if node.cancel else ' cancelActivity="false"'
    if node.default:
        attrs += f" default={_attr(node.default)}"
    body: list[str] = []
    if node.doc:
        body.append(f"<bpmn:documentation>{escape(node.doc)}</bpmn:documentation>")
    extensions: list[str] = []
    if node.form or node.prefill:
        props = []
        if node.form:
            props.append(f'<spiffworkflow:property name="formJsonSchemaFilename" '
                         f'value={_attr(node.form)}/>')
        for prefix, values in (("prefill.", node.prefill), ("allowed.", node.allowed)):
            props.extend(f"<spiffworkflow:property name={_attr(prefix + name)} "
                         f"value={_attr(value)}/>" for name, value in values.items())
        extensions.append("<spiffworkflow:properties>" + "".join(props)
                          + "</spiffworkflow:properties>")
    if node.operator:
        params = "".join(f"<spiffworkflow:parameter id={_attr(pid)} type={_attr(ptype)} "
                         f"value={_attr(value)}/>" for pid, ptype, value in node.params)
        result = f" resultVariable={_attr(node.result)}" if node.result else ""
        extensions.append(f"<spiffworkflow:serviceTaskOperator id={_attr(node.operator)}{result}>"
                          f"<spiffworkflow:parameters>{params}</spiffworkflow:parameters>"
                          "</spiffworkflow:serviceTaskOperator>")
    if extensions:
        body.append("<bpmn:extensionElements>" + "".join(extensions)
                    + "</bpmn:extensionElements>")
    body += [f"<bpmn:incoming>{i}</bpmn:incoming>" for i in incoming]
    body += [f"<bpmn:outgoing>{o}</bpmn:outgoing>" for o in outgoing]
    if node.timer:
        kind, expression = node.timer
        body.append(f'<bpmn:timerEventDefinition id="{node.id}_minuterie">'
                    f'<bpmn:{kind} xsi:type="bpmn:tFormalExpression">{escape(expression)}'
                    f"</bpmn:{kind}></bpmn:timerEventDefinition>")
    if node.message:
        body.append(f'<bpmn:messageEventDefinition id="{node.id}_message" '
                    f"messageRef={_attr(node.message)}/>")
    if node.script is not None:
        body.append(f"<bpmn:script>{escape(node.script)}</bpmn:script>")
    inner = "".join(f"\n{indent}  {line}" for line in body)
    return f"{indent}<bpmn:{tag} {attrs}>{inner}\n{indent}</bpmn:{tag}>"


def build(diagram: Diagram) -> str:
    layout = compute(diagram)
    out = [HEADER.format(id=_attr(f"Definitions_{diagram.id}"))]
    for mid, name in diagram.messages.items():
        out.append(f"  <bpmn:message id={_attr(mid)} name={_attr(name)}/>\n")
    collaboration = f"Collaboration_{diagram.id}"
    out.append(f"  <bpmn:collaboration id={_attr(collaboration)}>\n")
    for pool in diagram.pools:
        out.append(f"    <bpmn:participant id={_attr('Participant_' + pool.process_id)} "
                   f"name={_attr(pool.name)} processRef={_attr(pool.process_id)}/>\n")
    for mf in diagram.message_flows:
        name = f" name={_attr(mf.name)}" if mf.name else ""
        out.append(f"    <bpmn:messageFlow id={_attr(mf.id)}{name} sourceRef={_attr(mf.source)} "
                   f"targetRef={_attr(mf.target)}/>\n")
    out.append("  </bpmn:collaboration>\n")
    all_nodes: dict[str, Node] = {}
    for pool in diagram.pools:
        out.append(_process_xml(pool))
        all_nodes.update({n.id: n for n in pool.nodes})
    out.append(_di_xml(diagram, layout, all_nodes, collaboration))
    out.append("</bpmn:definitions>\n")
    return "".join(out)


def _process_xml(pool: Pool) -> str:
    lines = [f"  <bpmn:process id={_attr(pool.process_id)} name={_attr(pool.name)} "
             'isExecutable="true">']
    if pool.doc:
        lines.append(f"    <bpmn:documentation>{escape(pool.doc)}</bpmn:documentation>")
    lines += _partners_xml(pool)
    lines.append(f'    <bpmn:laneSet id="LaneSet_{pool.process_id}">')
    for role, label in pool.lanes:
        lines.append(f"      <bpmn:lane id={_attr(lane_element_id(pool, role))} "
                     f"name={_attr(role)}>")
        lines.append(f"        <bpmn:documentation>{escape(label)}</bpmn:documentation>")
        for node in pool.nodes:
            if node.lane == role:
                lines.append(f"        <bpmn:flowNodeRef>{node.id}</bpmn:flowNodeRef>")
        lines.append("      </bpmn:lane>")
    lines.append("    </bpmn:laneSet>")
    for node in pool.nodes:
        incoming = [f.id for f in pool.flows if f.target == node.id]
        outgoing = [f.id for f in pool.flows if f.source == node.id]
        lines.append(_node_xml(node, incoming, outgoing, "    "))
    for flow in pool.flows:
        name = f" name={_attr(flow.name)}" if flow.name else ""
        head = (f"    <bpmn:sequenceFlow id={_attr(flow.id)}{name} "
                f"sourceRef={_attr(flow.source)} targetRef={_attr(flow.target)}")
        if flow.condition is None:
            lines.append(head + "/>")
        else:
            lines.append(head + ">")
            lines.append('      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
                         f"{escape(flow.condition)}</bpmn:conditionExpression>")
            lines.append("    </bpmn:sequenceFlow>")
    for note in pool.notes:
        lines.append(f"    <bpmn:textAnnotation id={_attr(note.id)}>"
                     f"<bpmn:text>{escape(note.text)}</bpmn:text></bpmn:textAnnotation>")
        lines.append(f"    <bpmn:association id={_attr(note.id + '_lien')} "
                     f"sourceRef={_attr(note.target)} targetRef={_attr(note.id)}/>")
    lines.append("  </bpmn:process>")
    return "\n".join(lines) + "\n"


def _partners_xml(pool: Pool) -> list[str]:
    """The territory partners the process reads, as the data inputs of its ioSpecification."""
    if not pool.partners:
        return []
    ids = [f"{pool.process_id}_partenaire_{slot}" for slot in pool.partners]
    lines = [f'    <bpmn:ioSpecification id="{pool.process_id}_partenaires">']
    lines += [f'      <bpmn:dataInput id={_attr(i)} name={_attr("organisation_" + slot)}/>'
              for i, slot in zip(ids, pool.partners, strict=True)]
    lines.append("      <bpmn:inputSet>"
                 + "".join(f"<bpmn:dataInputRefs>{i}</bpmn:dataInputRefs>" for i in ids)
                 + "</bpmn:inputSet>")
    lines.append("      <bpmn:outputSet/>")
    lines.append("    </bpmn:ioSpecification>")
    return lines


def _waypoints(points: list[Point]) -> str:
    return "".join(f'<di:waypoint x="{_num(x)}" y="{_num(y)}"/>' for x, y in points)


def _flow_label(points: list[Point], name: str) -> Box:
    (x1, y1), (x2, y2) = points[0], points[1]
    width = max(40, 7 * len(name))
    if abs(x1 - x2) < 1:  # vertical first segment: label beside it
        return Box(x1 + 6, (y1 + y2) / 2 - 7 if abs(y2 - y1) > 30 else y1 + 4, width, 14)
    return Box(x1 + 6, y1 - 18, width, 14)


def _di_xml(diagram: Diagram, layout: Layout, nodes: dict[str, Node],
            collaboration: str) -> str:
    lines = [f'  <bpmndi:BPMNDiagram id="BPMNDiagram_{diagram.id}">',
             f'    <bpmndi:BPMNPlane id="BPMNPlane_{diagram.id}" '
             f"bpmnElement={_attr(collaboration)}>"]
    for pool in diagram.pools:
        pid = "Participant_" + pool.process_id
        lines.append(f'      <bpmndi:BPMNShape id="{pid}_di" bpmnElement="{pid}" '
                     f'isHorizontal="true">{_bounds(layout.pools[pool.process_id])}'
                     "</bpmndi:BPMNShape>")
        for role, _label in pool.lanes:
            lane = lane_element_id(pool, role)
            lines.append(f'      <bpmndi:BPMNShape id="{lane}_di" bpmnElement="{lane}" '
                         f'isHorizontal="true">{_bounds(layout.lanes[lane])}'
                         "</bpmndi:BPMNShape>")
        for node in pool.nodes:
            box = layout.nodes[node.id]
            label = ""
            if node.kind not in TASK_TAGS and node.name:
                label = f"<bpmndi:BPMNLabel>{_bounds(_label_box(node, box))}</bpmndi:BPMNLabel>"
            marker = ' isMarkerVisible="true"' if node.kind == "xor" else ""
            lines.append(f'      <bpmndi:BPMNShape id="{node.id}_di" bpmnElement="{node.id}"'
                         f"{marker}>{_bounds(box)}{label}</bpmndi:BPMNShape>")
        for flow in pool.flows:
            points = route(flow, nodes, layout)
            label = ""
            if flow.name:
                label = (f"<bpmndi:BPMNLabel>{_bounds(_flow_label(points, flow.name))}"
                         "</bpmndi:BPMNLabel>")
            lines.append(f'      <bpmndi:BPMNEdge id="{flow.id}_di" bpmnElement="{flow.id}">'
                         f"{_waypoints(points)}{label}</bpmndi:BPMNEdge>")
        for note in pool.notes:
            box = layout.notes[note.id]
            lines.append(f'      <bpmndi:BPMNShape id="{note.id}_di" bpmnElement="{note.id}">'
                         f"{_bounds(box)}</bpmndi:BPMNShape>")
            anchor = layout.nodes[note.target]
            if box.x >= anchor.right:  # beside, on the right
                start, end = (anchor.right, anchor.cy), (box.x, box.cy)
            elif box.bottom <= anchor.y:  # above
                start, end = (anchor.cx, anchor.y), (box.cx, box.bottom)
            else:  # below
                start, end = (anchor.cx, anchor.bottom), (box.cx, box.y)
            lines.append(f'      <bpmndi:BPMNEdge id="{note.id}_lien_di" '
                         f'bpmnElement="{note.id}_lien">{_waypoints([start, end])}'
                         "</bpmndi:BPMNEdge>")
    for index, mf in enumerate(diagram.message_flows):
        points = message_route(mf, layout, index)
        label = ""
        if mf.name:
            width = 7 * len(mf.name)
            x = (points[1][0] + points[2][0]) / 2 - width / 2
            y = points[1][1] - 16 if index == 0 else points[1][1] + 2
            label = (f"<bpmndi:BPMNLabel>{_bounds(Box(x, y, width, 14))}"
                     "</bpmndi:BPMNLabel>")
        lines.append(f'      <bpmndi:BPMNEdge id="{mf.id}_di" bpmnElement="{mf.id}">'
                     f"{_waypoints(points)}{label}</bpmndi:BPMNEdge>")
    lines.append("    </bpmndi:BPMNPlane>")
    lines.append("  </bpmndi:BPMNDiagram>")
    return "\n".join(lines) + "\n"


def write(diagram: Diagram, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build(diagram), encoding="utf-8")
