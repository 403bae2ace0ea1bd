"""eval.misses: a below-optimum answer's first disagreement with the optimum, on answers built from real problems."""

import json

import pytest

from eval import misses
from scheduler import Problem, load_split
from scheduler.events import overlaps
from scheduler.reference import reference_answer, render_schedule
from scheduler.solver import solve


def in_start_order_greedy(problem: Problem) -> list:
    """Keep each event (in start order) that does not overlap one kept before: valid, blind to what starts later."""
    kept = []
    for ev in sorted(problem.events, key=lambda e: (e.start, e.end, e.name)):
        if not any(overlaps(k.start, k.end, ev.start, ev.end) for k in kept):
            kept.append(ev)
    return kept


@pytest.fixture
def run(tmp_path):
    rows = load_split("hard")
    problems = [Problem.from_row(row) for row in rows]
    # a problem where the greedy keeps its first event against a later, better set
    late = next(i for i, p in enumerate(problems)
                if misses.first_miss(p, {e.name for e in in_start_order_greedy(p)}) == (
                    misses.KINDS[0], in_start_order_greedy(p)[0].name))
    records = [
        {"index": 0, "completion": reference_answer(problems[0])},                      # optimal: not a miss
        {"index": late, "completion": render_schedule(in_start_order_greedy(problems[late]))},
        {"index": 1, "completion": render_schedule(solve(problems[1]).events[1:])},      # its first kept event left out
        {"index": 2, "completion": "<schedule></schedule> and more"},                   # not valid: not counted
    ]
    (tmp_path / "config.json").write_text(json.dumps({"split": "hard"}))
    (tmp_path / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records) + '{"index": 9, "com')
    return tmp_path, late


def test_each_below_optimum_answer_is_named_by_its_first_disagreement(run):
    path, late = run
    report = misses.misses(path)
    assert report["split"] == "hard" and report["below_optimum"] == 2
    assert report["by_kind"] == {misses.KINDS[0]: 1, misses.KINDS[1]: 0, misses.KINDS[2]: 1}
    by_index = {a["index"]: a for a in report["details"]}
    first_kept = solve(Problem.from_row(load_split("hard")[1])).events[0].name
    assert by_index[1]["kind"] == misses.KINDS[2] and by_index[1]["event"] == first_kept
    assert by_index[late]["kind"] == misses.KINDS[0] and 0 < by_index[late]["score"] < 1


def test_an_optimal_answer_has_no_miss_and_the_cli_refuses_a_missing_run(run, capsys):
    path, _ = run
    problem = Problem.from_row(load_split("hard")[0])
    assert misses.first_miss(problem, {ev.name for ev in solve(problem).events}) is None
    misses.main([str(path)])
    assert "2 of " in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        misses.main([str(path / "nowhere")])
    assert exit_.value.code == 2 and "No eval run" in capsys.readouterr().err
