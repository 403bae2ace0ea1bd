"""The ready-made problems the page offers: the canonical test split, and the ``names`` and ``names-hard`` splits
when present.

``names`` holds 100 problems whose event names come only from a held-out pool (everyday names no training set
contains), ``names-hard`` 100 full days (10-16 events) of such names; a checkout without their ``data/`` files simply
does not offer them.
"""

from __future__ import annotations

from functools import lru_cache

from scheduler import Problem, SchedulerError, load_problems

SPLITS = {
    "test": "canonical test (the published evaluation's 100)",
    "names": "names (100 problems with everyday names no training set contains)",
    "names-hard": "names-hard (100 full days of 10-16 such events)",
}


@lru_cache(maxsize=None)
def _problems(split: str) -> tuple[Problem, ...]:
    return tuple(load_problems(split))


def available_splits() -> list[tuple[str, str]]:
    """(label, split) for each split this checkout has."""
    out = []
    for split, label in SPLITS.items():
        try:
            if _problems(split):
                out.append((label, split))
        except (SchedulerError, OSError, ValueError):
            continue  # e.g. data/names/ not in this checkout yet
    return out


def choices(split: str) -> list[tuple[str, int]]:
    """Dropdown choices for one split: a short label per row, the row index as value."""
    try:
        problems = _problems(split)
    except (SchedulerError, OSError, ValueError):
        return []
    return [(f"{split} #{i}: {len(p.events)} events, {p.events[0].name}...", i) for i, p in enumerate(problems)]


def problem(split: str, index: int | str | None) -> Problem:
    """Row ``index`` of ``split``; a SchedulerError with a sentence for anything else."""
    if split not in SPLITS:
        raise SchedulerError(f"There is no problem set {split!r} here; pick one of {', '.join(SPLITS)}.")
    try:
        problems = _problems(split)
    except (SchedulerError, OSError, ValueError):
        raise SchedulerError(f"The {split} problems are not in this checkout.") from None
    try:
        index = int(index)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SchedulerError(f"Pick a {split} problem from the list.") from None
    if not 0 <= index < len(problems):
        raise SchedulerError(f"There is no {split} problem #{index}; the split has {len(problems)}.")
    return problems[index]
