"""Every case of the hostile corpus through the Space: ``space.inputs`` gives a problem or one
``SchedulerError`` sentence, and app.py's handlers (called directly) give a readable, escaped note;
a loaded problem then goes through the solver lane and a model lane (a heuristic standing in for
the model) with every user string escaped."""

import html
import re

import pandas as pd
import pytest

import app
from models.backend import SamplingSettings
from models.specs import ModelSpec
from scheduler import Problem, user_message
from space import inputs
from space.config import Side
from space.lanes import ModelPool, run_lane
from tests.hostile import cases, check_parse, expected, table_of, text_of, write_file

NOTE_RE = re.compile(
    r'^<div class="note (info|warn|error)">(?P<body>[^<>]*|<ul class="note-list">(?:<li>[^<>]*</li>)+</ul>)</div>$',
    re.DOTALL,
)
POOL = ModelPool(backend="auto")
LANE = Side("base", ModelSpec("heuristic:greedy"))


ONE_EVENT = "it needs at least 2"


# Text without an "Events:" header is quick text in the Space's box (space/quick_text.py), not the
# dataset's format: what the page answers then.
QUICK_TEXT = {
    "text-empty": "Type some events first", "text-only-whitespace": "Type some events first",
    "text-priorities-only": "No event could be read", "text-prose": "No event could be read",
    "text-no-header": ONE_EVENT,  # "- Lunch (12:00 - 13:00)" is read: one event, refused
}


def for_the_app(case, handler: bool = False):
    """The case as the Space must answer it: the corpus's good one-event problems are refused on load
    (a valid schedule lists two events, so every answer to them would be judged "fewer than 2"); in
    app.py's text handler, headerless text is quick text."""
    if handler and case["id"] in QUICK_TEXT:
        return {**case, "paths": {**case.get("paths", {}), "app": {"expect": "error", "message": QUICK_TEXT[case["id"]]}}}
    outcome, _, n_events = expected(case, "app")
    if outcome == "ok" and n_events is not None and n_events < 2:
        return {**case, "paths": {**case.get("paths", {}), "app": {"expect": "error", "message": ONE_EVENT}}}
    return case


def parse(case, tmp_path):
    """The ``space.inputs`` parser for the case's kind."""
    if case["kind"] == "text":
        return inputs.text_to_problem(text_of(case))
    if case["kind"] == "table":
        return inputs.table_to_problem(table_of(case))
    return inputs.file_to_problem(str(write_file(case, tmp_path))).problem


def handle(case, tmp_path):
    """The app handler the page calls for the case's kind: (table or skip, status note html)."""
    if case["kind"] == "text":
        return app.load_text(text_of(case))
    if case["kind"] == "table":
        _, card, _, status = app.show_problem(table_of(case), "")
        return None, status if isinstance(status, str) else card
    return app.load_file(str(write_file(case, tmp_path)))


def note_text(note: str, kind: str) -> str:
    """The text of a note; it must be one escaped note, with no markup from the input."""
    m = NOTE_RE.match(note)
    assert m and m.group(1) == kind, note[:300]
    return html.unescape(re.sub(r"</li><li>", " ", re.sub(r"</?(ul|li)[^>]*>", lambda t: "\n" if t.group(0) == "</li>" else "", m.group("body"))))


def assert_escaped(page_html: str, problem: Problem) -> None:
    """No user name appears raw where escaping would change it (quotes, ampersands)."""
    for ev in problem.events:
        if html.escape(ev.name) != ev.name:
            assert ev.name not in page_html, ev.name


@pytest.mark.parametrize("case", cases("text", "csv", "ics", "table"))
def test_space_inputs(case, tmp_path):
    case = for_the_app(case)
    problem = check_parse(case, "app", lambda: parse(case, tmp_path))
    if problem is not None:
        again = inputs.table_to_problem(inputs.problem_to_table(problem))  # the table round-trips (sorted by start)
        assert set(again.events) == set(problem.events) and again.priorities == problem.priorities


@pytest.mark.parametrize("case", cases("text", "csv", "ics", "table"))
def test_app_handlers(case, tmp_path):
    case = for_the_app(case, handler=True)
    outcome, message, _ = expected(case, "app")
    table, status = handle(case, tmp_path)
    if outcome == "error":
        text = note_text(status, "error")
        assert message in text and "Traceback" not in text
        return
    problem = inputs.table_to_problem(table if case["kind"] != "table" else table_of(case))
    if case["kind"] != "table":
        assert isinstance(table, pd.DataFrame) and note_text(status, "info")
    # What the page does next: the solver lane and the prompt follow the table...
    figure, card, prompt, _ = app.show_problem(inputs.problem_to_table(problem), "")
    assert figure is not None and "lane-card" in card and prompt == user_message(problem)
    assert_escaped(card, problem)
    # ...and a lane answers (a heuristic behind the same Backend interface as the models).
    final = list(run_lane(LANE, problem, SamplingSettings(max_new_tokens=16), POOL))[-1]
    assert final.done and "Training reward" in final.html and "generated in" in final.html
    assert_escaped(final.html, problem)
    assert "<script" not in final.html and "<img" not in final.html
