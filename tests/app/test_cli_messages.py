"""What the command-line tools say to a new user (issue 14): a reused run, an unknown split, counts,
and provisioning without a stray RuntimeWarning."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_a_finished_run_asked_again_says_already_complete(tmp_path):
    command = ("eval.run", "--model", "heuristic:greedy", "--split", "test", "--limit", "3", "--results-dir", str(tmp_path))
    first = run(*command)
    assert first.returncode == 0 and "already complete" not in first.stdout
    again = run(*command)
    assert again.returncode == 0 and "already complete (3 samples" in again.stdout and "nothing was generated" in again.stdout

    board = run("eval.leaderboard", "--results-dir", str(tmp_path), "--split", "test")
    assert board.returncode == 0
    row = next(line for line in board.stdout.splitlines() if "heuristic:greedy" in line)
    assert " 3 " in row and "3.00" not in row and "100.00" in row  # counts as integers, scores with decimals

    unknown = run("eval.leaderboard", "--results-dir", str(tmp_path), "--split", "nosuch")
    assert unknown.returncode == 2 and "Empty DataFrame" not in unknown.stdout
    assert "no finished run on the split 'nosuch'" in unknown.stderr and "test" in unknown.stderr


def test_provision_prints_no_runtime_warning():
    done = run("models.provision")  # the session's server already provisioned it: just the path
    assert done.returncode == 0 and "RuntimeWarning" not in done.stderr and done.stdout.strip()
