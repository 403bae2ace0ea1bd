"""The day timeline: every event drawn, kept vs dropped, priority by colour and pattern, mistakes marked."""

import datetime as dt

from scheduler import Problem, breakdown, parse_problem, reference_answer
from space.timeline import DAY, MAX_TICKS, PATTERNS, PRIORITY, UNKNOWN, axis_span, timeline_figure

PROBLEM = parse_problem(
    "Events:\n- Breakfast (08:00 - 08:30)\n- Standup (08:15 - 08:45)\n- Deep work (09:00 - 11:00)\n"
    "- Lunch (12:00 - 13:00)\n\nPriorities:\n- Standup"
)


def answer(*events, think="plan"):
    body = "".join(f"<event><name>{n}</name><start>{s}</start><end>{e}</end></event>" for n, s, e in events)
    return f"<think>{think}</think><schedule>{body}</schedule>"


def bars(fig):
    """(row label, status trace name, start, end, pattern) for every bar in the figure."""
    out = []
    for trace in fig.data:
        pattern = trace.marker.pattern.shape if trace.marker.pattern else ""
        for y, base, x in zip(trace.y, trace.base, trace.x):
            start = dt.datetime.fromisoformat(str(base))
            out.append((y, trace.name, start, start + dt.timedelta(milliseconds=float(x)), pattern or ""))
    return out


def test_every_problem_event_has_a_row_in_problem_order():
    fig = timeline_figure(PROBLEM, breakdown("", PROBLEM), "empty answer")
    rows = [b[0] for b in bars(fig)]
    assert sorted(rows) == sorted(ev.name for ev in PROBLEM.events)
    # Plotly lists a category axis bottom-up: the first event of the problem is the top row.
    assert list(fig.layout.yaxis.categoryarray)[::-1] == [ev.name for ev in PROBLEM.events]
    # Nothing kept: every bar is a "dropped" one.
    assert all(b[1].startswith("dropped") for b in bars(fig))


def test_times_sit_on_a_fixed_day_with_an_axis_zoomed_to_the_events():
    fig = timeline_figure(PROBLEM, breakdown(answer(("Breakfast", "08:00", "08:30")), PROBLEM))
    by_row = {b[0]: b for b in bars(fig)}
    assert by_row["Breakfast"][2] == DAY.replace(hour=8)
    assert by_row["Deep work"][3] == DAY.replace(hour=11)
    lo, hi = [dt.datetime.fromisoformat(str(x)) for x in fig.layout.xaxis.range]
    # 08:00-13:00 with padding, on whole ticks: not the whole day.
    assert DAY.replace(hour=7) <= lo < DAY.replace(hour=8) and DAY.replace(hour=13) < hi <= DAY.replace(hour=15)
    ticks = (hi - lo) / dt.timedelta(milliseconds=fig.layout.xaxis.dtick)
    assert ticks <= MAX_TICKS + 1 and fig.layout.xaxis.tickformat == "%H:%M"


def test_the_axis_span_fits_short_and_long_days():
    # Two 15-minute events: a span of half an hour gets 15-minute ticks and a bar wide enough to see.
    first, last, step = axis_span([9 * 60, 9 * 60 + 10], [9 * 60 + 15, 9 * 60 + 25])
    assert step == 15 and first <= 9 * 60 and last >= 9 * 60 + 25 and last - first <= 90
    # Events from 06:00 to 22:00: hour ticks would not fit, a coarser step does.
    first, last, step = axis_span([6 * 60], [22 * 60])
    assert step >= 120 and (last - first) / step <= MAX_TICKS + 1 and first <= 6 * 60 and last >= 22 * 60
    # Never beyond the day.
    first, last, _ = axis_span([5], [23 * 60 + 50])
    assert first == 0 and last == 24 * 60


def test_a_short_event_is_drawn_wide_enough_to_read():
    short = parse_problem("Events:\n- Standup (09:00 - 09:15)\n- Coffee (09:10 - 09:30)\n- Review (09:30 - 10:00)")
    fig = timeline_figure(short, breakdown(answer(("Standup", "09:00", "09:15"), ("Review", "09:30", "10:00")), short))
    lo, hi = [dt.datetime.fromisoformat(str(x)) for x in fig.layout.xaxis.range]
    # At least a tenth of the axis for the 15-minute standup (a whole-day axis gave it 1%).
    assert dt.timedelta(minutes=15) / (hi - lo) >= 0.1
    assert fig.layout.xaxis.tickformat == "%H:%M"
    assert fig.layout.height and fig.layout.height >= 200


