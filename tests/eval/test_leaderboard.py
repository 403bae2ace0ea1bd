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


def test_the_shipped_row_is_found_by_its_weights_hash_not_its_folder(tmp_path):
    import json

    from eval.results import weights_sha256
    from models.specs import SMOLLM2_ADAPTER

    assert run_main(["--model", "heuristic:greedy", "--split", "test", "--limit", "5", "--results-dir", str(tmp_path)]) == 0
    run = tmp_path / "heuristic-greedy-test-n5"
    for name, adapter_hash in (("same-weights", weights_sha256(SMOLLM2_ADAPTER)), ("other-weights", "0" * 64)):
        shutil.copytree(run, tmp_path / name)
        config = json.loads((tmp_path / name / "config.json").read_text())
        config.update(adapter="/somewhere/else/on/another/machine", weights_sha256={"model": None, "adapter": adapter_hash})
        (tmp_path / name / "config.json").write_text(json.dumps(config))
    frame = leaderboard(tmp_path, include_published=False).set_index("run")
    assert bool(frame.loc["same-weights", "shipped"]) is True
    assert bool(frame.loc["other-weights", "shipped"]) is False
    assert bool(frame.loc["heuristic-greedy-test-n5", "shipped"]) is False  # no hash recorded: not claimed


def test_committed_shipped_runs_cover_the_three_splits():
    frame = leaderboard(ROOT / "results", include_published=False)
    shipped = frame[frame["shipped"] == True]  # noqa: E712
    assert {"test", "hard", "names"} <= set(shipped["split"])


def test_labels_name_runs_whose_folders_had_one_name(tmp_path):
    import json

    assert run_main(["--model", "heuristic:greedy", "--split", "test", "--limit", "5", "--results-dir", str(tmp_path)]) == 0
    run = tmp_path / "heuristic-greedy-test-n5"
    for name, labels in (("plain", {}), ("labelled", {"model_label": "sft (session 6)", "adapter_label": "b95 of it"})):
        shutil.copytree(run, tmp_path / name)
        config = json.loads((tmp_path / name / "config.json").read_text())
        config.update(model="/root/work/sft", adapter="/root/work/sft-b95", **labels)
        (tmp_path / name / "config.json").write_text(json.dumps(config))
    frame = leaderboard(tmp_path, include_published=False).set_index("run")
    assert (frame.loc["plain", "model"], frame.loc["plain", "adapter"]) == ("sft", "sft-b95")
    assert (frame.loc["labelled", "model"], frame.loc["labelled", "adapter"]) == ("sft (session 6)", "b95 of it")
