"""The hostile input corpus (tests/data/hostile_inputs.json): loading it, and what every path must do with it.

Each case names its kind (text, csv, ics, table) and its expected outcome: "ok" (a valid problem with
``n_events`` events) or "error" (a ``SchedulerError`` whose message contains ``message``). ``paths``
overrides the outcome for one path (core: ``scheduler.parse_problem``; cli: ``python -m scheduler``;
app: ``space.inputs`` and app.py's handlers) where they differ on purpose.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Callable

from scheduler import Problem, SchedulerError

CORPUS = Path(__file__).resolve().parent / "data" / "hostile_inputs.json"
CASES: list[dict] = json.loads(CORPUS.read_text(encoding="utf-8"))["cases"]
# A message for a person: one sentence or two, starting with a capital letter and ending with a period.
MAX_MESSAGE_LENGTH = 400
SECONDS_PER_CASE = 5.0  # the slowest case takes milliseconds; the limit catches a quadratic regression


def cases(*kinds: str) -> list:
    """pytest params of the cases of these kinds, with their ids."""
    import pytest

    return [pytest.param(case, id=case["id"]) for case in CASES if case["kind"] in kinds]


def text_of(case: dict) -> str:
    if "input_parts" in case:
        return "".join(part * count for part, count in case["input_parts"])
    return case["input"]


def expected(case: dict, path: str) -> tuple[str, str | None, int | None]:
    """(outcome, message fragment, number of events) this path must give."""
    override = case.get("paths", {}).get(path, {})
    outcome = override.get("expect", case["expect"])
    return outcome, override.get("message", case.get("message")), case.get("n_events")


def write_file(case: dict, folder: Path) -> Path:
    """The case's input as a file named after its kind (``.csv``, ``.ics``, ``.txt`` for text)."""
    suffix = {"text": ".txt"}.get(case["kind"], "." + case["kind"])
    path = folder / f"{case['id']}{suffix}"
    path.write_bytes(text_of(case).encode(case.get("encoding", "utf-8")))
    return path


def table_of(case: dict):
    """The value a table case hands to ``table_to_problem``: a DataFrame, or a raw value as is."""
    import pandas as pd

    from space.inputs import TABLE_COLUMNS

    data = case["input"]
    if isinstance(data, dict) and "raw" in data:
        return data["raw"]
    if isinstance(data, dict):
        return pd.DataFrame(data["rows"], columns=data["columns"])
    return pd.DataFrame(data, columns=TABLE_COLUMNS)


def assert_sentence(message: str) -> None:
    """A message a person can read: short, a capital letter first, a period last, no traceback."""
    assert isinstance(message, str) and message, "empty message"
    assert len(message) <= MAX_MESSAGE_LENGTH, f"{len(message)} characters: {message[:200]!r}..."
    assert message[0].isupper(), message
    assert message.rstrip().endswith("."), message
    assert "Traceback" not in message and not re.search(r"\b\w+(Error|Exception):", message), message


def check_parse(case: dict, path: str, parse: Callable[[], Problem]) -> Problem | None:
    """Run one path's parser on a case and check the outcome it must give; the problem when it is ok."""
    outcome, message, n_events = expected(case, path)
    started = time.perf_counter()
    try:
        problem = parse()
    except SchedulerError as err:
        assert outcome == "error", f"refused a good input: {err}"
        assert message in str(err)
        assert_sentence(str(err))
        problem = None
    else:
        assert outcome == "ok", f"accepted a bad input ({len(problem.events)} events)"
        assert isinstance(problem, Problem) and len(problem.events) == n_events
    assert time.perf_counter() - started < SECONDS_PER_CASE
    return problem
