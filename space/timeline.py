"""A plotly timeline of one day: every event of the problem, what an answer kept, and what it got wrong.

One row per problem event (in the problem's order, top to bottom) plus one row per event the answer
invented. Kept events are coloured, dropped ones grey; priority events differ by colour *and* a hatch
pattern and a heavier outline, so the distinction survives greyscale and colour-blindness. Conflicts
between kept events get a red band, out-of-order and repeated events a note, invented events a red
row; ``#n`` beside a bar is its position in the answer. Times are mapped onto a fixed date so plotly
never invents "today", and the x axis spans the problem's events with padding and tick steps chosen to
fit a lane's width, so a 15-minute event is a bar, not a sliver (see FIELD-NOTES: bare HH:MM
strings, zero-height figures, bottom-up rows, whole-day axes).
"""

from __future__ import annotations

import datetime as dt
import html

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from scheduler import Breakdown, Problem

DAY = dt.datetime(2000, 1, 1)
DAY_END = DAY + dt.timedelta(days=1)

KEPT = "kept"
DROPPED = "dropped"
UNKNOWN = "not in the problem"
PRIORITY = "priority (x2)"
NORMAL = "normal (x1)"

# Status x weight -> colour: kept priority = orange, kept normal = blue, dropped = greys (the
# priority grey a shade warmer), invented = red. Patterns: priority hatched, normal solid.
COLOURS = {
    f"{KEPT} · priority": "#e8590c",
    f"{KEPT} · normal": "#1c7ed6",
    f"{DROPPED} · priority": "#d9c2b0",
    f"{DROPPED} · normal": "#ced4da",
    UNKNOWN: "#c92a2a",
}
PATTERNS = {PRIORITY: "/", NORMAL: ""}
CONFLICT_RED = "rgba(224, 49, 49, 0.22)"
ROW_PX = 30
BASE_PX = 150
# Tick steps (minutes) tried in order; the first giving at most MAX_TICKS ticks over the span is used.
TICK_STEPS = (15, 30, 60, 120, 180, 240)
MAX_TICKS = 8


