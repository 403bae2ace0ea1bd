"""Rewards for GRPO (TRL reward functions) and the per-completion breakdown the app and eval show.

Three parts, as in the original project: format (10), chronological order (20) and score
(70 x achieved / optimal). Two modes differ only in what counts as an overlap in the score part:

- ``compat`` reproduces the original training rewards exactly. Their overlap test counted *touching*
  events (one ends 10:00, the next starts 10:00) as overlapping, and dropped both events of every
  overlapping pair before scoring -- while the published evaluation and the dataset's optimum allow
  touching events. So under ``compat`` an optimal schedule with touching events scores below 70.
- ``default`` uses one convention everywhere (the solver's and the evaluation's): touching is
  allowed. The optimal schedule always earns the full 100.

Every function here accepts any string (or conversational completion) and never raises.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, Sequence

from scheduler.dp_check import programme_share
from scheduler.errors import SchedulerError
from scheduler.parsing import completion_text, extract_events, parse_completion, strict_format_ok
from scheduler.events import Problem, clock_minutes, overlaps, weight
from scheduler.scoring import judge, problem_strings

FORMAT_POINTS = 10.0
ORDER_POINTS = 20.0
SCORE_POINTS = 70.0
PROGRAMME_POINTS = 30.0
MODES = ("default", "compat")


def _overlapping_pairs(spans: list[tuple[str, int, int]], touching: bool) -> list[tuple[tuple, tuple]]:
    """Every pair of (name, start, end) spans that overlap under the mode's convention."""
    return [(a, b) for i, a in enumerate(spans) for b in spans[i + 1 :] if overlaps(a[1], a[2], b[1], b[2], touching=touching)]


def format_points(text: str) -> float:
    return FORMAT_POINTS if strict_format_ok(text) else 0.0


def order_points(scheduled: Sequence[tuple[str, str, str]]) -> float:
    """20 when at least two events are listed with strictly increasing start times."""
    if len(scheduled) < 2:
        return 0.0
    starts = [clock_minutes(s) for _, s, _ in scheduled]
    return ORDER_POINTS if all(starts[i] < starts[i + 1] for i in range(len(starts) - 1)) else 0.0


def score_points(
    scheduled: Sequence[tuple[str, str, str]],
    events: Iterable,
    priorities: Iterable[str],
    optimal: float,
    mode: str = "default",
) -> tuple[float, list[tuple[str, str]]]:
    """70 x (weighted duration of the non-overlapping scheduled events) / optimal, and the overlapping pairs.

    Any unknown event or fewer than two distinct known events gives 0 (not a schedule). Both events
    of each overlapping pair are dropped, so overlaps cost more than they gain.
    """
    known = problem_strings(events)
    existing = {ev for ev in scheduled if ev in known}
    if len(existing) < len(scheduled) or len(existing) < 2 or not optimal or optimal <= 0:
        return 0.0, []
    spans = sorted((name, clock_minutes(s), clock_minutes(e)) for name, s, e in existing)
    clashes = _overlapping_pairs(spans, touching=mode == "compat")
    clashing = {span for pair in clashes for span in pair}
    pairs = [(a[0], b[0]) for a, b in clashes]
    prio = set(priorities)
    achieved = sum(weight(n, prio) * (e - s) for n, s, e in spans if (n, s, e) not in clashing)
    return SCORE_POINTS * achieved / optimal, pairs


def _columns(kwargs: dict, n: int) -> tuple[list, list, list]:
    def col(name):
        value = kwargs.get(name)
        return list(value) if isinstance(value, (list, tuple)) and len(value) == n else [None] * n

    return col("events"), col("priority_events"), col("optimal_score")


def format_reward(completions: list, **kwargs) -> list[float]:
    """10 when the completion has the full ``<think>…</think><schedule><event>…`` format."""
    return [format_points(completion_text(c)) for c in completions]


def order_reward(completions: list, **kwargs) -> list[float]:
    """20 when the scheduled events are in strictly increasing start order."""
    return [order_points(extract_events(completion_text(c))) for c in completions]


def _score_reward(completions: list, mode: str, kwargs: dict) -> list[float]:
    events, priorities, optimal = _columns(kwargs, len(completions))
    out = []
    for c, ev, pr, opt in zip(completions, events, priorities, optimal):
        try:
            points, _ = score_points(extract_events(completion_text(c)), ev or [], pr or [], float(opt or 0), mode)
        except (TypeError, ValueError):
            points = 0.0
        out.append(points)
    return out


def score_reward(completions: list, **kwargs) -> list[float]:
    """70 x weighted duration / optimal; overlapping events dropped (touching allowed)."""
    return _score_reward(completions, "default", kwargs)


def score_reward_compat(completions: list, **kwargs) -> list[float]:
    """The original score reward: as ``score_reward`` but touching events count as overlapping."""
    return _score_reward(completions, "compat", kwargs)


def exact_reward(completions: list, **kwargs) -> list[float]:
    """70 x the published score: achieved / optimal for a valid schedule, 0 for any broken rule.

    Aimed at what the SFT models still get wrong (two overlapping events kept, a name not written exactly
    as in the problem): ``score`` drops only the overlapping pair and keeps the rest, this gives nothing.
    It cannot be gamed: only a valid schedule earns, and only the optimum earns all 70.
    """
    events, priorities, optimal = _columns(kwargs, len(completions))
    out = []
    for c, ev, pr, opt in zip(completions, events, priorities, optimal):
        try:
            out.append(SCORE_POINTS * judge(c, ev or [], pr or [], float(opt or 0)).score)
        except (TypeError, ValueError, ZeroDivisionError):
            out.append(0.0)
    return out


