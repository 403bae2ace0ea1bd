"""Every text case of the hostile corpus through the core parser and the ``python -m scheduler`` CLI:
a valid problem or one ``SchedulerError`` sentence, never another exception or a traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler import parse_problem, reference_answer, solve
from scheduler.cli import main, visible
from tests.hostile import CASES, assert_sentence, cases, check_parse, expected, text_of, write_file

ROOT = Path(__file__).resolve().parents[2]


def test_the_corpus_covers_every_kind_and_both_outcomes():
    kinds = {case["kind"] for case in CASES}
    assert kinds == {"text", "csv", "ics", "table"} and len(CASES) >= 40
    for kind in kinds:
        assert {case["expect"] for case in CASES if case["kind"] == kind} == {"ok", "error"}


@pytest.mark.parametrize("case", cases("text"))
def test_core_parser(case):
    problem = check_parse(case, "core", lambda: parse_problem(text_of(case)))
    if problem is not None:
        assert parse_problem(problem.to_prompt()) == problem  # what it renders reads back the same


def test_cli_on_every_text_case(tmp_path, capsys):
    """In-process through ``main(argv)``: exit 0 with the solver's schedule, or 2 with one error line."""
    for case in CASES:
        if case["kind"] != "text":
            continue
        outcome, message, n_events = expected(case, "cli")
        rc = main([str(write_file(case, tmp_path)), "--json"])
        out, err = capsys.readouterr()
        if outcome == "error":
            assert rc == 2 and out == "", case["id"]
            assert err.startswith("error: ") and err.count("\n") == 1 and message in err, (case["id"], err)
            assert_sentence(err[len("error: "):].strip())
        else:
            assert rc == 0 and err == "", (case["id"], err)
            data = json.loads(out)
            problem = parse_problem(data["problem"])
            assert len(problem.events) == n_events, case["id"]
            best = solve(problem)
            assert data["optimal_score"] == best.score
            assert [(e["name"], e["start"], e["end"]) for e in data["schedule"]] == [ev.as_strings() for ev in best.events]
            assert data["reference_answer"] == reference_answer(problem)


def run_cli(*args, stdin=b""):
    return subprocess.run([sys.executable, "-m", "scheduler", *args], input=stdin, capture_output=True, cwd=ROOT, timeout=60)


def test_cli_subprocess_prints_the_schedule_and_the_reference_answer(tmp_path):
    case = next(c for c in CASES if c["id"] == "text-canonical-test-0")
    problem = parse_problem(text_of(case))
    proc = run_cli(str(write_file(case, tmp_path)))
    assert proc.returncode == 0 and proc.stderr == b""
    out = proc.stdout.decode("utf-8")
    best = solve(problem)
    assert out.startswith(f"Optimal schedule: {len(best.events)} of {len(problem.events)} events, weighted duration {best.score}")
    for ev in best.events:
        assert f"{ev.start_hhmm}-{ev.end_hhmm}  {ev.name}" in out
    assert reference_answer(problem) in out


def test_cli_writes_the_reference_think_in_the_format_asked(tmp_path, capsys):
    """--think dpset: the think the shipped model writes, read back line by line by the dp checker."""
    from scheduler.dp_check import first_wrong

    case = next(c for c in CASES if c["id"] == "text-canonical-test-0")
    problem = parse_problem(text_of(case))
    assert main([str(write_file(case, tmp_path)), "--json", "--think", "dpset"]) == 0
    answer = json.loads(capsys.readouterr().out)["reference_answer"]
    assert answer == reference_answer(problem, "dpset") != reference_answer(problem)
    assert first_wrong(problem, answer) is None
    with pytest.raises(SystemExit):
        main([str(write_file(case, tmp_path)), "--think", "no-such-format"])


def test_cli_subprocess_errors_are_one_line_without_traceback(tmp_path):
    bad = next(c for c in CASES if c["id"] == "text-script-tag-name")
    proc = run_cli("-", stdin=text_of(bad).encode("utf-8"))
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode("utf-8")
    assert err.startswith("error: The event name") and err.count("\n") == 1 and "Traceback" not in err
    for args, fragment in [((str(tmp_path / "missing.txt"),), "does not exist"), ((str(tmp_path),), "is a folder")]:
        proc = run_cli(*args)
        assert proc.returncode == 2 and proc.stderr.decode().startswith("error: ") and fragment in proc.stderr.decode()
    proc = run_cli("-", stdin=b"\xff\xfeE\x00v\x00")
    assert proc.returncode == 2 and proc.stderr == b"error: The input is not UTF-8 text.\n"


def test_cli_shows_terminal_control_characters_escaped(tmp_path):
    """A name with an escape sequence is refused; the refusal shows the character escaped, never raw."""
    case = next(c for c in CASES if c["id"] == "text-ansi-escape-name")
    proc = run_cli(str(write_file(case, tmp_path)))
    assert proc.returncode == 2 and b"\x1b" not in proc.stdout + proc.stderr
    assert "Red\\x1b[31m alert" in proc.stderr.decode("utf-8")
    assert visible("a\u202eb\nc") == "a\\u202eb\nc" and visible("שלום 🎉") == "שלום 🎉"
