"""The reference answer for a problem: a short ``<think>`` and the solver's optimal schedule.

This is the cold-start SFT target and the "solver" lane of the app. The reasoning is deliberately
short (small models learn short reasoning better): the events that conflict are grouped (a group is
a run of events linked by overlaps; groups never share time, so the optimum is the union of each
group's optimum), and for each group it states the weighted values, what is kept and what is dropped.
"""

from __future__ import annotations

from scheduler.events import Event, Problem
from scheduler.solver import solve


def conflict_groups(problem: Problem) -> list[list[Event]]:
    """Events in start order, split into maximal runs linked by (strict) overlaps."""
    groups: list[list[Event]] = []
    reach = -1
    for ev in sorted(problem.events, key=lambda e: (e.start, e.end, e.name)):
        if groups and ev.start < reach:
            groups[-1].append(ev)
            reach = max(reach, ev.end)
        else:
            groups.append([ev])
            reach = ev.end
    return groups


def _value_text(problem: Problem, ev: Event) -> str:
    if problem.weight(ev.name) == 2:
        return f"2x{ev.duration}={problem.value(ev)}"
    return str(ev.duration)


def reasoning(problem: Problem) -> str:
    """The think text: one line per conflict group, then the total."""
    best = set(solve(problem).events)
    lines = []
    for group in conflict_groups(problem):
        if len(group) < 2:
            continue
        members = ", ".join(f"{ev.name} ({ev.start_hhmm}-{ev.end_hhmm}, {_value_text(problem, ev)})" for ev in group)
        kept = [ev for ev in group if ev in best]
        dropped = [ev for ev in group if ev not in best]
        kept_value = sum(problem.value(ev) for ev in kept)
        dropped_value = sum(problem.value(ev) for ev in dropped)
        lines.append(
            f"Conflict: {members}. Keep {' + '.join(ev.name for ev in kept)} = {kept_value}; "
            f"drop {' + '.join(ev.name for ev in dropped)} = {dropped_value}."
        )
    if not lines:
        lines.append("No conflicts: keep every event.")
    lines.append(f"Total: {solve(problem).score}.")
    return "\n".join(lines)


def render_schedule(events: list[Event] | tuple[Event, ...]) -> str:
    """The ``<schedule>`` block in the exact layout the prompt asks for."""
    parts = ["<schedule>"]
    for ev in events:
        parts += ["<event>", f"<name>{ev.name}</name>", f"<start>{ev.start_hhmm}</start>", f"<end>{ev.end_hhmm}</end>", "</event>"]
    parts.append("</schedule>")
    return "\n".join(parts)


def reference_answer(problem: Problem) -> str:
    """``<think>…</think>`` + the optimal ``<schedule>``: a completion that is valid with score 1.0 under the published rules and earns the full 100 under the default reward mode."""
    return f"<think>\n{reasoning(problem)}\n</think>\n{render_schedule(solve(problem).events)}"
