"""The leaderboard: every run in ``results/`` plus the published reference rows, as one DataFrame.

    python -m eval.leaderboard [--results-dir results] [--split test]

Measured rows come from ``results/*/config.json`` + ``metrics.json`` (``source="measured"``). The
published rows are the original write-up's figures on the canonical test split, sampled once per
prompt at vLLM's default temperature 1.0: not measured here, and not comparable with greedy runs
without saying so (the ``temperature`` column is there for that).
"""

from __future__ import annotations

import argparse
import math
import sys
from functools import lru_cache
from pathlib import Path

import pandas as pd

from eval.results import read_json, weights_sha256
from scheduler import SchedulerError

FAILURE_COLUMNS = ["format_errors", "less_than_2_events", "non_existing", "unsorted", "overlaps"]
COLUMNS = [
    "model", "size", "adapter", "shipped", "split", "valid", "n", "mean_score", "stderr", *FAILURE_COLUMNS,
    "temperature", "samples", "date", "source", "run",
]
NUMERIC = ["valid", "n", "mean_score", "stderr", *FAILURE_COLUMNS, "temperature", "samples"]
PUBLISHED_SOURCE = "published (original write-up)"
PUBLISHED = [
    {"model": "Qwen2.5-Coder-7B-Instruct", "size": "7B", "valid": 9, "mean_score": 8.05},
    {"model": "Qwen2.5-Coder-14B-Instruct", "size": "14B", "valid": 48, "mean_score": 45.85},
    {"model": "qwen-scheduler-7b-grpo", "size": "7B", "valid": 62, "mean_score": 58.54},
]


def published_rows() -> list[dict]:
    return [
        {**row, "adapter": None, "shipped": False, "split": "test", "n": 100, "stderr": math.nan,
         **{c: math.nan for c in FAILURE_COLUMNS}, "temperature": 1.0, "samples": 1, "date": None,
         "source": PUBLISHED_SOURCE, "run": None}
        for row in PUBLISHED
    ]


@lru_cache(maxsize=1)
def shipped_hashes() -> frozenset[str]:
    """sha256 of the weights each preset ships in this checkout (its tuned adapter): a run is the shipped
    model's when it evaluated these exact weights, whatever folder they were in then."""
    from models.specs import PRESETS

    found = (weights_sha256(p.tuned_candidate.adapter) for p in PRESETS.values() if p.tuned_candidate.adapter)
    return frozenset(h for h in found if h)


def measured_row(run_dir: Path) -> dict | None:
    """One run's row, or None for a folder that is not a finished run (still running, or killed)."""
    config, metrics = read_json(run_dir / "config.json"), read_json(run_dir / "metrics.json")
    if not config or not metrics or not metrics.get("complete"):
        return None
    sampling = config.get("sampling", {})
    model = config.get("model") or ""
    hashes = config.get("weights_sha256") or {}
    return {
        # a model evaluated from a folder (a full fine-tune on the GPU machine): its folder's name, unless model_label
        # tells apart runs whose folders there had one name
        "model": config.get("model_label") or (Path(model).name if model.startswith("/") else model),
        "size": config.get("size"),
        "shipped": bool({hashes.get("adapter"), hashes.get("model")} & shipped_hashes()),
        # adapter_label names an adapter trained and evaluated on another machine (its path there says little)
        "adapter": config.get("adapter_label") or (Path(config["adapter"]).name if config.get("adapter") else None),
        "split": config.get("split"), "valid": metrics["valid_schedules"], "n": metrics["n"],
        "mean_score": metrics["mean_score"], "stderr": metrics["mean_score_stderr"],
        **{c: metrics[c] for c in FAILURE_COLUMNS},
        "temperature": sampling.get("temperature"), "samples": config.get("samples", 1),
        "date": (config.get("date") or "")[:10] or None, "source": "measured", "run": run_dir.name,
    }


def leaderboard(results_dir: str | Path = "results", include_published: bool = True, split: str | None = None) -> pd.DataFrame:
    """All finished runs (and the published rows), best mean score first within each split."""
    root = Path(results_dir)
    rows = [row for d in sorted(root.iterdir()) if d.is_dir() and (row := measured_row(d))] if root.is_dir() else []
    if include_published:
        rows += published_rows()
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame[NUMERIC] = frame[NUMERIC].apply(pd.to_numeric, errors="coerce")
    if split is not None:
        frame = frame[frame["split"] == split]
    return frame.sort_values(["split", "mean_score"], ascending=[True, False], kind="stable").reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--split", default=None, help="only this split (test, hard, ...)")
    args = parser.parse_args(argv)
    try:
        frame = leaderboard(args.results_dir)
    except SchedulerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.split is not None:
        known = sorted(s for s in frame["split"].dropna().unique() if s)
        if args.split not in known:
            print(f"error: no finished run on the split {args.split!r}; the splits with runs are: "
                  f"{', '.join(known) or 'none yet'}.", file=sys.stderr)
            return 2
        frame = frame[frame["split"] == args.split].reset_index(drop=True)
    print(format_table(frame))
    return 0


INTEGER_COLUMNS = ["valid", "n", *FAILURE_COLUMNS, "samples"]


def format_table(frame: pd.DataFrame) -> str:
    """The table as text: counts as whole numbers, scores with two decimals, '-' where nothing is known."""
    shown = frame.drop(columns=["run"]).astype(object)
    for column in INTEGER_COLUMNS:
        shown[column] = [("-" if pd.isna(v) else str(int(v))) for v in frame[column]]
    for column in ("mean_score", "stderr"):
        shown[column] = [("-" if pd.isna(v) else f"{v:.2f}") for v in frame[column]]
    shown["temperature"] = [("-" if pd.isna(v) else f"{v:g}") for v in frame["temperature"]]
    shown = shown.fillna("-").replace({None: "-", "": "-"})
    with pd.option_context("display.max_columns", None, "display.width", 200):
        return shown.to_string(index=False)


if __name__ == "__main__":
    raise SystemExit(main())
