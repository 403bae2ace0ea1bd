"""eval.compare: paired differences computed from two runs' samples.jsonl."""

import json
import math

import pytest

from eval.compare import compare, headroom, main, run_dir
from scheduler import SchedulerError


def make_run(root, name, split, scores, torn_tail=False):
    path = root / name
    path.mkdir()
    (path / "config.json").write_text(json.dumps({"split": split}))
    lines = [json.dumps({"index": i, "sample": 0, "score": s}) for i, s in enumerate(scores)]
    text = "\n".join(lines) + "\n" + ('{"index": 99, "sam' if torn_tail else "")
    (path / "samples.jsonl").write_text(text)
    return path


def test_paired_difference_counts_and_stderr(tmp_path):
    a = make_run(tmp_path, "a", "test", [0.5, 1.0, 0.0, 0.25])
    b = make_run(tmp_path, "b", "test", [1.0, 1.0, 0.0, 0.0], torn_tail=True)
    report = compare(a, b)
    diffs = [50.0, 0.0, 0.0, -25.0]
    mean = sum(diffs) / 4
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / 3)
    assert report["n"] == 4 and report["diff"] == round(mean, 2)
    assert report["diff_stderr"] == round(sd / 2, 2)
    assert (report["better"], report["worse"], report["same"]) == (1, 1, 2)
    assert report["mean_a"] == 43.75 and report["mean_b"] == 50.0
    assert (b / "samples.jsonl").read_text().endswith('"sam')  # read only: the torn tail is left alone


def test_other_splits_and_missing_runs_are_clear_errors(tmp_path, capsys):
    a = make_run(tmp_path, "a", "test", [1.0])
    b = make_run(tmp_path, "b", "hard", [1.0])
    with pytest.raises(SchedulerError, match="split"):
        compare(a, b)
    with pytest.raises(SchedulerError, match="No eval run"):
        run_dir("nope", str(tmp_path))
    assert main([str(a), str(tmp_path / "nope")]) == 2
    assert "No eval run" in capsys.readouterr().err


def test_cli_on_committed_results(capsys):
    """The committed SFT and SFT+GRPO runs: the gain the model card quotes comes from here."""
    assert main(["smollm2-135m-sft-v2-test-greedy", "smollm2-135m-grpo2-test-greedy", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 100 and report["split"] == "test"
    assert report["diff"] == pytest.approx(report["mean_b"] - report["mean_a"], abs=0.011)


def test_headroom_is_the_paired_gain_of_a_perfect_run(tmp_path, capsys):
    a = make_run(tmp_path, "a", "hard", [1.0, 0.0, 0.9, 1.0])
    perfect = make_run(tmp_path, "perfect", "hard", [1.0, 1.0, 1.0, 1.0])
    report, paired = headroom(a), compare(a, perfect)
    assert (report["headroom"], report["headroom_stderr"]) == (paired["diff"], paired["diff_stderr"])
    assert report["below_optimum"] == 2 and report["mean_a"] == paired["mean_a"]
    assert abs(report["ratio"] - 27.5 / report["headroom_stderr"]) < 0.02  # the s.e. is rounded, the ratio is not
    assert main([str(a), "--headroom"]) == 0 and "a perfect run would gain +27.50" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([str(a)])  # neither a second run nor --headroom
