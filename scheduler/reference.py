"""The reference answer for a problem: a ``<think>`` in one of ten formats and an optimal schedule (the solver's,
or the one the format computes).

This is the cold-start SFT target and the "solver" lane of the app. Every format is short and local
(small models learn short reasoning better), and which one trains best is decided by the ablation in
``docs/training.md``, not here:

- ``v2``: the events in start order, each kept, or dropped with the kept events it overlaps and the
  comparison of their values (a first design that listed conflict groups trained to 43/100 valid).
- ``short``: one line naming the dropped events and the total.
- ``scan``: ``v2`` plus an explicit "free at" time, the end of the last kept event. An event that starts
  before it must be dropped, a check of two adjacent times; so a model that follows the trace cannot
  keep two overlapping events, the failure that dominates ``v2`` models. A dropped event that starts
  after it overlaps a later kept event, named with the values compared, as in ``v2``.
- ``recap``: ``scan``, then the kept events again, one per line in schedule order (``NAME HH:MM-HH:MM``), just
  before the total. Aimed at the failure left after ``scan``: on the hard split 36 of the scan model's 38 overlap
  failures had a think whose kept events did not overlap, and a ``<schedule>`` that also copied dropped ones. The
  recap makes the schedule a copy of adjacent lines, each name at a line start as it is after ``<name>``.
- ``running``: ``scan`` whose keep lines also carry the kept events so far (``Kept: A; B; C.``), the previous
  keep line's list plus this event. Aimed at what the recap showed (docs/training.md, session 4): its schedule copied
  the recap faithfully, but the recap listed dropped events, so finding the next *kept* line among dropped ones is the
  step a 135M model gets wrong. Here no step skips anything: each list is the latest list plus one name, and the
  schedule copies the last list.
- ``numbered``: ``recap`` with each event line numbered in start order (``3. NAME (…)`` for ``- NAME (…)``) and
  each recap line led by its event's number (``3. NAME HH:MM-HH:MM``). Aimed at the copy errors left on the names
  split (docs/training.md, session 10): 16 of the 19 wrong names of a model trained longer were first wrong in the
  recap, copied from a right keep line with the first word bent toward a common one ("Prep" -> "Prepare", "Walk" ->
  "Walking"). A number is an easy token to get right, and after it the keep line's name is what followed the same
  number before: a copy by the line's key instead of a recall of the name's first word.
- ``dp``: the exact dynamic programme written out, for the failure every scan-based format leaves on long days: on
  the hard split 47 of the shipped model's 73 suboptimal answers first go wrong by keeping an event that the optimum
  drops for a more valuable set starting *later* (docs/training.md, session 18), a look ahead a scan line does not
  show. The events numbered in start order; then, last first, each event's best total from it on: "take" its value
  plus the best from ``next`` (the first event starting at or after its end), "skip" the best from the event after
  it, the larger kept (a tie takes). Every step is a lookup by number, one addition and one comparison, written
  where the model reads it back; the walk from event 1 (a take jumps to its ``next``) gives the schedule, which
  cannot overlap because every jump lands at or after the taken event's end. Its schedule is the walk's, an optimum
  that on ties may differ from the solver's (``dp_solution``).
- ``dpcheck``: ``dp`` with each ``next`` found by writing the later events' starts one by one against the line's
  end (``11. ends 10:34; 12 at 09:40 no, 13 at 16:07 yes; take …``). Aimed at what the ``dp`` model got wrong on hard
  (docs/training.md, session 21): 24 of its 100 answers overlapped, 20 of them after a wrong ``next``, most often the
  event one before the right one, starting a few minutes before the end. Each comparison is then of two times on
  the same line.
- ``dplocal``: ``dpcheck`` whose programme lines are led by their event's times and value
  (``11. 09:04-10:34, 90; 12 09:40 no, 13 16:07 yes; take 90 + 180 = 270, skip 210: take 270.``; the event list
  keeps names, times and a ``priority`` mark). Every wrong step of the ``dp`` model and of a short ``dpcheck`` pilot
  on hard was a lookup by number across the think (an end, a start, a best-from, a walk step; session 21). Here a
  line's search reads the starts of the lines just above it (events ``i+1, i+2, …`` are the lines written last), and
  its skip figure and the best it adds end those lines: only the event list and the walk are read by number.
- ``dpset``: ``dplocal`` whose programme lines end with the events their best keeps (``…: skip 285, keep 11 13 14
  15.``): a take keeps its own number and the list of the line its search stopped at, a skip the list of the line
  above it. There is no walk: the schedule is line 1's list, the line just above it. Aimed at what the ``dplocal``
  model got wrong on hard (docs/training.md, session 22): its programme held in most answers, and the walk, a lookup
  of each line's choice by number up the think, was the first wrong step of 70 of its 100 answers.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Callable

from scheduler.events import PRIORITY_WEIGHT, Event, Problem, format_time, overlaps
from scheduler.solver import Solution, solve

# The shipped model's format (the ablation in docs/training.md): the solver lane and the CPU demo's drafts use it.
DEFAULT_THINK = "recap"


def _start_order(problem: Problem) -> list[Event]:
    return sorted(problem.events, key=lambda e: (e.start, e.end, e.name))


def _value_text(problem: Problem, ev: Event) -> str:
    if problem.weight(ev.name) == PRIORITY_WEIGHT:
        return f"{PRIORITY_WEIGHT}x{ev.duration}={problem.value(ev)}"
    return str(ev.duration)


def _head(problem: Problem, ev: Event, mark: str = "-") -> str:
    return f"{mark} {ev.name} ({ev.start_hhmm}-{ev.end_hhmm}, {_value_text(problem, ev)}):"


def _blockers(best: Solution, ev: Event) -> list[Event]:
    """The kept events that ``ev`` overlaps (touching allowed)."""
    return [k for k in best.events if overlaps(k.start, k.end, ev.start, ev.end)]


def _drop_reason(problem: Problem, best: Solution, ev: Event) -> str:
    """'overlaps A (60) + B (120); 180 >= 90, drop.' -- the kept events' value is never less than the dropped
    one's (else swapping it in would beat the optimum)."""
    blockers = _blockers(best, ev)
    total = sum(problem.value(k) for k in blockers)
    names = " + ".join(f"{k.name} ({problem.value(k)})" for k in blockers)
    return f"overlaps {names}; {total} >= {problem.value(ev)}, drop."


