"""Problem datasets for SFT and GRPO, built from the core's generator or the canonical train split.

Every set used for training is checked here against the test splits (canonical and hard), on top
of the core's own guarantee (``generate_rows(..., exclude_test=True)``): a leak would make every
score we publish meaningless, so a second check at the point of use is cheap insurance.
"""

from __future__ import annotations

import random
from typing import Iterable, Mapping

import scheduler
from scheduler.generator import problem_key

SOURCES = ("generated", "train")
# name source -> (preset of canonical sizes, preset of hard sizes)
NAME_PRESETS = {"canonical": ("canonical", "hard"), "diverse": ("diverse", "diverse-hard"),
                "qualified": ("qualified", "qualified-hard"), "coined": ("coined", "coined-hard")}
GRPO_COLUMNS = ("events", "priority_events", "optimal_score")  # what the reward functions read
EVAL_SPLITS = ("test", "hard", "names")  # the canonical test split and the vendored hard and names splits


def _key(row: Mapping) -> tuple:
    return problem_key(scheduler.Problem.from_row(row))


def assert_disjoint_from_test(rows: Iterable[Mapping]) -> None:
    """Raise if any row is an evaluation problem (the core promises this never happens; we check)."""
    eval_keys = {_key(r) for split in EVAL_SPLITS for r in scheduler.load_split(split)}
    leaked = [r["prompt"] for r in rows if _key(r) in eval_keys]
    if leaked:
        raise AssertionError(
            f"{len(leaked)} training problem(s) are evaluation test problems; refusing to train. First:\n{leaked[0]}"
        )


def generated_rows(num_problems: int, seed: int, hard_fraction: float, name_source: str = "canonical") -> list[dict]:
    """``num_problems`` generated rows, ``hard_fraction`` of them of hard sizes, shuffled by ``seed``; names from
    ``name_source`` (``NAME_PRESETS``)."""
    if name_source not in NAME_PRESETS:
        raise ValueError(f"Unknown name source {name_source!r}; choose from {', '.join(NAME_PRESETS)}.")
    normal, hard = NAME_PRESETS[name_source]
    if num_problems < 1:
        raise ValueError(f"num_problems must be at least 1, got {num_problems}.")
    if not 0.0 <= hard_fraction <= 1.0:
        raise ValueError(f"hard_fraction must be within [0, 1], got {hard_fraction}.")
    n_hard = round(num_problems * hard_fraction)
    rows: list[dict] = []
    if num_problems - n_hard:
        rows += scheduler.generate_rows(num_problems - n_hard, seed=seed, preset=normal, exclude_test=True)
    if n_hard:
        rows += scheduler.generate_rows(n_hard, seed=seed, preset=hard, exclude_test=True)
    random.Random(seed).shuffle(rows)
    return rows


def problem_rows(source: str, num_problems: int, seed: int, hard_fraction: float,
                 name_source: str = "canonical") -> list[dict]:
    """Rows from the generator (``generated``) or the canonical 500-row train split (``train``), test-checked."""
    if source == "generated":
        rows = generated_rows(num_problems, seed, hard_fraction, name_source)
    elif source == "train":
        rows = [dict(r) for r in scheduler.load_split("train")]
        if num_problems and num_problems < len(rows):
            rows = random.Random(seed).sample(rows, num_problems)
    else:
        raise ValueError(f"Unknown problem source {source!r}; choose from {SOURCES}.")
    assert_disjoint_from_test(rows)
    return rows


def sft_example(row: Mapping, think: str = scheduler.reference.DEFAULT_THINK) -> dict:
    """Conversational prompt-completion: the published prompt and the solver's reference answer (``think`` format)."""
    problem = scheduler.Problem.from_row(row)
    return {
        "prompt": scheduler.build_messages(row["prompt"]),
        "completion": [{"role": "assistant", "content": scheduler.reference_answer(problem, think)}],
    }


def grpo_example(row: Mapping) -> dict:
    """Conversational prompt plus the columns the reward functions read."""
    example = {"prompt": scheduler.build_messages(row["prompt"])}
    example.update({col: row[col] for col in GRPO_COLUMNS})
    return example


def mix_summary(rows: Iterable[Mapping]) -> dict:
    """Counts for the model card: how many problems, and how many events they have."""
    sizes = [len(r["events"]) for r in rows]
    return {
        "problems": len(sizes),
        "events_min": min(sizes, default=0),
        "events_max": max(sizes, default=0),
        "events_mean": round(sum(sizes) / len(sizes), 2) if sizes else 0.0,
    }
