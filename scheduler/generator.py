"""A seeded generator of scheduling problems matching the canonical distribution, plus a harder preset.

Follows ``DATASET-SPEC.md`` (the canonical generator's distribution, in numbers) the reasoning-gym
way: a config dataclass with ranges and a ``validate()``, and item ``idx`` drawn from its own
``Random`` seeded by (preset, seed, idx) -- random access, deterministic, no global state.
Every row carries its optimal schedule. Rows equal to a canonical test problem (or a vendored hard,
names or names-hard test problem) are never produced: such a draw is rejected and drawn again.

Names come from the canonical 50 (``names="canonical"``) or from a pool of ``scheduler.names``
(``train`` / ``heldout``): 1-3 random groups of the pool per problem, names never repeated.

    python -m scheduler.generator --preset hard --n 100 --seed 2026 --out data/hard/test.jsonl
    python -m scheduler.generator --preset names --n 100 --seed 2026 --out data/names/test.jsonl
    python -m scheduler.generator --preset names-hard --n 100 --seed 2026 --out data/names-hard/test.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from scheduler.errors import SchedulerError
from scheduler.events import Event, Problem, overlaps
from scheduler.names import coin, name_pool, qualify
from scheduler.solver import solve

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
LAST_MINUTE = 23 * 60 + 59


@lru_cache(maxsize=1)
def event_names() -> dict[str, list[str]]:
    """The 5 categories x 10 names the canonical generator draws from."""
    with open(DATA_DIR / "event-names-by-category.json", encoding="utf-8") as f:
        return json.load(f)


@dataclass
class GeneratorConfig:
    """Ranges of one preset. ``mix_categories`` draws names from every category (needed above 10 events).

    ``names`` picks the name source: ``canonical`` (the 50 names), ``train`` or ``heldout`` (the pools of
    ``scheduler.names``); with a pool, ``canonical_name_probability`` of the problems still use canonical
    names, so a model trained on the pool keeps seeing the canonical style. ``qualifier_probability`` of a
    training pool's names get a trailing qualifier ("Gym (legs)", "Sync [remote]": ``scheduler.names.qualify``),
    and ``coined_probability`` of them a coined first word ("Brenvik the beds": ``scheduler.names.coin``).
    """

    min_events: int = 4
    max_events: int = 8
    durations: tuple[int, ...] = (15, 30, 45, 60, 75, 90, 105, 120)
    latest_start: int = 21 * 60 + 59
    overlap_probability: float = 0.2
    min_overlaps: int = 1
    max_overlap_ratio: float = 0.4
    min_priority_ratio: float = 0.2
    max_priority_ratio: float = 0.4
    mix_categories: bool = False
    names: str = "canonical"
    canonical_name_probability: float = 0.0
    qualifier_probability: float = 0.0
    coined_probability: float = 0.0
    max_attempts: int = 10_000

    def validate(self) -> None:
        if not 1 <= self.min_events <= self.max_events:
            raise SchedulerError(f"min_events ({self.min_events}) must be >= 1 and <= max_events ({self.max_events}).")
        pool = 50 if self.mix_categories else 10
        canonical_used = self.names == "canonical" or self.canonical_name_probability > 0
        if canonical_used and self.max_events > pool:
            raise SchedulerError(f"max_events ({self.max_events}) exceeds the {pool} names available; set mix_categories.")
        if not self.durations or min(self.durations) <= 0:
            raise SchedulerError("durations must be positive minutes.")
        if not 0.0 <= self.overlap_probability <= 1.0:
            raise SchedulerError("overlap_probability must be within [0, 1].")
        if not 0.0 <= self.min_priority_ratio <= self.max_priority_ratio <= 1.0:
            raise SchedulerError("priority ratios must satisfy 0 <= min <= max <= 1.")
        if self.names not in NAME_SOURCES:
            raise SchedulerError(f"names must be one of {list(NAME_SOURCES)}, not {self.names!r}.")
        if not 0.0 <= self.canonical_name_probability <= 1.0:
            raise SchedulerError("canonical_name_probability must be within [0, 1].")
        if not 0.0 <= self.qualifier_probability <= 1.0:
            raise SchedulerError("qualifier_probability must be within [0, 1].")
        if self.qualifier_probability and self.names != "train":
            raise SchedulerError("qualifier_probability applies to the training pool only (names='train').")
        if not 0.0 <= self.coined_probability <= 1.0:
            raise SchedulerError("coined_probability must be within [0, 1].")
        if self.coined_probability and self.names != "train":
            raise SchedulerError("coined_probability applies to the training pool only (names='train').")
        if self.names != "canonical":
            smallest = min(len(names) for names in name_pool(self.names).values())
            if self.max_events > smallest:
                raise SchedulerError(
                    f"max_events ({self.max_events}) exceeds the {smallest} names of the {self.names!r} pool's smallest group."
                )


NAME_SOURCES = ("canonical", "train", "heldout")


PRESETS: dict[str, GeneratorConfig] = {
    # The canonical distribution (DATASET-SPEC.md).
    "canonical": GeneratorConfig(),
    # Harder: 10-16 events over the same day, more deliberate conflicts, more allowed overlapping pairs.
    "hard": GeneratorConfig(
        min_events=10, max_events=16, overlap_probability=0.45, min_overlaps=4, max_overlap_ratio=1.2,
        mix_categories=True,
    ),
    # Canonical sizes, names people write (the train pool); a quarter of the problems keep canonical names.
    "diverse": GeneratorConfig(names="train", canonical_name_probability=0.25),
    # The hard preset's sizes with the same name mix.
    "diverse-hard": GeneratorConfig(
        min_events=10, max_events=16, overlap_probability=0.45, min_overlaps=4, max_overlap_ratio=1.2,
        mix_categories=True, names="train", canonical_name_probability=0.25,
    ),
    # The names split: canonical sizes, held-out names only (never seen in training).
    "names": GeneratorConfig(names="heldout"),
}
# The diverse presets with a trailing qualifier on 15% of the pool's names (training only).
PRESETS["qualified"] = replace(PRESETS["diverse"], qualifier_probability=0.15)
PRESETS["qualified-hard"] = replace(PRESETS["diverse-hard"], qualifier_probability=0.15)
# The qualified presets with a coined first word on 15% of the pool's names as well (training only).
PRESETS["coined"] = replace(PRESETS["qualified"], coined_probability=0.15)
PRESETS["coined-hard"] = replace(PRESETS["qualified-hard"], coined_probability=0.15)
# A long day of names no training set uses: the hard preset's sizes and conflicts, held-out names only (evaluation only:
# what a person pasting a full day of their own meets).
PRESETS["names-hard"] = replace(PRESETS["hard"], names="heldout")
VENDORED_TESTS = (
    DATA_DIR / "events-scheduling" / "test.jsonl",
    DATA_DIR / "hard" / "test.jsonl",
    DATA_DIR / "names" / "test.jsonl",
    DATA_DIR / "names-hard" / "test.jsonl",
)


def problem_key(problem: Problem) -> tuple:
    """Identity of a problem regardless of listing order."""
    return (frozenset(ev.as_strings() for ev in problem.events), problem.priorities)


@lru_cache(maxsize=1)
def _excluded_keys() -> frozenset:
    keys = set()
    for path in VENDORED_TESTS:
        if path.exists():
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        keys.add(problem_key(Problem.from_row(json.loads(line))))
    return frozenset(keys)


def _count_overlaps(events: list[Event]) -> int:
    """Overlapping pairs by the canonical filter's test, in which touching counts."""
    return sum(
        1
        for i in range(len(events))
        for j in range(i + 1, len(events))
        if overlaps(events[i].start, events[i].end, events[j].start, events[j].end, touching=True)
    )


