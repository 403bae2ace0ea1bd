"""Solve one problem from the command line: the optimal schedule and the reference answer.

    python -m scheduler problem.txt            # a problem in the dataset's text format
    python -m scheduler - < problem.txt        # the same from stdin (also the default)
    python -m scheduler problem.txt --json     # machine-readable

The input is the dataset's ``prompt`` format (``Events:`` lines ``- NAME (HH:MM - HH:MM)``, a blank
line, ``Priorities:`` lines ``- NAME``). Bad input prints ``error: <sentence>`` on stderr and exits
with status 2, never a traceback. In the text output, control and invisible formatting characters of
user names are shown escaped (``\\x1b``, ``\\u202e``), so a name cannot rewrite the terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from scheduler.errors import SchedulerError
from scheduler.events import Problem, parse_problem
from scheduler.reference import DEFAULT_THINK, THINK_FORMATS, reference_answer
from scheduler.solver import solve

MAX_INPUT_BYTES = 1_000_000


def read_source(source: str) -> str:
    """The text of a file (or stdin for ``-``), UTF-8 with or without a BOM; failures are sentences."""
    if source == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        what = "The input"
    else:
        path = Path(source)
        what = f"The file {source}"
        if path.is_dir():
            raise SchedulerError(f"{source} is a folder; give a text file holding one problem.")
        try:
            with path.open("rb") as f:
                data = f.read(MAX_INPUT_BYTES + 1)
        except FileNotFoundError:
            raise SchedulerError(f"The file {source} does not exist.") from None
        except OSError as err:
            raise SchedulerError(f"The file {source} could not be read ({err.strerror or err}).") from None
    if len(data) > MAX_INPUT_BYTES:
        raise SchedulerError(f"{what} is larger than {MAX_INPUT_BYTES:,} bytes; one problem is far smaller.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SchedulerError(f"{what} is not UTF-8 text.") from None


def visible(text: str) -> str:
    """Escape what a terminal would act on or hide (control and format characters); keep line breaks."""
    return "".join(ch if ch.isprintable() or ch == "\n" else ch.encode("unicode_escape").decode("ascii") for ch in text)


def report(problem: Problem, think: str = DEFAULT_THINK) -> dict:
    """The solver's answer as JSON-safe data, its reference answer's think in the ``think`` format."""
    solution = solve(problem)
    return {
        "optimal_score": solution.score,
        "schedule": [
            {"name": ev.name, "start": ev.start_hhmm, "end": ev.end_hhmm, "priority": ev.name in problem.priorities}
            for ev in solution.events
        ],
        "reference_answer": reference_answer(problem, think),
        "problem": problem.to_prompt(),
    }


def render(data: dict, n_events: int) -> str:
    lines = [
        f"Optimal schedule: {len(data['schedule'])} of {n_events} events, weighted duration "
        f"{data['optimal_score']} (priority events count twice)."
    ]
    for ev in data["schedule"]:
        lines.append(f"  {ev['start']}-{ev['end']}  {ev['name']}{'  [priority]' if ev['priority'] else ''}")
    lines += ["", "Reference answer:", data["reference_answer"]]
    return visible("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scheduler", description="Print the optimal schedule of one problem and its reference answer."
    )
    parser.add_argument("file", nargs="?", default="-", help="the problem in the dataset's text format, or - for stdin")
    parser.add_argument("--json", action="store_true", help="print JSON (schedule, optimal score, reference answer)")
    parser.add_argument("--think", choices=list(THINK_FORMATS), default=DEFAULT_THINK,
                        help=f"the reference answer's think format (default {DEFAULT_THINK}; the shipped model writes "
                        "dpset)")
    args = parser.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):  # a non-UTF-8 terminal gets escapes, not a UnicodeEncodeError
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        problem = parse_problem(read_source(args.file))
    except SchedulerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    data = report(problem, args.think)
    try:
        print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else render(data, len(problem.events)))
        sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped early (``| head``): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
