"""scheduler.dp_check: the first wrong step of a dp, dpcheck, dplocal or dpset think, on the reference answers of real
problems bent one step at a time."""

import re

import pytest

from scheduler import Problem, load_split
from scheduler.dp_check import STEPS, first_wrong
from scheduler.reference import dp_table, reference_answer

PROBLEMS = [Problem.from_row(row) for row in load_split("hard")[:20]]


def a_minute_later(m: re.Match) -> str:
    """``m``'s groups (prefix, hours, minutes, suffix) with the minutes one later: a start copied wrong."""
    return f"{m[1]}{m[2]}:{(int(m[3]) + 1) % 60:02d}{m[4]}"


def bend(answer: str, pattern: str, replace) -> str:
    """``answer`` with the first match of ``pattern`` replaced (the test fails if there is none)."""
    bent, count = re.subn(pattern, replace, answer, count=1, flags=re.M)
    assert count == 1, pattern
    return bent


@pytest.mark.parametrize("think", ["dp", "dpcheck", "dplocal", "dpset"])
def test_a_reference_answer_has_every_step_right(think):
    for problem in PROBLEMS:
        assert first_wrong(problem, reference_answer(problem, think)) is None


def test_a_next_moved_one_event_earlier_is_a_wrong_next_that_lands_before_the_end():
    problem = next(p for p in PROBLEMS if any(j - i >= 2 and j < len(p.events) for i, j in enumerate(dp_table(p).nxt)))
    table = dp_table(problem)
    i = next(i for i, j in enumerate(table.nxt) if j - i >= 2 and j < len(problem.events))
    answer = bend(reference_answer(problem, "dp"), rf"^({i + 1}\. ends \d\d:\d\d, next ){table.nxt[i] + 1}:",
                  rf"\g<1>{table.nxt[i]}:")
    wrong = first_wrong(problem, answer)
    assert wrong.step == "next" and wrong.extra["early"] and wrong.extra["gap"] < 0


def test_dpcheck_names_a_copied_start_and_a_wrong_comparison():
    problem = next(p for p in PROBLEMS if " no, " in reference_answer(p, "dpcheck"))
    answer = reference_answer(problem, "dpcheck")
    copied = bend(answer, r"(\d+ at )(\d\d):(\d\d)( no, )", a_minute_later)
    assert first_wrong(problem, copied).step == "copied start"
    flipped = bend(answer, r"(\d+ at \d\d:\d\d) no, .*?;", r"\g<1> yes;")
    assert first_wrong(problem, flipped).step == "comparison"


def test_dplocal_names_a_line_head_and_a_start_copied_wrong():
    problem = PROBLEMS[0]
    answer = reference_answer(problem, "dplocal")
    head = bend(answer, r"^(\d+\. \d\d:\d\d-\d\d:\d\d, )(\d+);", lambda m: f"{m[1]}{int(m[2]) + 1};")
    assert first_wrong(problem, head).step == "lookup"
    problem = next(p for p in PROBLEMS if " no, " in reference_answer(p, "dplocal"))
    copied = bend(reference_answer(problem, "dplocal"), r"(; \d+ )(\d\d):(\d\d)( no, )", a_minute_later)
    assert first_wrong(problem, copied).step == "copied start"
    marked = bend(reference_answer(problem, "dplocal"), r"^(1\. .+ \(\d\d:\d\d-\d\d:\d\d)(, priority)?\)$",
                  lambda m: f"{m[1]}{'' if m[2] else ', priority'})")
    assert first_wrong(problem, marked).step == "events"


def test_a_sum_a_choice_a_walk_and_a_schedule_bent_are_each_named():
    problem = PROBLEMS[0]
    answer = reference_answer(problem, "dp")
    summed = bend(answer, r"(take \d+ \+ \d+ = )(\d+)", lambda m: f"{m[1]}{int(m[2]) + 5}")
    assert first_wrong(problem, summed).step == "sum"
    chosen = bend(answer, r": (take|skip) (\d+)\.$", lambda m: f": {'skip' if m[1] == 'take' else 'take'} {m[2]}.")
    assert first_wrong(problem, chosen).step == "choice"
    walked = bend(answer, r"^Walk: (\d+) (take -> \d+|skip)", lambda m: f"Walk: {m[1]} {'skip' if 'take' in m[2] else 'take -> 2'}")
    assert first_wrong(problem, walked).step == "walk"
    scheduled = answer[:answer.index("<schedule>")] + "<schedule>\n</schedule>"
    assert first_wrong(problem, scheduled).step == "schedule"
    recapped = bend(answer, r"^Schedule:\n\d+\. ", "Schedule:\n")
    assert first_wrong(problem, recapped).step == "schedule"


def test_dpset_names_a_set_bent_on_a_take_and_on_a_skip_and_a_schedule_not_line_1s():
    problem = next(p for p in PROBLEMS if not all(dp_table(p).take))
    answer = reference_answer(problem, "dpset")
    assert "Walk:" not in answer
    dropped = bend(answer, r"(: take \d+, keep \d+) (\d+)\.$", r"\g<1>.")  # a take's set short of its next's last event
    assert first_wrong(problem, dropped).step == "keep"
    skipped = bend(answer, r"(: skip \d+, keep )(\d+)", lambda m: f"{m[1]}{int(m[2]) + 1}")
    assert first_wrong(problem, skipped).step == "keep"
    lost = bend(answer, r", keep [\d ]+\.$", ".")  # one line without its set
    assert first_wrong(problem, lost).step == "unreadable"
    recapped = bend(answer, r"^Schedule:\n\d+\. ", "Schedule:\n")
    assert first_wrong(problem, recapped).step == "schedule"
    walked = answer.replace("\nSchedule:", "\nWalk: 1 skip.\nSchedule:")  # dpset has no walk
    assert first_wrong(problem, walked).step == "schedule"


@pytest.mark.parametrize("text", ["", "<think>\nEvents by start:\n1. x</think>", "no think at all", "<think>" + "9. " * 50,
                                  reference_answer(PROBLEMS[0], "dp")[:700]])
def test_a_cut_or_foreign_answer_is_unreadable_or_wrong_and_never_raises(text):
    wrong = first_wrong(PROBLEMS[0], text)
    assert wrong is not None and wrong.step in STEPS
