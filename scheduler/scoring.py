"""Scoring completions with the published evaluation's rules, and aggregating a run.

Precedence (the published ``eval.py``): lenient format check fails -> ``format_error``; fewer than 2
events -> ``less_than_2_events``; an event not exactly (name, start, end) in the problem, or the same
event twice -> ``non_existing``; start times not strictly increasing -> ``unsorted``; two events
overlapping (touching allowed) -> ``overlaps``; else ``valid`` with score = sum(weight x duration) /
optimal. Invalid answers score 0; a run's mean score is reported x100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

from scheduler.events import clock_minutes, overlaps, weight
from scheduler.parsing import completion_text, extract_events, lenient_format_ok

VERDICTS = ("format_error", "less_than_2_events", "non_existing", "unsorted", "overlaps", "valid")
# Metric names of a run, in the published order of the failure counts.
FAILURE_KEYS = {
    "format_error": "format_errors",
    "less_than_2_events": "less_than_2_events",
    "non_existing": "non_existing",
    "unsorted": "unsorted",
    "overlaps": "overlaps",
    "valid": "valid_schedules",
}


@dataclass(frozen=True)
class Verdict:
    """How one completion fares under the published rules."""

    verdict: str
    score: float  # achieved / optimal for valid schedules, else 0.0
    achieved: int = 0
    optimal: int = 0

    @property
    def valid(self) -> bool:
        return self.verdict == "valid"


def problem_strings(events: Iterable) -> set[tuple[str, str, str]]:
    """The problem's events as (name, "HH:MM", "HH:MM") triples, from Event objects or dataset lists."""
    out = set()
    for ev in events:
        if hasattr(ev, "as_strings"):
            out.add(ev.as_strings())
        elif isinstance(ev, (list, tuple)) and len(ev) == 3:
            out.add((str(ev[0]), str(ev[1]), str(ev[2])))
    return out


def judge(
    text: object,
    events: Iterable,
    priorities: Iterable[str],
    optimal: int | float,
) -> Verdict:
    """Published-rules verdict from raw columns (events as triples or Event objects); never raises."""
    text = completion_text(text)
    if not lenient_format_ok(text):
        return Verdict("format_error", 0.0, 0, int(optimal or 0))
    scheduled = extract_events(text)
    if len(scheduled) < 2:
        return Verdict("less_than_2_events", 0.0, 0, int(optimal or 0))
    known = problem_strings(events)
    if len(set(scheduled)) < len(scheduled) or any(ev not in known for ev in scheduled):
        return Verdict("non_existing", 0.0, 0, int(optimal or 0))
    spans = [(name, clock_minutes(s), clock_minutes(e)) for name, s, e in scheduled]
    if any(spans[i][1] >= spans[i + 1][1] for i in range(len(spans) - 1)):
        return Verdict("unsorted", 0.0, 0, int(optimal or 0))
    for i in range(len(spans)):
        for j in range(i + 1, len(spans)):
            if overlaps(spans[i][1], spans[i][2], spans[j][1], spans[j][2]):
                return Verdict("overlaps", 0.0, 0, int(optimal or 0))
    prio = set(priorities)
    achieved = sum(weight(name, prio) * (end - start) for name, start, end in spans)
    score = achieved / optimal if optimal else 0.0
    return Verdict("valid", score, achieved, int(optimal))


def score_completion(text: object, problem) -> Verdict:
    """Published-rules verdict of a completion for a ``Problem`` (optimal from the exact solver)."""
    from scheduler.solver import solve

    return judge(text, problem.events, problem.priorities, solve(problem).score)


def score_row(text: object, row: Mapping) -> Verdict:
    """Published-rules verdict against a dataset row (uses the row's own ``optimal_score``)."""
    return judge(text, row.get("events", []), row.get("priority_events", []), row.get("optimal_score", 0))


def aggregate(verdicts: Iterable[Verdict]) -> dict:
    """A run's metrics: each failure count, valid schedules, mean score x100 and its standard error."""
    verdicts = list(verdicts)
    counts = {key: 0 for key in FAILURE_KEYS.values()}
    for v in verdicts:
        counts[FAILURE_KEYS[v.verdict]] += 1
    n = len(verdicts)
    scores = [v.score * 100 for v in verdicts]
    mean = sum(scores) / n if n else 0.0
    if n > 1:
        var = sum((s - mean) ** 2 for s in scores) / (n - 1)
        stderr = math.sqrt(var / n)
    else:
        stderr = 0.0
    return {**counts, "mean_score": mean, "mean_score_stderr": stderr, "n": n}