def test_kept_dropped_and_priority_differ_by_colour_and_pattern():
    text = answer(("Standup", "08:15", "08:45"), ("Deep work", "09:00", "11:00"))
    fig = timeline_figure(PROBLEM, breakdown(text, PROBLEM))
    status = {b[0]: b[1] for b in bars(fig)}
    pattern = {b[0]: b[4] for b in bars(fig)}
    assert status == {
        "Standup": "kept · priority", "Deep work": "kept · normal",
        "Breakfast": "dropped · normal", "Lunch": "dropped · normal",
    }
    assert pattern["Standup"] == PATTERNS[PRIORITY] != pattern["Deep work"]
    colours = {t.name: t.marker.color for t in fig.data}
    assert colours["kept · priority"] != colours["kept · normal"] != colours["dropped · normal"]
    widths = {t.name: t.marker.line.width for t in fig.data}
    assert widths["kept · priority"] > widths["kept · normal"]


def test_overlap_gets_a_red_band_over_the_shared_time():
    text = answer(("Breakfast", "08:00", "08:30"), ("Standup", "08:15", "08:45"))
    fig = timeline_figure(PROBLEM, breakdown(text, PROBLEM))
    bands = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(bands) == 1
    assert dt.datetime.fromisoformat(str(bands[0].x0)) == DAY.replace(hour=8, minute=15)
    assert dt.datetime.fromisoformat(str(bands[0].x1)) == DAY.replace(hour=8, minute=30)
    assert "rgba(224, 49, 49" in bands[0].fillcolor
    notes = {a.y: a.text for a in fig.layout.annotations}
    assert "overlaps" in notes["Breakfast"] and "overlaps" in notes["Standup"]


def test_invented_and_out_of_order_events_are_marked():
    text = answer(("Lunch", "12:00", "13:00"), ("Deep work", "09:00", "11:00"), ("Nap", "14:00", "15:00"),
                  ("Lunch", "12:00", "13:30"))
    fig = timeline_figure(PROBLEM, breakdown(text, PROBLEM))
    status = {b[0]: b[1] for b in bars(fig)}
    assert status["Nap (invented)"] == UNKNOWN
    assert status["Lunch 12:00-13:30 (as written)"] == UNKNOWN
    notes = {a.y: a.text for a in fig.layout.annotations}
    assert "out of order" in notes["Deep work"]
    assert "not in the problem" in notes["Nap (invented)"]
    # The answer's order is written after each bar (an annotation, readable however short the bar).
    assert notes["Lunch"].startswith("#1") and notes["Deep work"].startswith("#2")
    assert notes["Nap (invented)"].startswith("#3")


def test_impossible_times_are_counted_not_drawn():
    text = answer(("Lunch", "12:00", "13:00"), ("Ghost", "25:00", "26:00"), ("Backwards", "10:00", "09:00"))
    fig = timeline_figure(PROBLEM, breakdown(text, PROBLEM), "lane")
    assert "Ghost (invented)" not in {b[0] for b in bars(fig)}
    assert "2 answer event(s) with impossible times" in fig.layout.title.subtitle.text


def test_labels_and_hover_are_escaped_for_plotly():
    # Plotly renders a subset of HTML in labels; a model may write '>' and '&' in a name.
    text = answer(("Lunch", "12:00", "13:00"), ("a > b & c", "14:00", "15:00"))
    fig = timeline_figure(PROBLEM, breakdown(text, PROBLEM), "Base & <b>x</b>")
    labels = {b[0] for b in bars(fig)}
    assert "a &gt; b &amp; c (invented)" in labels
    assert "<b>" not in fig.layout.title.text and "&lt;b&gt;" in fig.layout.title.text
    hover = fig.data[0].hovertemplate
    assert "%{customdata[0]}-%{customdata[1]}" in hover and "<extra></extra>" in hover


def test_solver_answer_keeps_the_optimal_set_without_conflicts():
    problem = Problem.from_row({"events": [["A", "09:00", "10:00"], ["B", "09:30", "11:00"], ["C", "11:00", "12:00"]],
                                "priority_events": ["A"]})
    fig = timeline_figure(problem, breakdown(reference_answer(problem), problem))
    status = {b[0]: b[1] for b in bars(fig)}
    assert status == {"A": "kept · priority", "B": "dropped · normal", "C": "kept · normal"}
    assert not [s for s in fig.layout.shapes if s.type == "rect"]
