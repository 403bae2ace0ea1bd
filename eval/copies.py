"""Where a run copies event names wrong: each answer that schedules a name its problem does not have, the wrong name,
the event it stands for (the problem's event at the same times, else the nearest name), and the first part of the
completion that gives that event a wrong name.

    python -m eval.copies sft-cont-s9-n33k-g2-lr1e4-b95-names-greedy
    python -m eval.copies RUN --json

The parts, in completion order: ``event line`` (the think's line for one event, ``- NAME (`` or ``3. NAME (``: a copy
from the prompt), ``recap`` (a line after the think's ``Schedule:``: a copy from an event line) and ``answer`` (only
in the ``<schedule>``). On the names split nearly every failure is such a copy (docs/training.md), and which copy goes
wrong is what decides the next change to the think.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
from collections import Counter
from pathlib import Path

from eval.compare import run_answers
from scheduler import SchedulerError, parse_completion

PARTS = ("event line", "recap", "answer")
_EVENT_LINE = re.compile(r"^(?:- |\d+\. )(?P<name>.+) \((?P<times>\d\d:\d\d-\d\d:\d\d), ")
_RECAP_LINE = re.compile(r"^(?:\d+\. )?(?P<name>.+) (?P<times>\d\d:\d\d-\d\d:\d\d)$")


def first_part(intended: str, times: str, think: str | None) -> str:
    """The first part of the completion that names the event at ``times`` (``HH:MM-HH:MM``) other than ``intended``:
    its ``event line``, its ``recap`` line, or else the ``answer``."""
    lines = (think or "").splitlines()
    cut = lines.index("Schedule:") if "Schedule:" in lines else len(lines)
    for part, pattern, block in (("event line", _EVENT_LINE, lines[:cut]), ("recap", _RECAP_LINE, lines[cut + 1:])):
        if any((m := pattern.match(line)) and m["times"] == times and m["name"] != intended for line in block):
            return part
    return "answer"


def intended_event(name: str, start: str, end: str, events: list) -> str:
    """The problem's name for a scheduled event: the one at the same times, else the nearest name."""
    same = [e[0] for e in events if (e[1], e[2]) == (start, end)]
    if len(same) == 1:
        return same[0]
    return difflib.get_close_matches(name, same or [e[0] for e in events], n=1, cutoff=0)[0]


def wrong_copies(run: str | Path, results_dir: str = "results") -> dict:
    """Every answer of ``run`` with a scheduled name its problem lacks: the wrong names, where each first appears."""
    path, split, problems, records = run_answers(run, results_dir)
    answers = []
    for index, sample, completion in records:
        events = problems[index]["events"]
        names = {event[0] for event in events}
        parsed = parse_completion(completion)
        wrong = []
        for name, start, end in parsed.events:
            if name not in names:
                intended = intended_event(name, start, end, events)
                wrong.append({"name": name, "intended": intended,
                              "first_in": first_part(intended, f"{start}-{end}", parsed.think)})
        if wrong:
            answers.append({"index": index, "sample": sample, "wrong": wrong})
    firsts = Counter(w["first_in"] for a in answers for w in a["wrong"][:1])
    return {"run": path.name, "split": split, "answers": len(answers),
            "answers_by_first_wrong_part": {part: firsts.get(part, 0) for part in PARTS}, "details": answers}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a results/ folder or its name")
    parser.add_argument("--results_dir", default="results")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = parser.parse_args(argv)
    try:
        report = wrong_copies(args.run, args.results_dir)
    except SchedulerError as err:
        parser.exit(2, f"eval.copies: {err}\n")
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
        return report
    print(f"{report['run']} ({report['split']}): {report['answers']} answers schedule a name their problem lacks")
    for answer in report["details"]:
        for w in answer["wrong"]:
            print(f"  #{answer['index']}: {w['name']!r} for {w['intended']!r} (first wrong in the {w['first_in']})")
    print("where each answer's first wrong name went wrong: "
          + ", ".join(f"{part} {n}" for part, n in report["answers_by_first_wrong_part"].items()))
    return report


if __name__ == "__main__":
    main()