def reasoning_v2(problem: Problem, best: Solution) -> str:
    """One line per event in start order (keep, or drop against the kept events it overlaps), then the total."""
    kept = set(best.events)
    lines = [f"{_head(problem, ev)} {'keep.' if ev in kept else _drop_reason(problem, best, ev)}"
             for ev in _start_order(problem)]
    lines.append(f"Total: {best.score}.")
    return "\n".join(lines)


def reasoning_short(problem: Problem, best: Solution) -> str:
    """One line: the dropped events (start order) and the total weighted duration."""
    kept = set(best.events)
    dropped = [ev.name for ev in _start_order(problem) if ev not in kept]
    return f"Drop to avoid overlaps: {', '.join(dropped) or 'none'}. Total weighted duration {best.score}."


def _scan_lines(problem: Problem, best: Solution, running: bool = False, numbered: bool = False) -> list[str]:
    """The scan's event lines; ``running`` ends each keep line with the kept events so far, ``numbered`` leads each
    line with the event's number in start order (1, 2, ...) instead of a dash."""
    kept_set = set(best.events)
    free: int | None = None
    kept: list[str] = []
    lines = []
    for number, ev in enumerate(_start_order(problem), 1):
        head = _head(problem, ev, f"{number}." if numbered else "-")
        if ev in kept_set:
            free = ev.end
            kept.append(ev.name)
            so_far = f" Kept: {'; '.join(kept)}." if running else ""
            lines.append(f"{head} keep, free at {ev.end_hhmm}.{so_far}")
        elif free is not None and ev.start < free:
            lines.append(f"{head} starts before {format_time(free)}, drop.")
        else:
            lines.append(f"{head} {_drop_reason(problem, best, ev)}")
    return lines


def reasoning_scan(problem: Problem, best: Solution) -> str:
    """``v2`` with the running "free at" time: keep moves it, an event starting before it is dropped."""
    return "\n".join([*_scan_lines(problem, best), f"Total: {best.score}."])


def reasoning_recap(problem: Problem, best: Solution) -> str:
    """``scan`` with the kept events restated in schedule order before the total."""
    recap = [f"{ev.name} {ev.start_hhmm}-{ev.end_hhmm}" for ev in best.events]
    return "\n".join([*_scan_lines(problem, best), "Schedule:", *recap, f"Total: {best.score}."])


def reasoning_numbered(problem: Problem, best: Solution) -> str:
    """``recap`` whose event lines are numbered in start order and whose recap lines carry those numbers."""
    number = {ev: i for i, ev in enumerate(_start_order(problem), 1)}
    recap = [f"{number[ev]}. {ev.name} {ev.start_hhmm}-{ev.end_hhmm}" for ev in best.events]
    return "\n".join([*_scan_lines(problem, best, numbered=True), "Schedule:", *recap, f"Total: {best.score}."])


