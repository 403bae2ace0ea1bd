"""Result files are never half-written: JSON goes to a temp file beside the target and is renamed over
it with ``os.replace``. A write that fails at any point (disk full at the rename, an exception while
serialising) leaves the previous file as it was. Real files; only ``os.replace`` is made to fail."""

import json
import os
from pathlib import Path

import pytest

from eval.results import write_json_atomic
from eval.run import main as eval_main
from training.log import truncate_log


def failing_replace(monkeypatch, name=None):
    """Make ``os.replace`` raise (for targets called ``name``, or all); returns the calls it refused."""
    real, refused = os.replace, []

    def replace(src, dst):
        if name is None or Path(dst).name == name:
            refused.append((Path(src), Path(dst), Path(src).read_bytes()))
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return refused


def test_a_failed_rename_leaves_the_old_file_whole(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    write_json_atomic(target, {"version": 1})
    before = target.read_bytes()
    refused = failing_replace(monkeypatch)
    new = {"version": 2, "samples": list(range(50_000)), "name": "Café 🎉"}
    with pytest.raises(OSError, match="No space left"):
        write_json_atomic(target, new)
    assert target.read_bytes() == before and json.loads(before) == {"version": 1}
    # The new content was complete in a temp file in the same folder (so the rename is atomic).
    (src, dst, data), = refused
    assert dst == target and src.parent == target.parent and src != target
    assert json.loads(data.decode("utf-8")) == new


def test_an_error_while_serialising_leaves_the_old_file_whole(tmp_path):
    class Unprintable:
        def __str__(self):
            raise RuntimeError("cannot serialise")

    target = tmp_path / "config.json"
    write_json_atomic(target, {"version": 1})
    before = target.read_bytes()
    # Many rows first, so part of the new JSON has already been written when serialising fails.
    with pytest.raises(RuntimeError, match="cannot serialise"):
        write_json_atomic(target, {"rows": [{"i": i} for i in range(100_000)], "bad": Unprintable()})
    assert target.read_bytes() == before


def test_eval_run_metrics_are_absent_or_whole(tmp_path, monkeypatch):
    """eval.run's own writes: a failed metrics write leaves none (then the old one), never a torn file."""
    args = ["--model", "heuristic:greedy", "--split", "test", "--limit", "4", "--results-dir", str(tmp_path)]
    failing_replace(monkeypatch, "metrics.json")
    with pytest.raises(OSError):
        eval_main(args)
    (run_dir,) = tmp_path.iterdir()
    assert not (run_dir / "metrics.json").exists()
    assert json.loads((run_dir / "config.json").read_text())["split"] == "test"  # written whole before
    monkeypatch.undo()
    assert eval_main(args) == 0  # resumes from samples.jsonl and writes the metrics
    metrics = (run_dir / "metrics.json").read_bytes()
    assert json.loads(metrics)["n"] == 4
    failing_replace(monkeypatch, "metrics.json")
    with pytest.raises(OSError):
        eval_main(args)
    assert (run_dir / "metrics.json").read_bytes() == metrics


def test_training_log_truncation_is_atomic(tmp_path, monkeypatch):
    log = tmp_path / "training_log.jsonl"
    log.write_text("".join(json.dumps({"step": s}) + "\n" for s in (1, 2, 3)))
    before = log.read_bytes()
    failing_replace(monkeypatch)
    with pytest.raises(OSError):
        truncate_log(log, 1)
    assert log.read_bytes() == before
