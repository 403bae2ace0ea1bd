"""eval.dp_steps: a run's answers counted at the first wrong step of their think, beside their verdict."""

import json

from eval import dp_steps
from scheduler import Problem, load_split
from scheduler.reference import dp_table, reference_answer
from tests.scheduler.test_dp_check import bend

PROBLEMS = [Problem.from_row(row) for row in load_split("hard")[:2]]


def test_the_report_counts_each_answer_once_beside_its_verdict(tmp_path, capsys):
    table = dp_table(PROBLEMS[1])
    i = next(i for i, j in enumerate(table.nxt) if j - i >= 2 and j < len(PROBLEMS[1].events))
    records = [
        {"index": 0, "completion": reference_answer(PROBLEMS[0], "dpcheck")},
        {"index": 1, "completion": bend(reference_answer(PROBLEMS[1], "dp"),
                                        rf"^({i + 1}\. ends \d\d:\d\d, next ){table.nxt[i] + 1}:", rf"\g<1>{table.nxt[i]}:")},
        {"index": 2, "completion": "<schedule></schedule>"},
    ]
    (tmp_path / "config.json").write_text(json.dumps({"split": "hard"}))
    (tmp_path / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    report = dp_steps.main([str(tmp_path)])
    assert report["answers"] == 3 and report["by_verdict_and_step"]["valid / none"] == 1
    assert report["by_verdict_and_step"]["valid / next"] == 1 and report["next_too_early"] == 1
    assert sum(report["by_verdict_and_step"].values()) == 3
    assert "a wrong next first: 1 answers" in capsys.readouterr().out


def test_a_missing_run_is_refused_with_a_message(tmp_path):
    import pytest

    with pytest.raises(SystemExit) as exit_:
        dp_steps.main([str(tmp_path / "nowhere")])
    assert exit_.value.code == 2