def reasoning_running(problem: Problem, best: Solution) -> str:
    """``scan`` with the running list of kept events on every keep line."""
    return "\n".join([*_scan_lines(problem, best, running=True), f"Total: {best.score}."])


@dataclass(frozen=True)
class DPTable:
    """The ``dp`` format's programme over the events in start order: for event ``i`` (0-based), ``nxt[i]`` the first
    event starting at or after its end (``len(events)``: none), ``take[i]`` whether taking it is at least as good as
    skipping it, ``best[i]`` the best total from it on (``best[len(events)] == 0``)."""

    events: tuple[Event, ...]
    nxt: tuple[int, ...]
    take: tuple[bool, ...]
    best: tuple[int, ...]


def dp_table(problem: Problem) -> DPTable:
    """Weighted interval scheduling from the last event back (a tie takes), as the ``dp`` think writes it."""
    events = _start_order(problem)
    starts = [ev.start for ev in events]
    n = len(events)
    best, nxt, take = [0] * (n + 1), [n] * n, [False] * n
    for i in range(n - 1, -1, -1):
        nxt[i] = bisect_left(starts, events[i].end, i + 1)
        with_it = problem.value(events[i]) + best[nxt[i]]
        take[i] = with_it >= best[i + 1]
        best[i] = with_it if take[i] else best[i + 1]
    return DPTable(tuple(events), tuple(nxt), tuple(take), tuple(best))


def _walk(table: DPTable) -> list[int]:
    """The events the walk from the first one visits: a take jumps to its ``next``, a skip to the event after it."""
    visited, i = [], 0
    while i < len(table.events):
        visited.append(i)
        i = table.nxt[i] if table.take[i] else i + 1
    return visited