def _pool_names(rng: random.Random, pool: str) -> list[str]:
    """The names of 1-3 random groups of a pool (``validate`` ensures one group suffices)."""
    groups = name_pool(pool)
    chosen = rng.sample(sorted(groups), rng.randint(1, min(3, len(groups))))
    return list(dict.fromkeys(name for group in chosen for name in groups[group]))


def _draw(rng: random.Random, cfg: GeneratorConfig) -> Problem:
    names_by_cat = event_names()
    for _ in range(cfg.max_attempts):
        # The canonical test short-circuits, so canonical presets draw exactly what they always drew.
        if cfg.names != "canonical" and rng.random() >= cfg.canonical_name_probability:
            pool = _pool_names(rng, cfg.names)
            if cfg.qualifier_probability:
                pool = list(dict.fromkeys(qualify(n, rng) if rng.random() < cfg.qualifier_probability else n for n in pool))
            if cfg.coined_probability:
                pool = list(dict.fromkeys(coin(n, rng) if rng.random() < cfg.coined_probability else n for n in pool))
        elif cfg.mix_categories:
            pool = [n for names in names_by_cat.values() for n in names]
        else:
            pool = list(names_by_cat[rng.choice(sorted(names_by_cat))])
        n = rng.randint(cfg.min_events, cfg.max_events)
        events: list[Event] = []
        for i in range(n):
            name = pool.pop(rng.randrange(len(pool)))
            while True:
                duration = rng.choice(cfg.durations)
                if i > 0 and rng.random() < cfg.overlap_probability:
                    other = rng.choice(events)
                    start = rng.randint(other.start, other.end - 1)
                else:
                    start = rng.randint(0, cfg.latest_start)
                if start + duration <= LAST_MINUTE:  # every event ends the same day
                    break
            events.append(Event(name, start, start + duration))
        overlaps = _count_overlaps(events)
        if not cfg.min_overlaps <= overlaps <= cfg.max_overlap_ratio * n:
            continue
        lo = max(1, int(n * cfg.min_priority_ratio))
        hi = max(lo, int(n * cfg.max_priority_ratio))
        priorities = [ev.name for ev in rng.sample(events, rng.randint(lo, hi))]
        events.sort(key=lambda e: (e.start, e.end, e.name))
        return Problem.create(events, priorities)
    raise SchedulerError("The generator could not satisfy its overlap constraints; loosen the preset.")


