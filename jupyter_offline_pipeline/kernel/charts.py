"""Inline SVG, drawn here so that a notebook shows the lineage graph and the instances
timeline with no JavaScript and nothing to install: it renders in JupyterLab, in exported
HTML and on GitHub alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape

FONT = "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:12px"
CHAR_WIDTH = 7  # of a 12px character, near enough to fit labels without measuring text

COLORS = {
    # instance states
    "success": "#2e7d32", "failed": "#c62828", "running": "#1565c0", "waiting_time": "#9e9e9e",
    "waiting_upstream": "#8d6e63", "waiting_resources": "#f9a825", "not_run": "#5d4037",
    "dry_run": "#00897b", "killed": "#6a1b9a",
    # check results and diagnostics
    "pass": "#2e7d32", "warning": "#ef6c00", "fail": "#c62828", "skipped": "#9e9e9e",
    "error": "#c62828", "info": "#1565c0",
}


def color(state: str) -> str:
    return COLORS.get(state, "#616161")


def clip(text: str, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` pixels."""
    most = max(int(width // CHAR_WIDTH), 1)
    return text if len(text) <= most else text[: most - 1] + "…"


# --- the lineage graph ---------------------------------------------------------------------

BOX_WIDTH, HEADER, ROW, GAP_X, GAP_Y, MARGIN = 230, 26, 18, 90, 24, 12


@dataclass
class Table:
    """One table box: ``columns`` are its column nodes' ids and names, in drawing order."""

    id: str
    label: str
    columns: list[tuple[str, str]]
    focus: bool = False


@dataclass
class Link:
    source: str  # a table or a column id
    target: str
    title: str  # the tooltip: which task moves the data


def lineage_svg(tables: Sequence[Table], links: Sequence[Link]) -> str:
    """Tables in layers from sources (left) to targets (right), each a box listing its
    columns; table links join the headers, column links the column rows."""
    if not tables:
        return ""
    table_of = {t.id: t.id for t in tables} | {c: t.id for t in tables for c, _ in t.columns}
    upstream = {t.id: set() for t in tables}
    for link in links:
        source, target = table_of.get(link.source), table_of.get(link.target)
        if source and target and source != target:
            upstream[target].add(source)
    layers = _layers(upstream)
    columns_of = {t.id: t for t in tables}
    # y of every box, layer by layer; a box sits near the mean height of its upstream boxes
    position: dict[str, tuple[float, float]] = {}
    height = 0.0
    for index, layer in enumerate(layers):
        def wish(table_id: str) -> float:
            ys = [position[u][1] for u in upstream[table_id] if u in position]
            return sum(ys) / len(ys) if ys else 0.0
        y = MARGIN
        for table_id in sorted(layer, key=lambda t: (wish(t), columns_of[t].label)):
            position[table_id] = (MARGIN + index * (BOX_WIDTH + GAP_X), y)
            y += HEADER + ROW * len(columns_of[table_id].columns) + GAP_Y
        height = max(height, y - GAP_Y + MARGIN)
    width = MARGIN * 2 + len(layers) * BOX_WIDTH + (len(layers) - 1) * GAP_X
    anchors: dict[str, tuple[float, float, float]] = {}  # id -> (left x, right x, y)
    boxes = []
    for table in tables:
        x, y = position[table.id]
        anchors[table.id] = (x, x + BOX_WIDTH, y + HEADER / 2)
        rows = []
        for number, (column_id, name) in enumerate(table.columns):
            row_y = y + HEADER + ROW * number
            anchors[column_id] = (x, x + BOX_WIDTH, row_y + ROW / 2)
            rows.append(f'<text x="{x + 10}" y="{row_y + 13}">{escape(clip(name, BOX_WIDTH - 20))}</text>')
        box_height = HEADER + ROW * len(table.columns)
        stroke = "#1565c0" if table.focus else "#90a4ae"
        boxes.append(
            f'<g><title>{escape(table.label)}</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{box_height}" rx="5" fill="#fff" '
            f'stroke="{stroke}" stroke-width="{2 if table.focus else 1}"/>'
            f'<rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{HEADER}" rx="5" '
            f'fill="{"#e3f2fd" if table.focus else "#eceff1"}"/>'
            f'<text x="{x + 10}" y="{y + 17}" font-weight="bold">{escape(clip(table.label, BOX_WIDTH - 20))}</text>'
            + "".join(rows) + "</g>")
    paths = []
    for link in links:
        if link.source not in anchors or link.target not in anchors:
            continue
        (_, x1, y1), (x2, _, y2) = anchors[link.source], anchors[link.target]
        bend = max((x2 - x1) / 2, 40)
        is_table = link.source in columns_of
        paths.append(
            f'<path d="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}" fill="none" '
            f'stroke="{"#546e7a" if is_table else "#b0bec5"}" stroke-width="{2 if is_table else 1}" '
            f'marker-end="url(#jop-arrow)"><title>{escape(link.title)}</title></path>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" style="{FONT}">'
            '<defs><marker id="jop-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#546e7a"/>'
            '</marker></defs>' + "".join(paths) + "".join(boxes) + "</svg>")


def _layers(upstream: dict[str, set[str]]) -> list[list[str]]:
    """Longest-path layering; a cycle (A feeds B feeds A) is cut where it closes."""
    depth: dict[str, int] = {}

    def visit(node: str, path: frozenset) -> int:
        if node not in depth:
            above = [visit(u, path | {node}) + 1 for u in upstream[node] if u not in path]
            depth[node] = max(above, default=0)
        return depth[node]

    for node in upstream:
        visit(node, frozenset())
    layers: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for node, level in depth.items():
        layers[level].append(node)
    return layers


# --- the instances timeline ---------------------------------------------------------------

LABEL_WIDTH, CHART_WIDTH, BAR, BAR_GAP, AXIS = 210, 560, 14, 6, 24
MAX_BARS = 60


@dataclass
class Bar:
    label: str
    state: str
    start: datetime | None  # None: not started yet
    end: datetime | None  # None: still running (or a past attempt's end is unknown)
    title: str


def _end(bar: Bar, now: datetime) -> datetime:
    return bar.end or (now if bar.state == "running" else bar.start)  # type: ignore[return-value]


def timeline_svg(bars: Sequence[Bar], now: datetime | None = None) -> str:
    """One row per instance, a bar from its start to its end (to now while it runs),
    coloured by state. The axis spans the runs; an instance that has not started is its
    state in words (a backfill's scheduled times lie in the past and would squash the axis)."""
    bars = list(bars)[:MAX_BARS]
    now = now or datetime.now(timezone.utc)
    moments = [m for b in bars if b.start for m in (b.start, _end(b, now))]
    if not moments:
        return ""
    low, high = min(moments), max(moments)
    span = max((high - low).total_seconds(), 1.0)

    def x(moment: datetime) -> float:
        return LABEL_WIDTH + CHART_WIDTH * (moment - low).total_seconds() / span

    height = AXIS + len(bars) * (BAR + BAR_GAP) + BAR_GAP
    parts = []
    for tick in range(5):
        moment = low + timedelta(seconds=span * tick / 4)
        tx = x(moment)
        anchor = "start" if tick == 0 else "end" if tick == 4 else "middle"
        parts.append(f'<line x1="{tx}" y1="{AXIS - 6}" x2="{tx}" y2="{height}" stroke="#eceff1"/>'
                     f'<text x="{tx}" y="{AXIS - 10}" text-anchor="{anchor}" fill="#607d8b">'
                     f'{_tick(moment, span)}</text>')
    for row, bar in enumerate(bars):
        y = AXIS + BAR_GAP + row * (BAR + BAR_GAP)
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR - 3}" text-anchor="end">'
                     f'{escape(clip(bar.label, LABEL_WIDTH - 12))}</text>')
        title = f"<title>{escape(bar.title)}</title>"
        if bar.start:
            x1, x2 = x(bar.start), x(_end(bar, now))
            parts.append(f'<rect x="{x1}" y="{y}" width="{max(x2 - x1, 2)}" height="{BAR}" rx="2" '
                         f'fill="{color(bar.state)}">{title}</rect>')
        else:
            parts.append(f'<text x="{LABEL_WIDTH + 4}" y="{y + BAR - 3}" fill="{color(bar.state)}" '
                         f'font-style="italic">{escape(bar.state)}{title}</text>')
    width = LABEL_WIDTH + CHART_WIDTH + 40
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" style="{FONT}">' + "".join(parts) + "</svg>")


def _tick(moment: datetime, span: float) -> str:
    local = moment.astimezone()
    return local.strftime("%H:%M:%S" if span < 600 else "%H:%M" if span < 86400 else "%m-%d %H:%M")


def legend(states: Sequence[str]) -> str:
    """HTML swatches for the states shown."""
    return " ".join(f'<span style="white-space:nowrap"><span style="display:inline-block;width:10px;'
                    f'height:10px;background:{color(s)};border-radius:2px"></span> {escape(s)}</span>'
                    for s in dict.fromkeys(states))