def _plans(table: DPTable) -> list[list[int]]:
    """Each event's best set from it on (0-based numbers, the ``dpset`` lists): a take is the event and its ``next``'s
    set, a skip the set of the event after it; index ``len(events)`` is the empty set."""
    n = len(table.events)
    plans: list[list[int]] = [[] for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        plans[i] = [i, *plans[table.nxt[i]]] if table.take[i] else plans[i + 1]
    return plans


def dp_solution(problem: Problem) -> Solution:
    """The ``dp`` format's optimum: the events its walk takes, in chronological order."""
    table = dp_table(problem)
    return Solution(events=tuple(table.events[i] for i in _walk(table) if table.take[i]), score=table.best[0])


def _next_search(table: DPTable, i: int, at: str = " at ") -> str:
    """The search for event ``i``'s ``next`` (``dpcheck``, ``dplocal``, ``dpset``): each later event's start against
    its end, up to the first that starts at or after it (``13 at 16:07 yes``), or ``none``."""
    n, j = len(table.events), table.nxt[i]
    checks = [f"{k + 1}{at}{table.events[k].start_hhmm} no" for k in range(i + 1, j)]
    checks.append("none" if j == n else f"{j + 1}{at}{table.events[j].start_hhmm} yes")
    return ", ".join(checks)


def _programme_line(problem: Problem, table: DPTable, i: int, style: str, plan: list[int] | None = None) -> str:
    """Event ``i``'s line of the programme: how ``next`` is found depends on the format (``dp``: named;
    ``dpcheck``: searched, each start copied from the event list; ``dplocal`` and ``dpset``: searched, each line led
    by its event's times and value, so that the starts a search reads, the best it adds and the skip figure are all on
    the lines just above it). ``plan``: the events the line's best keeps (``dpset``), written at its end."""
    ev, j, n = table.events[i], table.nxt[i], len(table.events)
    value = problem.value(ev)
    if style == "dp":
        head = f"{i + 1}. ends {ev.end_hhmm}, next {'none' if j == n else j + 1}:"
    elif style == "dpcheck":
        head = f"{i + 1}. ends {ev.end_hhmm}; {_next_search(table, i)};"
    else:
        head = f"{i + 1}. {ev.start_hhmm}-{ev.end_hhmm}, {_value_text(problem, ev)}; {_next_search(table, i, ' ')};"
    choice = "take" if table.take[i] else "skip"
    keep = "" if plan is None else ", keep " + " ".join(str(k + 1) for k in plan)
    return (f"{head} take {value} + {table.best[j]} = {value + table.best[j]}, skip {table.best[i + 1]}: "
            f"{choice} {table.best[i]}{keep}.")


def reasoning_dp(problem: Problem, best: Solution, style: str = "dp") -> str:
    """The events numbered in start order, each one's best total from it on (last first), the walk, the schedule.
    ``style`` is the format (``dp``, ``dpcheck``, ``dplocal`` or ``dpset``): how each programme line finds its
    ``next``, and for ``dpset`` the set each line keeps in place of the walk."""
    table = dp_table(problem)
    n = len(table.events)
    lines = ["Events by start:"]
    for i, ev in enumerate(table.events):
        if style in ("dplocal", "dpset"):  # the value is worked out on the programme line, beside its times
            worth = ", priority" if problem.weight(ev.name) == PRIORITY_WEIGHT else ""
        else:
            worth = f", {_value_text(problem, ev)}"
        lines.append(f"{i + 1}. {ev.name} ({ev.start_hhmm}-{ev.end_hhmm}{worth})")
    lines.append("Best from each event, last first:")
    plans = _plans(table) if style == "dpset" else [None] * n
    lines += [_programme_line(problem, table, i, style, plans[i]) for i in range(n - 1, -1, -1)]
    if style != "dpset":  # dpset's schedule is line 1's set, written just above
        steps = []
        for i in _walk(table):
            if table.take[i]:
                steps.append(f"{i + 1} take -> {'end' if table.nxt[i] == n else table.nxt[i] + 1}")
            else:
                steps.append(f"{i + 1} skip")
        lines.append(f"Walk: {', '.join(steps)}.")
    lines.append("Schedule:")
    number = {ev: i + 1 for i, ev in enumerate(table.events)}
    lines += [f"{number[ev]}. {ev.name} {ev.start_hhmm}-{ev.end_hhmm}" for ev in best.events]
    lines.append(f"Total: {best.score}.")
    return "\n".join(lines)


def reasoning_dpcheck(problem: Problem, best: Solution) -> str:
    """``dp`` with each ``next`` found by an explicit search (``_next_search``)."""
    return reasoning_dp(problem, best, style="dpcheck")


def reasoning_dplocal(problem: Problem, best: Solution) -> str:
    """``dpcheck`` whose programme lines carry their own times and value, so every search reads the lines above."""
    return reasoning_dp(problem, best, style="dplocal")


def reasoning_dpset(problem: Problem, best: Solution) -> str:
    """``dplocal`` whose programme lines carry the set each one keeps, so no walk reads the lines back by number."""
    return reasoning_dp(problem, best, style="dpset")


THINK_FORMATS: dict[str, Callable[[Problem, Solution], str]] = {
    "v2": reasoning_v2,
    "short": reasoning_short,
    "scan": reasoning_scan,
    "recap": reasoning_recap,
    "running": reasoning_running,
    "numbered": reasoning_numbered,
    "dp": reasoning_dp,
    "dpcheck": reasoning_dpcheck,
    "dplocal": reasoning_dplocal,
    "dpset": reasoning_dpset,
}

# The optimum a format's think arrives at: the solver's, except where the format computes its own.
_SOLUTIONS: dict[str, Callable[[Problem], Solution]] = {
    "dp": dp_solution, "dpcheck": dp_solution, "dplocal": dp_solution, "dpset": dp_solution}


def _solution(problem: Problem, think: str) -> Solution:
    return _SOLUTIONS.get(think, solve)(problem)


def _format(think: str) -> Callable[[Problem, Solution], str]:
    try:
        return THINK_FORMATS[think]
    except KeyError:
        raise ValueError(f"Unknown think format {think!r}; choose from {', '.join(THINK_FORMATS)}.") from None


def reasoning(problem: Problem, think: str = DEFAULT_THINK) -> str:
    """The think text of the reference answer in format ``think``."""
    return _format(think)(problem, _solution(problem, think))


def render_schedule(events: list[Event] | tuple[Event, ...]) -> str:
    """The ``<schedule>`` block in the exact layout the prompt asks for."""
    parts = ["<schedule>"]
    for ev in events:
        parts += ["<event>", f"<name>{ev.name}</name>", f"<start>{ev.start_hhmm}</start>", f"<end>{ev.end_hhmm}</end>", "</event>"]
    parts.append("</schedule>")
    return "\n".join(parts)


def reference_answer(problem: Problem, think: str = DEFAULT_THINK) -> str:
    """``<think>…</think>`` + the optimal ``<schedule>``: valid with score 1.0 under the published rules and the
    full 100 under the default reward mode, whatever the think format."""
    fmt = _format(think)
    best = _solution(problem, think)
    return f"<think>\n{fmt(problem, best)}\n</think>\n{render_schedule(best.events)}"
