"""Score completions with the published evaluation's rules.

    python -m eval.score --completions DIR_OR_JSONL [--split test] [--json]

DIR holds ``<i>.txt`` files, file *i* answering row *i* of the split (the layout the original project
published its model outputs in); a JSONL holds ``{"index": i, "completion": "..."}`` lines.
Prints a table, or with ``--json`` one object with ``format_errors, less_than_2_events,
non_existing, unsorted, overlaps, valid_schedules, mean_score`` (mean score x100).
A missing answer counts as a format error, so a partial directory cannot look better than it is.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scheduler import SchedulerError, aggregate, load_split, score_row

REPORT_KEYS = ("format_errors", "less_than_2_events", "non_existing", "unsorted", "overlaps", "valid_schedules", "mean_score")


def read_completions(path: str | Path, n_rows: int) -> dict[int, str]:
    """Index -> completion text, from a directory of ``<i>.txt`` files or a JSONL file."""
    path = Path(path)
    out: dict[int, str] = {}
    if path.is_dir():
        for i in range(n_rows):
            f = path / f"{i}.txt"
            if f.exists():
                out[i] = f.read_text(encoding="utf-8", errors="replace")
        if not out:
            raise SchedulerError(f"No <i>.txt files were found in {path}.")
        return out
    if not path.exists():
        raise SchedulerError(f"No such file or directory: {path}.")
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                index, completion = int(record["index"]), record["completion"]
            except (ValueError, KeyError, TypeError):
                raise SchedulerError(
                    f"Line {number} of {path} is not a JSON object with 'index' and 'completion'."
                ) from None
            if not 0 <= index < n_rows:
                raise SchedulerError(f"Line {number} of {path} has index {index}, outside the split's 0..{n_rows - 1}.")
            if index in out:
                raise SchedulerError(f"Line {number} of {path} repeats index {index}.")
            out[index] = completion if isinstance(completion, str) else str(completion)
    return out


def score_completions(completions: dict[int, str], rows: list[dict]) -> tuple[dict, list]:
    verdicts = [score_row(completions.get(i, ""), row) for i, row in enumerate(rows)]
    return aggregate(verdicts), verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--completions", required=True, help="directory of <i>.txt files or a JSONL file")
    parser.add_argument("--split", default="test", help="split name (test, train, hard) or a .jsonl path")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        rows = load_split(args.split)
        completions = read_completions(args.completions, len(rows))
    except SchedulerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    metrics, _ = score_completions(completions, rows)
    missing = len(rows) - len(completions)
    if args.json:
        print(json.dumps({k: metrics[k] for k in REPORT_KEYS}))
        return 0
    print(f"{len(rows)} problems of split {args.split!r}" + (f" ({missing} without an answer, counted as format errors)" if missing else ""))
    width = max(len(k) for k in REPORT_KEYS)
    for key in REPORT_KEYS[:-1]:
        print(f"  {key:<{width}}  {metrics[key]:>6}")
    print(f"  {'mean_score':<{width}}  {metrics['mean_score']:>6.2f}  (± {metrics['mean_score_stderr']:.2f} s.e.)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
