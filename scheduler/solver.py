"""Exact weighted interval scheduling: the optimal *schedule*, not only its score.

Convention (the dataset's ``optimal_score``): an event may start exactly when the previous one ends.

Tie-breaking is deterministic and independent of the order events are listed in: events are
processed sorted by (end, start, name) -- a total order, names being unique -- and where taking an
event and skipping it give the same total, it is skipped. So among optimal schedules the solver
returns the one the DP reaches by preferring to skip later-ending events.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from scheduler.events import Event, Problem


@dataclass(frozen=True)
class Solution:
    """An optimal schedule in chronological order and its total weighted duration."""

    events: tuple[Event, ...]
    score: int


def solve(problem: Problem) -> Solution:
    """Return an optimal schedule (O(n log n))."""
    jobs = sorted(problem.events, key=lambda e: (e.end, e.start, e.name))
    ends = [e.end for e in jobs]
    n = len(jobs)
    best = [0] * (n + 1)
    take = [False] * n
    prev = [0] * n
    for i, ev in enumerate(jobs):
        # Jobs 0..p-1 end at or before this one starts (touching allowed).
        p = bisect_right(ends, ev.start, 0, i)
        prev[i] = p
        value = problem.value(ev)
        with_it = best[p] + value
        if with_it > best[i]:
            best[i + 1] = with_it
            take[i] = True
        else:
            best[i + 1] = best[i]
    chosen = []
    i = n
    while i > 0:
        if take[i - 1]:
            chosen.append(jobs[i - 1])
            i = prev[i - 1]
        else:
            i -= 1
    chosen.reverse()
    return Solution(events=tuple(chosen), score=best[n])