def programme_reward(completions: list, **kwargs) -> list[float]:
    """30 x how far a dp-format think holds (``scheduler.dp_check.programme_share``: its programme lines right before
    its first wrong step, the walk (``dpset``: its sets) and schedule as one more); 0 for a think in no dp format.

    For GRPO of a ``dp``, ``dpcheck``, ``dplocal`` or ``dpset`` model, whose wrong answers go wrong at one copied step
    deep in a long think: the outcome rewards say only that something failed, this says how far the programme held. It cannot
    be gamed: each line is checked against the problem itself and the lines above it, and only a programme right to
    its end (its walk and schedule included) earns all 30.
    """
    events, priorities, _ = _columns(kwargs, len(completions))
    out = []
    for c, ev, pr in zip(completions, events, priorities):
        try:
            problem = Problem.from_row({"events": ev or [], "priority_events": pr or []})
            out.append(PROGRAMME_POINTS * programme_share(problem, c))
        except SchedulerError:
            out.append(0.0)
    return out


REWARD_REGISTRY: dict[str, Callable[..., list[float]]] = {
    "format": format_reward,
    "order": order_reward,
    "score": score_reward,
    "score_compat": score_reward_compat,
    "exact": exact_reward,
    "programme": programme_reward,
}


def reward_funcs(mode: str = "default", names: Sequence[str] | None = None) -> list[Callable[..., list[float]]]:
    """The three reward functions of a mode, or those named (keys of ``REWARD_REGISTRY``)."""
    if names:
        unknown = [n for n in names if n not in REWARD_REGISTRY]
        if unknown:
            raise ValueError(f"Unknown reward function(s) {unknown}; choose from {sorted(REWARD_REGISTRY)}.")
        return [REWARD_REGISTRY[n] for n in names]
    if mode not in MODES:
        raise ValueError(f"Unknown reward mode {mode!r}; choose from {MODES}.")
    return [format_reward, order_reward, score_reward if mode == "default" else score_reward_compat]


@dataclass
class Breakdown:
    """Everything about one completion that the app and the eval display."""

    mode: str
    format_reward: float
    order_reward: float
    score_reward: float
    total: float
    verdict: str  # published-rules verdict
    score: float  # published-rules score (0..1)
    achieved: int  # weighted duration of the schedule when valid
    optimal: int
    has_think: bool
    strict_format: bool
    lenient_format: bool
    think: str | None = None
    scheduled: list[tuple[str, str, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # scheduled events that exist in the problem
    unknown: list[tuple[str, str, str]] = field(default_factory=list)  # not (name, start, end) of the problem
    duplicates: list[str] = field(default_factory=list)
    out_of_order: list[str] = field(default_factory=list)  # events starting no later than the one before
    overlapping: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # problem events not in the schedule
    failed_rules: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("scheduled", "unknown", "overlapping"):
            d[key] = [list(x) for x in d[key]]
        return d


def breakdown(text: object, problem, mode: str = "default", optimal: int | None = None) -> Breakdown:
    """Reward parts, the published verdict and what went wrong, for one completion; never raises on text."""
    from scheduler.solver import solve

    if mode not in MODES:
        raise ValueError(f"Unknown reward mode {mode!r}; choose from {MODES}.")
    parsed = parse_completion(text)
    optimal = solve(problem).score if optimal is None else optimal
    known = {ev.as_strings() for ev in problem.events}
    scheduled = parsed.events
    fmt = FORMAT_POINTS if parsed.strict_format else 0.0
    order = order_points(scheduled)
    score, pairs = score_points(scheduled, problem.events, problem.priorities, optimal, mode)
    verdict = judge(parsed.text, problem.events, problem.priorities, optimal)

    seen: set = set()
    duplicates = []
    for ev in scheduled:
        if ev in seen and ev[0] not in duplicates:
            duplicates.append(ev[0])
        seen.add(ev)
    out_of_order = []
    for prev, cur in zip(scheduled, scheduled[1:]):
        if clock_minutes(cur[1]) <= clock_minutes(prev[1]):
            out_of_order.append(cur[0])
    # Overlaps are reported for every known event, even when the score part is 0 for another reason.
    spans = sorted({(n, clock_minutes(s), clock_minutes(e)) for n, s, e in scheduled if (n, s, e) in known})
    overlapping = pairs or [(a[0], b[0]) for a, b in _overlapping_pairs(spans, mode == "compat")]
    kept_names = {ev[0] for ev in scheduled if ev in known}
    failed = []
    if not parsed.strict_format:
        failed.append("format")
    if order == 0.0:
        failed.append("order")
    if verdict.verdict != "valid":
        failed.append(verdict.verdict)
    return Breakdown(
        mode=mode,
        format_reward=fmt,
        order_reward=order,
        score_reward=score,
        total=fmt + order + score,
        verdict=verdict.verdict,
        score=verdict.score,
        achieved=verdict.achieved,
        optimal=optimal,
        has_think=parsed.think is not None,
        strict_format=parsed.strict_format,
        lenient_format=parsed.lenient_format,
        think=parsed.think,
        scheduled=list(scheduled),
        kept=[ev[0] for ev in scheduled if ev in known],
        unknown=[ev for ev in scheduled if ev not in known],
        duplicates=duplicates,
        out_of_order=out_of_order,
        overlapping=overlapping,
        dropped=[ev.name for ev in problem.events if ev.name not in kept_names],
        failed_rules=failed,
    )
