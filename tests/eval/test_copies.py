"""eval.copies: where a wrong event name first went wrong, on real reference answers with one name bent."""

import json

import pytest

from eval import copies
from scheduler import Problem, load_split
from scheduler.reference import reference_answer
from scheduler.solver import solve


def bent(answer: str, name: str, parts: int) -> str:
    """``answer`` with ``name`` bent in its last ``parts`` places: 3 = event line, recap, answer; 2 = recap and
    answer; 1 = the answer only."""
    places = [i for i in range(len(answer)) if answer.startswith(name, i)]
    for i in reversed(places[len(places) - parts:]):
        answer = answer[:i] + "X" + name + answer[i + len(name):]
    return answer


@pytest.fixture
def run(tmp_path):
    records = []
    for index, row in enumerate(load_split("test")[:5]):
        problem = Problem.from_row(row)
        answer = reference_answer(problem, "recap")
        # a kept event named only in its event line, its recap line and its <name> (not inside a drop reason)
        kept = next(ev for ev in solve(problem).events if answer.count(ev.name) == 3)
        records.append({"index": index, "sample": 0, "completion": bent(answer, kept.name, [3, 2, 1, 0, 0][index])})
    records[4]["completion"] = "no think, no schedule"
    (tmp_path / "config.json").write_text(json.dumps({"split": "test"}))
    (tmp_path / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records) + '{"index": 9, "sam')
    return tmp_path


def test_each_wrong_name_is_traced_to_the_part_that_first_bent_it(run):
    report = copies.wrong_copies(run)
    assert report["answers"] == 3 and report["split"] == "test"
    assert report["answers_by_first_wrong_part"] == {"event line": 1, "recap": 1, "answer": 1}
    first = [a["wrong"][0] for a in report["details"]]
    assert [w["first_in"] for w in first] == ["event line", "recap", "answer"]
    rows = load_split("test")
    for answer, w in zip(report["details"], first):
        assert w["name"] == "X" + w["intended"]
        assert w["intended"] in {ev.name for ev in solve(Problem.from_row(rows[answer["index"]])).events}


def test_the_cli_prints_the_counts_and_refuses_a_missing_run(run, capsys):
    copies.main([str(run)])
    assert "event line 1, recap 1, answer 1" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        copies.main([str(run / "nowhere")])
    assert exit_.value.code == 2 and "No eval run" in capsys.readouterr().err
