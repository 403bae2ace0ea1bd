"""The leaderboard: measured runs from results/ plus the published rows, numeric and sorted."""

import shutil
from pathlib import Path

import pandas as pd

from eval.leaderboard import COLUMNS, NUMERIC, PUBLISHED_SOURCE, leaderboard, main
from eval.run import main as run_main

ROOT = Path(__file__).resolve().parents[2]


def test_rows_from_results_and_published(tmp_path):
    for rule in ("greedy", "priorities"):
        assert run_main(["--model", f"heuristic:{rule}", "--split", "test", "--limit", "20", "--results-dir", str(tmp_path)]) == 0
    # An unfinished run (no metrics yet) is not a row.
    (tmp_path / "half-done").mkdir()
    shutil.copy(tmp_path / "heuristic-greedy-test-n20" / "config.json", tmp_path / "half-done" / "config.json")

    frame = leaderboard(tmp_path)
    assert list(frame.columns) == COLUMNS
    assert all(pd.api.types.is_numeric_dtype(frame[c]) for c in NUMERIC)
    measured = frame[frame["source"] == "measured"]
    assert sorted(measured["run"]) == ["heuristic-greedy-test-n20", "heuristic-priorities-test-n20"]
    greedy = measured.set_index("model").loc["heuristic:greedy"]
    assert greedy["n"] == 20 and greedy["valid"] == 20 and greedy["temperature"] == 0.0 and greedy["split"] == "test"

    published = frame[frame["source"] == PUBLISHED_SOURCE].set_index("model")
    assert published.loc["qwen-scheduler-7b-grpo", ["valid", "mean_score"]].tolist() == [62, 58.54]
    assert published.loc["Qwen2.5-Coder-14B-Instruct", ["valid", "mean_score"]].tolist() == [48, 45.85]
    assert published.loc["Qwen2.5-Coder-7B-Instruct", ["valid", "mean_score"]].tolist() == [9, 8.05]
    assert (published["temperature"] == 1.0).all() and (published["split"] == "test").all()

    assert frame["mean_score"].tolist() == sorted(frame["mean_score"], reverse=True)  # one split: best first
    assert len(leaderboard(tmp_path, include_published=False)) == 2
    assert leaderboard(tmp_path / "nothing-here", include_published=False).empty


def test_committed_results_and_cli(capsys):
    frame = leaderboard(ROOT / "results")
    runs = set(frame["run"].dropna())
    assert {"heuristic-greedy-test", "heuristic-greedy-hard", "heuristic-priorities-test", "heuristic-priorities-hard"} <= runs
    assert main(["--results-dir", str(ROOT / "results"), "--split", "hard"]) == 0
    out = capsys.readouterr().out
    assert "heuristic:greedy" in out and PUBLISHED_SOURCE not in out  # published rows are test-split only
