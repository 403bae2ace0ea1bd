"""Splits: the canonical dataset (hub first when it answers quickly, else the vendored copy) and ours.

- ``train`` / ``test``: ``anakin87/events-scheduling`` (Apache-2.0), vendored in ``data/events-scheduling``.
- ``hard``: 100 problems of the generator's hard preset (10-16 events), vendored in ``data/hard``
  so the split never moves when the generator changes.
- ``names``: 100 problems of canonical size (4-8 events) whose names come only from the held-out
  name pool (``scheduler.names``), vendored in ``data/names``: names no training set contains.
- ``names-hard``: 100 problems of the hard preset's sizes (10-16 events) with held-out names only, vendored in
  ``data/names-hard``: a person's own full day, the longest answers any split asks for.

The hub is tried only when ``HF_HUB_OFFLINE`` is unset and it answers within a couple of seconds.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from scheduler.errors import SchedulerError
from scheduler.events import Problem

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
HUB_DATASET = "anakin87/events-scheduling"
LOCAL_SPLITS = {
    "train": DATA_DIR / "events-scheduling" / "train.jsonl",
    "test": DATA_DIR / "events-scheduling" / "test.jsonl",
    "hard": DATA_DIR / "hard" / "test.jsonl",
    "names": DATA_DIR / "names" / "test.jsonl",
    "names-hard": DATA_DIR / "names-hard" / "test.jsonl",
}
HUB_SPLITS = ("train", "test")
COLUMNS = ("events", "priority_events", "optimal_score", "prompt")


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


@lru_cache(maxsize=1)
def _hub_answers(timeout: float = 2.0) -> bool:
    if _offline():
        return False
    try:
        from huggingface_hub import HfApi

        HfApi().dataset_info(HUB_DATASET, timeout=timeout)
        return True
    except Exception:  # any failure (no network, no package, rate limit) means: use the local copy
        return False


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


@lru_cache(maxsize=8)
def _load(name: str, prefer_hub: bool) -> tuple[dict, ...]:
    if prefer_hub and name in HUB_SPLITS and _hub_answers():
        try:
            import datasets

            ds = datasets.load_dataset(HUB_DATASET, split=name)
            return tuple({k: row[k] for k in COLUMNS} for row in ds)
        except Exception:
            pass  # fall through to the vendored copy
    path = LOCAL_SPLITS.get(name)
    if path is None:
        raise SchedulerError(f"Unknown split {name!r}; choose from {sorted(LOCAL_SPLITS)} or give a .jsonl path.")
    if not path.exists():
        raise SchedulerError(f"The split {name!r} should be at {path}, which is missing.")
    return tuple(read_jsonl(path))


def load_split(name: str, prefer_hub: bool = True) -> list[dict]:
    """Rows (dicts with the dataset's columns) of a named split or of a ``.jsonl`` file path."""
    if name.endswith(".jsonl"):
        if not Path(name).exists():
            raise SchedulerError(f"No such split file: {name}.")
        return read_jsonl(name)
    return [dict(row) for row in _load(name, prefer_hub)]


def load_problems(name: str, prefer_hub: bool = True) -> list[Problem]:
    return [Problem.from_row(row) for row in load_split(name, prefer_hub)]

