"""Where the answers of a ``dp``, ``dpcheck``, ``dplocal`` or ``dpset`` model first go wrong: each think read back
step by step (``scheduler.dp_check``, which names the steps), each answer counted once at its first wrong step,
beside its verdict.

    python -m eval.dp_steps sft-lora-dp-n25k-g3-hard-greedy
    python -m eval.dp_steps RUN --json

Which step goes wrong most is what decides the next think (docs/training.md, session 21).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from eval.compare import run_answers
from scheduler import Problem, SchedulerError, score_completion
from scheduler.dp_check import first_wrong, held_share


def dp_steps(run: str | Path, results_dir: str = "results") -> dict:
    """Each answer of ``run`` with its verdict and the first wrong step of its think (None: every step right)."""
    path, split, rows, records = run_answers(run, results_dir)
    answers = []
    for index, sample, completion in records:
        problem = Problem.from_row(rows[index])
        verdict = score_completion(completion, problem)
        wrong = first_wrong(problem, completion)
        answers.append({"index": index, "sample": sample, "verdict": verdict.verdict, "score": verdict.score,
                        "step": wrong.step if wrong else None, "detail": wrong.detail if wrong else None,
                        "programme_share": held_share(problem, wrong), **(wrong.extra if wrong else {})})
    table = Counter((a["verdict"], a["step"] or "none") for a in answers)
    nexts = [a for a in answers if a["step"] in ("next", "comparison")]
    return {"run": path.name, "split": split, "answers": len(answers), "next_first": len(nexts),
            "by_verdict_and_step": {f"{v} / {s}": c for (v, s), c in sorted(table.items())},
            "next_too_early": sum(1 for a in nexts if a.get("early")),
            "next_within_15_min": sum(1 for a in nexts if a.get("gap") is not None and abs(a["gap"]) <= 15),
            "programme_share_mean": sum(a["programme_share"] for a in answers) / len(answers) if answers else 0.0,
            "details": answers}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a results/ folder or its name (a dp, dpcheck, dplocal or dpset model's run)")
    parser.add_argument("--results_dir", default="results")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = parser.parse_args(argv)
    try:
        report = dp_steps(args.run, args.results_dir)
    except SchedulerError as err:
        parser.exit(2, f"eval.dp_steps: {err}\n")
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
        return report
    print(f"{report['run']} ({report['split']}): {report['answers']} answers, by verdict / first wrong step")
    for key, count in report["by_verdict_and_step"].items():
        print(f"  {key}: {count}")
    print(f"a wrong next first: {report['next_first']} answers; {report['next_too_early']} of them land on an earlier event "
          f"(an overlap), {report['next_within_15_min']} on a start within 15 minutes of the end")
    print(f"programme lines right before the first wrong step: {100 * report['programme_share_mean']:.1f} % on average "
          "(the programme reward's share)")
    return report


if __name__ == "__main__":
    main()