def axis_span(starts: list[int], ends: list[int]) -> tuple[int, int, int]:
    """(first, last, tick step) in minutes: the events' span padded on both sides, on whole tick steps.

    The right side gets extra room for the ``#n`` and warning labels written after each bar's end.
    """
    if not starts:
        return 0, 24 * 60, 180
    lo, hi = min(starts), max(ends)
    span = max(hi - lo, 30)
    step = next((s for s in TICK_STEPS if (span * 1.3) / s <= MAX_TICKS), TICK_STEPS[-1])
    first = max(0, (lo - max(10, span // 20)) // step * step)
    last = min(24 * 60, -(-(hi + max(step // 2, span // 5, 20)) // step) * step)
    return first, last, step


def at(minutes: int) -> dt.datetime:
    """Minutes since midnight -> a datetime on the fixed day (1440 -> the next midnight)."""
    return DAY + dt.timedelta(minutes=minutes)


def _offset(moment: dt.datetime) -> int:
    """A datetime on the fixed day -> minutes since its midnight."""
    return int((moment - DAY).total_seconds() // 60)


def _minutes(hhmm: str) -> int | None:
    """``HH:MM`` as a model wrote it -> minutes, or None when it is not a time of this day."""
    try:
        hours, minutes = (int(part) for part in hhmm.split(":"))
    except (ValueError, AttributeError):
        return None
    if not (0 <= hours <= 24 and 0 <= minutes <= 59) or hours * 60 + minutes > 24 * 60:
        return None
    return hours * 60 + minutes


def _label(text: str) -> str:
    """Plotly renders a subset of HTML in labels and hover text, so names are escaped."""
    return html.escape(text, quote=False)


def _rows(problem: Problem, bd: Breakdown) -> tuple[list[dict], int]:
    """Table of bars: problem events first, then the answer's invented ones; and how many could not be drawn."""
    position = {}
    for index, (name, start, end) in enumerate(bd.scheduled, start=1):
        position.setdefault((name, start, end), []).append(index)
    kept = set(bd.kept)
    out_of_order = set(bd.out_of_order)
    clashing = {name for pair in bd.overlapping for name in pair}
    duplicates = set(bd.duplicates)
    rows = []
    for ev in problem.events:
        weight = PRIORITY if ev.name in problem.priorities else NORMAL
        status = KEPT if ev.name in kept else DROPPED
        status = f"{status} · {'priority' if weight == PRIORITY else 'normal'}"
        notes = []
        if ev.name in clashing:
            notes.append("overlaps")
        if ev.name in out_of_order:
            notes.append("out of order")
        if ev.name in duplicates:
            notes.append("listed twice")
        listed = position.get(ev.as_strings(), [])
        rows.append(
            {
                "row": _label(ev.name),
                "start": at(ev.start),
                "end": at(ev.end),
                "status": status,
                "weight": weight,
                "from": ev.start_hhmm,
                "to": ev.end_hhmm,
                "minutes": ev.duration,
                "value": problem.value(ev),
                "order": ",".join(f"#{i}" for i in listed),
                "notes": ", ".join(notes),
            }
        )
    undrawable = 0
    seen_unknown = set()
    names = {ev.name for ev in problem.events}
    for name, start, end in bd.unknown:
        if (name, start, end) in seen_unknown:
            continue
        seen_unknown.add((name, start, end))
        s, e = _minutes(start), _minutes(end)
        if s is None or e is None or e <= s:
            undrawable += 1
            continue
        weight = PRIORITY if name in problem.priorities else NORMAL
        label = f"{name} {start}-{end} (as written)" if name in names else f"{name} (invented)"
        rows.append(
            {
                "row": _label(label),
                "start": at(s),
                "end": at(e),
                "status": UNKNOWN,
                "weight": weight,
                "from": start,
                "to": end,
                "minutes": e - s,
                "value": 0,
                "order": ",".join(f"#{i}" for i in position.get((name, start, end), [])),
                "notes": "not in the problem",
            }
        )
    return rows, undrawable


def timeline_figure(problem: Problem, bd: Breakdown, title: str = "") -> go.Figure:
    """The day of ``problem`` as answered (``bd`` from ``scheduler.breakdown``): one bar per event."""
    rows, undrawable = _rows(problem, bd)
    frame = pd.DataFrame(rows)
    order = list(dict.fromkeys(frame["row"]))
    fig = px.timeline(
        frame,
        x_start="start",
        x_end="end",
        y="row",
        color="status",
        pattern_shape="weight",
        color_discrete_map=COLOURS,
        pattern_shape_map=PATTERNS,
        category_orders={"row": order, "status": list(COLOURS), "weight": [PRIORITY, NORMAL]},
        custom_data=["from", "to", "minutes", "weight", "value", "status", "notes"],
        height=BASE_PX + ROW_PX * len(order),
    )
    fig.update_traces(
        hovertemplate=(
            "<b>%{y}</b><br>%{customdata[0]}-%{customdata[1]} (%{customdata[2]} min)<br>"
            "%{customdata[3]}, value %{customdata[4]}<br>%{customdata[5]}<br>%{customdata[6]}<extra></extra>"
        ),
        marker_line_color="#495057",
        marker_line_width=0.5,
    )
    # Priority bars get a heavier dark outline on top of their colour and hatch; invented ones a red one.
    fig.for_each_trace(
        lambda t: t.update(marker_line_width=2.2, marker_line_color="#212529") if PRIORITY in t.name else None
    )
    fig.for_each_trace(lambda t: t.update(marker_line_color="#7b0000") if t.name.startswith(UNKNOWN) else None)
    # px names each trace "colour, pattern"; the colour label already says priority or normal.
    shown: set[str] = set()
    for trace in fig.data:
        trace.name = trace.name.split(", ")[0]
        trace.legendgroup = trace.name
        trace.showlegend = trace.name not in shown
        shown.add(trace.name)

    kept_spans = {}
    for row in rows:
        kept_spans[row["row"]] = row
    for a, b in bd.overlapping:
        ra, rb = kept_spans.get(_label(a)), kept_spans.get(_label(b))
        if ra is None or rb is None:
            continue
        lo, hi = max(ra["start"], rb["start"]), min(ra["end"], rb["end"])
        if hi > lo:
            fig.add_vrect(x0=lo, x1=hi, fillcolor=CONFLICT_RED, line_width=0, layer="below")
        else:  # touching events, counted as a conflict in compat mode
            fig.add_vline(x=lo, line_color="#e03131", line_width=2)
    for row in rows:  # "#n" (position in the answer) and warnings after each bar, readable at any bar length
        label = " ".join(part for part in (row["order"], f"⚠ {row['notes']}" if row["notes"] else "") if part)
        if label:
            fig.add_annotation(
                x=row["end"], y=row["row"], text=label, showarrow=False, xanchor="left", xshift=4,
                font={"size": 11, "color": "#c92a2a" if row["notes"] else "#212529"},
            )
    subtitle = ""
    if undrawable:
        subtitle = f"{undrawable} answer event(s) with impossible times are not drawn"
    fig.update_layout(
        title={"text": _label(title), "subtitle": {"text": subtitle}} if title else None,
        margin={"l": 10, "r": 20, "t": 60 if title else 20, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0, "title": None, "font": {"size": 11}},
        plot_bgcolor="white",
        bargap=0.25,
        hoverlabel={"align": "left"},
    )
    first, last, step = axis_span([_offset(r["start"]) for r in rows], [_offset(r["end"]) for r in rows])
    fig.update_xaxes(
        range=[at(first), at(last)], tickformat="%H:%M", tick0=at(first), dtick=step * 60 * 1000, tickangle=0, showgrid=True, gridcolor="#eef0f2",
        title=None, fixedrange=False,
    )
    # px already lists category_orders top-down on a y axis; reversing the axis would flip it back.
    fig.update_yaxes(title=None, showgrid=False, automargin=True)
    return fig