def generate_problem(idx: int, seed: int = 0, preset: str | GeneratorConfig = "canonical", exclude_test: bool = True) -> Problem:
    """Problem number ``idx`` of a (preset, seed) stream; the same arguments always give the same problem."""
    cfg = PRESETS[preset] if isinstance(preset, str) else preset
    name = preset if isinstance(preset, str) else "custom"
    rng = random.Random(f"{name}:{seed}:{idx}")
    excluded = _excluded_keys() if exclude_test else frozenset()
    while True:
        problem = _draw(rng, cfg)
        if problem_key(problem) not in excluded:
            return problem


def problem_to_row(problem: Problem) -> dict:
    """Dataset columns plus ``optimal_schedule`` ([name, start, end] triples in order)."""
    solution = solve(problem)
    return {
        "events": [list(ev.as_strings()) for ev in problem.events],
        "priority_events": list(problem.priority_order),
        "optimal_score": solution.score,
        "prompt": problem.to_prompt(),
        "optimal_schedule": [list(ev.as_strings()) for ev in solution.events],
    }


def generate_rows(n: int, seed: int = 0, preset: str | GeneratorConfig = "canonical", exclude_test: bool = True, start: int = 0) -> list[dict]:
    """``n`` rows of a preset; never a canonical (or vendored hard) test problem when ``exclude_test``."""
    cfg = PRESETS.get(preset) if isinstance(preset, str) else preset
    if cfg is None:
        raise SchedulerError(f"Unknown generator preset {preset!r}; choose from {sorted(PRESETS)}.")
    cfg.validate()
    return [problem_to_row(generate_problem(i, seed, preset, exclude_test)) for i in range(start, start + n)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate scheduling problems as JSONL.")
    parser.add_argument("--preset", default="canonical", choices=sorted(PRESETS))
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="-", help="output JSONL path, or - for stdout")
    parser.add_argument("--no-exclude", action="store_true", help="do not exclude vendored test problems")
    args = parser.parse_args(argv)
    rows = generate_rows(args.n, args.seed, args.preset, exclude_test=not args.no_exclude)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        tmp = f"{args.out}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, args.out)
        print(f"wrote {len(rows)} {args.preset} rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
