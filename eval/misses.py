"""Where a run's valid answers fall short of the optimum: for each one below it, the first event (in start order) on
which the answer and the solver's optimum disagree, and which way.

    python -m eval.misses grpo-lora-s17-28steps-hard-greedy
    python -m eval.misses RUN --json

The kinds, for that first event:
``kept, a later set beats it``: the answer keeps it, the optimum drops it for kept events of which one starts later (a
look ahead: what a scan line, deciding in start order, cannot see); ``kept, an earlier set beats it``: the optimum's
blocking events all start before it; ``dropped, the optimum keeps it``. Against the solver's optimum: where several
schedules are optimal the first disagreement may be with one of them only, so the counts describe, they do not prove.
Which kind dominates is what decides the next change to the think (docs/training.md, session 18).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from eval.compare import run_answers
from scheduler import Problem, SchedulerError, parse_completion, score_completion
from scheduler.events import overlaps
from scheduler.solver import solve

KINDS = ("kept, a later set beats it", "kept, an earlier set beats it", "dropped, the optimum keeps it")


def first_miss(problem: Problem, kept: set[str]) -> tuple[str, str] | None:
    """(kind, event name) of the first event in start order that ``kept`` and the solver's optimum disagree on."""
    best = solve(problem).events
    chosen = {ev.name for ev in best}
    for ev in sorted(problem.events, key=lambda e: (e.start, e.end, e.name)):
        if (ev.name in kept) == (ev.name in chosen):
            continue
        if ev.name not in kept:
            return KINDS[2], ev.name
        blockers = [k for k in best if overlaps(k.start, k.end, ev.start, ev.end)]
        return (KINDS[0] if any(k.start > ev.start for k in blockers) else KINDS[1]), ev.name
    return None


def misses(run: str | Path, results_dir: str = "results") -> dict:
    """Every valid answer of ``run`` below the optimum, with the kind of its first disagreement."""
    path, split, rows, records = run_answers(run, results_dir)
    answers, valid = [], 0
    for index, sample, completion in records:
        problem = Problem.from_row(rows[index])
        verdict = score_completion(completion, problem)
        if not verdict.valid:
            continue
        valid += 1
        if verdict.score >= 1.0:
            continue
        miss = first_miss(problem, {name for name, _, _ in parse_completion(completion).events})
        if miss:
            answers.append({"index": index, "sample": sample, "score": verdict.score,
                            "kind": miss[0], "event": miss[1]})
    kinds = Counter(a["kind"] for a in answers)
    return {"run": path.name, "split": split, "valid": valid, "below_optimum": len(answers),
            "by_kind": {kind: kinds.get(kind, 0) for kind in KINDS}, "details": answers}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a results/ folder or its name")
    parser.add_argument("--results_dir", default="results")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = parser.parse_args(argv)
    try:
        report = misses(args.run, args.results_dir)
    except SchedulerError as err:
        parser.exit(2, f"eval.misses: {err}\n")
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
        return report
    print(f"{report['run']} ({report['split']}): {report['below_optimum']} of {report['valid']} valid answers "
          "are below the optimum")
    for answer in report["details"]:
        print(f"  #{answer['index']}: {answer['score']:.3f}, first at {answer['event']!r}: {answer['kind']}")
    print("their first disagreement with the optimum: "
          + ", ".join(f"{kind} {n}" for kind, n in report["by_kind"].items()))
    return report


if __name__ == "__main__":
    main()
