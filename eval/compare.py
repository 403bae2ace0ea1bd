"""Paired comparison of two eval runs on the same prompts: did the change help, and by more than noise?

    python -m eval.compare results/smollm2-135m-sft-v2-test-greedy results/smollm2-135m-grpo2-test-greedy
    python -m eval.compare RUN_A RUN_B --json
    python -m eval.compare RUN_A --headroom      # the most any change of RUN_A could show on its prompts

Both runs score the same problems, so the difference is measured problem by problem: its mean, the
standard error of that mean (paired, much tighter than comparing the two runs' own error bars), and how
many problems got better, worse or stayed equal. Runs are ``results/`` folders (or their names).

``--headroom`` pairs a run with a perfect one (every answer at the optimum): near the ceiling, even that gain may be
within two standard errors, so a criterion such as "a gain above twice its s.e." cannot be met from that run.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

from eval.results import read_json
from scheduler import SchedulerError, load_split


def run_dir(name: str, results_dir: str = "results") -> Path:
    path = Path(name)
    if not (path / "samples.jsonl").is_file():
        path = Path(results_dir) / name
    if not (path / "samples.jsonl").is_file():
        raise SchedulerError(f"No eval run at {name!r} (a folder with samples.jsonl, or a name under {results_dir}/).")
    return path


def run_answers(run: str | Path, results_dir: str = "results") -> tuple[Path, str, list[dict],
                                                                       list[tuple[int, int, str]]]:
    """A run's folder, its split, that split's rows, and (index, sample, completion) for each whole line of its
    samples.jsonl (a torn last line of a killed run is skipped): what the per-answer reports read."""
    path = run_dir(str(run), results_dir)
    split = read_json(path / "config.json").get("split")
    try:
        rows = load_split(split)
    except Exception as err:  # a split this checkout does not have
        raise SchedulerError(f"Run {path.name!r} is on split {split!r}, which cannot be loaded here: {err}") from err
    answers = []
    for line in (path / "samples.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            answers.append((int(record["index"]), int(record.get("sample", 0)), str(record["completion"])))
        except (ValueError, KeyError, TypeError):
            continue
    return path, split, rows, answers


def scores(path: Path) -> dict[tuple[int, int], float]:
    """(index, sample) -> score (0-1) for each whole line of samples.jsonl; read only (a torn tail is skipped)."""
    out: dict[tuple[int, int], float] = {}
    for line in (path / "samples.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            out.setdefault((int(record["index"]), int(record["sample"])), float(record["score"]))
        except (ValueError, KeyError, TypeError):
            continue
    return out


def compare(a: Path, b: Path) -> dict:
    """Paired statistics of B minus A (scores x 100) over the prompts both runs answered."""
    config_a, config_b = read_json(a / "config.json") or {}, read_json(b / "config.json") or {}
    if config_a.get("split") and config_b.get("split") and config_a["split"] != config_b["split"]:
        raise SchedulerError(f"{a.name} is on split {config_a['split']!r} and {b.name} on {config_b['split']!r}.")
    sa, sb = scores(a), scores(b)
    keys = sorted(set(sa) & set(sb))
    if not keys:
        raise SchedulerError(f"{a.name} and {b.name} share no answered prompts.")
    diff = [100 * (sb[k] - sa[k]) for k in keys]
    stderr = statistics.stdev(diff) / math.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    return {
        "a": a.name, "b": b.name, "split": config_a.get("split") or config_b.get("split"), "n": len(keys),
        "mean_a": round(100 * statistics.fmean(sa[k] for k in keys), 2),
        "mean_b": round(100 * statistics.fmean(sb[k] for k in keys), 2),
        "diff": round(statistics.fmean(diff), 2), "diff_stderr": round(stderr, 2),
        "better": sum(d > 0 for d in diff), "worse": sum(d < 0 for d in diff), "same": sum(d == 0 for d in diff),
    }


def headroom(a: Path) -> dict:
    """Paired statistics of a perfect run (every answer scores 1) minus A: the largest gain any run could show."""
    sa = scores(a)
    if not sa:
        raise SchedulerError(f"{a.name} has no answered prompts.")
    gain = [100 * (1.0 - s) for s in sa.values()]
    stderr = statistics.stdev(gain) / math.sqrt(len(gain)) if len(gain) > 1 else float("nan")
    mean = statistics.fmean(gain)
    return {"a": a.name, "split": (read_json(a / "config.json") or {}).get("split"), "n": len(gain),
            "mean_a": round(100 - mean, 2), "headroom": round(mean, 2), "headroom_stderr": round(stderr, 2),
            "ratio": round(mean / stderr, 2) if stderr else None, "below_optimum": sum(g > 0 for g in gain)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_a", help="the reference run (folder or name under --results-dir)")
    parser.add_argument("run_b", nargs="?", help="the run compared with it")
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--headroom", action="store_true",
                        help="instead of a second run, a perfect one: the largest gain any change of RUN_A could show")
    args = parser.parse_args(argv)
    if (args.run_b is None) != args.headroom:
        parser.error("give a second run to compare with, or --headroom (not both)")
    try:
        a = run_dir(args.run_a, args.results_dir)
        report = headroom(a) if args.headroom else compare(a, run_dir(args.run_b, args.results_dir))
    except SchedulerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=1))
    elif args.headroom:
        print(f"{report['a']} ({report['split']}, {report['n']} answers, {report['below_optimum']} below the optimum):\n"
              f"  a perfect run would gain {report['headroom']:+.2f} ± {report['headroom_stderr']:.2f} "
              f"({report['ratio']} standard errors) over its mean {report['mean_a']:.2f}")
    else:
        print(f"{report['b']} vs {report['a']} ({report['split']}, {report['n']} prompts, paired):\n"
              f"  mean {report['mean_b']:.2f} vs {report['mean_a']:.2f}: "
              f"{report['diff']:+.2f} ± {report['diff_stderr']:.2f} (s.e. of the paired difference)\n"
              f"  better on {report['better']}, worse on {report['worse']}, equal on {report['same']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
