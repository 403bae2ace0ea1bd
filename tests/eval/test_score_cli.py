import json
import random
import subprocess
import sys
from pathlib import Path

from eval.score import main
from scheduler import Problem, load_split, reference_answer
from scheduler.reference import render_schedule

ROOT = Path(__file__).resolve().parents[2]


def write_dir(tmp_path, texts):
    for i, t in enumerate(texts):
        (tmp_path / f"{i}.txt").write_text(t, encoding="utf-8")
    return tmp_path


def run_json(capsys, *args):
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_solver_answers_score_100(tmp_path, capsys):
    rows = load_split("test")
    d = write_dir(tmp_path, [reference_answer(Problem.from_row(r)) for r in rows])
    out = run_json(capsys, "--completions", str(d))
    assert out == {"format_errors": 0, "less_than_2_events": 0, "non_existing": 0, "unsorted": 0,
                   "overlaps": 0, "valid_schedules": 100, "mean_score": 100.0}


def test_shuffled_answers_are_unsorted_jsonl(tmp_path, capsys):
    rng = random.Random(1)
    lines = []
    for i, r in enumerate(load_split("test")):
        events = list(Problem.from_row(r).events)
        while [e.start for e in events] == sorted(e.start for e in events):
            rng.shuffle(events)
        lines.append(json.dumps({"index": i, "completion": render_schedule(events)}))
    f = tmp_path / "c.jsonl"
    f.write_text("\n".join(lines), encoding="utf-8")
    out = run_json(capsys, "--completions", str(f))
    assert out["unsorted"] == 100 and out["valid_schedules"] == 0 and out["mean_score"] == 0.0


def test_missing_files_count_as_format_errors_and_table_prints(tmp_path, capsys):
    rows = load_split("hard")
    d = write_dir(tmp_path, [reference_answer(Problem.from_row(r)) for r in rows[:10]])
    assert main(["--completions", str(d), "--split", "hard"]) == 0
    out = capsys.readouterr().out
    assert "90 without an answer" in out and "valid_schedules" in out
    j = run_json(capsys, "--completions", str(d), "--split", "hard")
    assert j["valid_schedules"] == 10 and j["format_errors"] == 90 and j["mean_score"] == 10.0


def test_bad_inputs_give_a_message_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"index": 0, "completion": "x"}\nnot json\n', encoding="utf-8")
    for args in (["--completions", str(bad)], ["--completions", str(tmp_path / "nope")],
                 ["--completions", str(bad), "--split", "nosuch"]):
        proc = subprocess.run([sys.executable, "-m", "eval.score", *args], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
