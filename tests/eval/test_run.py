"""eval.run end to end on tiny real models: result files, resume after SIGKILL, torn lines, refusals."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eval.run import TIMING_KEYS, main
from scheduler import Problem, aggregate, load_split, score_completion

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_KEYS = {"index", "sample", "prompt_sha256", "completion", "verdict", "score", "breakdown", "n_tokens", "seconds", "seed"}


def read_samples(run_dir):
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def read(run_dir, name):
    return json.loads((run_dir / name).read_text())


def without_timings(metrics):
    return {k: v for k, v in metrics.items() if k not in TIMING_KEYS}


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_end_to_end_on_a_tiny_model(arch, request, tmp_path, capsys):
    model = request.getfixturevalue(f"tiny_{arch}")
    args = ["--model", str(model), "--split", "test", "--limit", "5", "--batch-size", "2", "--max-new-tokens", "24",
            "--results-dir", str(tmp_path)]
    assert main(args) == 0
    run_dir = tmp_path / f"tiny-{arch}-test-n5-greedy"
    assert f"{run_dir}: 0/5 valid" in capsys.readouterr().out

    samples = read_samples(run_dir)
    assert [(s["index"], s["sample"]) for s in samples] == [(i, 0) for i in range(5)]
    rows = load_split("test")
    for s in samples:
        assert set(s) == SAMPLE_KEYS
        verdict = score_completion(s["completion"], Problem.from_row(rows[s["index"]]))
        assert (s["verdict"], s["score"]) == (verdict.verdict, verdict.score)
        assert s["breakdown"]["verdict"] == s["verdict"] and 1 <= s["n_tokens"] <= 24
    assert len({s["prompt_sha256"] for s in samples}) == 5

    metrics = read(run_dir, "metrics.json")
    verdicts = [score_completion(s["completion"], Problem.from_row(rows[s["index"]])) for s in samples]
    assert without_timings(metrics) == without_timings({
        **aggregate(verdicts), "valid": 0, "n_prompts": 5, "samples_per_prompt": 1, "complete": True,
        "n_tokens": sum(s["n_tokens"] for s in samples), "wall_time_s": None, "tokens_per_second": None})
    assert metrics["tokens_per_second"] > 0 and metrics["wall_time_s"] > 0

    config = read(run_dir, "config.json")
    assert config["sampling"] == {"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 24, "seed": 0}
    assert config["batch_size"] == 2 and config["backend"] == "transformers" and config["split"] == "test"
    assert len(config["chat_template_sha256"]) == 64 and config["device"].startswith("cpu")
    assert {"torch", "transformers", "peft", "python"} <= set(config["versions"])
    assert "commit" in config["git"] and config["date"] and len(config["sessions"]) == 1

    # Running the same command again finds everything done: no model load, nothing appended.
    assert main(args) == 0
    assert read_samples(run_dir) == samples and len(read(run_dir, "config.json")["sessions"]) == 1


def test_sampled_runs_write_every_sample(tiny_llama, tmp_path):
    args = ["--model", str(tiny_llama), "--limit", "3", "--temperature", "1.0", "--samples", "2",
            "--max-new-tokens", "8", "--results-dir", str(tmp_path)]
    assert main(args) == 0
    run_dir = tmp_path / "tiny-llama-test-n3-t1x2"
    assert sorted((s["index"], s["sample"]) for s in read_samples(run_dir)) == [(i, s) for i in range(3) for s in range(2)]
    assert read(run_dir, "metrics.json")["n"] == 6


def run_cli(args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "eval.run", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, **kwargs)


def test_sigkill_then_resume_loses_and_duplicates_nothing(tiny_llama, tmp_path):
    common = ["--model", str(tiny_llama), "--limit", "10", "--batch-size", "2", "--max-new-tokens", "32"]
    assert main([*common, "--results-dir", str(tmp_path / "straight")]) == 0  # the uninterrupted reference

    killed_dir = tmp_path / "killed"
    samples = killed_dir / "tiny-llama-test-n10-greedy" / "samples.jsonl"
    proc = run_cli([*common, "--results-dir", str(killed_dir)])
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if samples.exists() and samples.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    done_before = samples.read_bytes().count(b"\n")
    assert 2 <= done_before < 10

    resumed = run_cli([*common, "--results-dir", str(killed_dir)])
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    straight_dir = tmp_path / "straight" / "tiny-llama-test-n10-greedy"
    killed_run = killed_dir / "tiny-llama-test-n10-greedy"
    keys = [(s["index"], s["sample"]) for s in read_samples(killed_run)]
    assert sorted(keys) == [(i, 0) for i in range(10)]  # nothing lost, nothing twice
    by_key = {(s["index"], s["sample"]): s["completion"] for s in read_samples(killed_run)}
    assert by_key == {(s["index"], s["sample"]): s["completion"] for s in read_samples(straight_dir)}
    assert without_timings(read(killed_run, "metrics.json")) == without_timings(read(straight_dir, "metrics.json"))
    sessions = read(killed_run, "config.json")["sessions"]
    assert [s["samples_before"] for s in sessions] == [0, done_before]


def test_a_torn_last_line_is_generated_again(tiny_qwen2, tmp_path):
    args = ["--model", str(tiny_qwen2), "--limit", "4", "--batch-size", "2", "--max-new-tokens", "16",
            "--results-dir", str(tmp_path)]
    assert main(args) == 0
    run_dir = tmp_path / "tiny-qwen2-test-n4-greedy"
    complete = read_samples(run_dir)
    text = (run_dir / "samples.jsonl").read_text()
    lines = text.splitlines(keepends=True)
    # A kill in the middle of writing the second batch: one whole line and half of the next.
    (run_dir / "samples.jsonl").write_text("".join(lines[:3]) + lines[3][: len(lines[3]) // 2])
    assert main(args) == 0
    again = read_samples(run_dir)
    assert len(again) == 4 and [s["completion"] for s in again] == [s["completion"] for s in complete]


def test_a_corrupt_middle_line_is_reported(tiny_qwen2, tmp_path, capsys):
    args = ["--model", str(tiny_qwen2), "--limit", "2", "--max-new-tokens", "4", "--results-dir", str(tmp_path)]
    assert main(args) == 0
    path = tmp_path / "tiny-qwen2-test-n2-greedy" / "samples.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("{broken\n" + lines[1])
    assert main(args) == 2
    assert "Line 1 of" in capsys.readouterr().err


def test_refusals_are_sentences(tiny_llama, tmp_path, capsys):
    base = ["--model", str(tiny_llama), "--limit", "2", "--max-new-tokens", "4", "--results-dir", str(tmp_path)]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    cases = [
        (["--samples", "3"], "Greedy decoding gives the same completion"),
        (["--adapter", str(tmp_path / "no-adapter")], "adapter folder"),
        (["--split", "nope"], "Unknown split"),
        (["--preset", "smollm2-135m"], "either --preset"),
        (["--limit", "0"], "--limit must be at least 1"),
        (["--split", str(empty)], "has no rows"),
    ]
    for extra, message in cases:
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert main(["--results-dir", str(tmp_path)]) == 2
    assert "Say what to evaluate" in capsys.readouterr().err

    assert main([*base, "--run-name", "fixed"]) == 0
    assert main([*base, "--run-name", "fixed", "--temperature", "0.7"]) == 2
    assert "already holds a run with other settings (sampling differ)" in capsys.readouterr().err


def test_missing_tuned_preset_is_said_clearly(tmp_path, capsys, monkeypatch):
    import dataclasses

    from models import specs

    preset = specs.PRESETS["smollm2-135m"]
    gone = dataclasses.replace(preset.tuned_candidate, adapter=str(tmp_path / "not-shipped"))
    monkeypatch.setitem(specs.PRESETS, "smollm2-135m", dataclasses.replace(preset, tuned_candidate=gone))
    assert main(["--preset", "smollm2-135m", "--preset-side", "tuned", "--results-dir", str(tmp_path)]) == 2
    assert "adapter is not in this checkout yet" in capsys.readouterr().err


def test_committed_heuristic_results_are_reproduced(tmp_path):
    """The runs in results/ are real: running them again gives the same samples and metrics."""
    for rule in ("priorities", "greedy"):
        for split in ("test", "hard"):
            name = f"heuristic-{rule}-{split}"
            committed = ROOT / "results" / name
            assert main(["--model", f"heuristic:{rule}", "--split", split, "--results-dir", str(tmp_path)]) == 0
            fresh = tmp_path / name
            assert without_timings(read(fresh, "metrics.json")) == without_timings(read(committed, "metrics.json"))
            drop = lambda s: {k: v for k, v in s.items() if k != "seconds"}  # noqa: E731
            assert [drop(s) for s in read_samples(fresh)] == [drop(s) for s in read_samples(committed)]


def test_several_splits_in_one_process_record_the_weights_hashes(tiny_llama, tmp_path, capsys):
    import hashlib
    import shutil

    from safetensors.torch import load_file, save_file

    from eval.results import weights_sha256

    model = tmp_path / "model"
    shutil.copytree(tiny_llama, model)
    args = ["--model", str(model), "--split", "test,hard", "--limit", "2", "--batch-size", "2",
            "--max-new-tokens", "8", "--results-dir", str(tmp_path / "results"), "--run-name", "tiny-{split}"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    want = hashlib.sha256((model / "model.safetensors").read_bytes()).hexdigest()
    for split in ("test", "hard"):
        run_dir = tmp_path / "results" / f"tiny-{split}"
        assert f"{run_dir}: " in printed
        config = read(run_dir, "config.json")
        assert config["split"] == split and config["weights_sha256"] == {"model": want, "adapter": None}
    assert weights_sha256(tmp_path) is None  # no safetensors there

    # New weights in the same folder, resumed under the same run name: refused, not mixed into one run.
    tensors = load_file(model / "model.safetensors")
    save_file({k: v + 0.01 for k, v in tensors.items()}, model / "model.safetensors", metadata={"format": "pt"})
    (tmp_path / "results" / "tiny-test" / "samples.jsonl").write_text("")  # samples pending: the model is loaded
    assert main(args) == 2
    assert "other weights" in capsys.readouterr().err


def test_a_dtype_asked_for_is_loaded_recorded_and_part_of_the_identity(tiny_llama, tmp_path, capsys):
    args = ["--model", str(tiny_llama), "--limit", "2", "--batch-size", "2", "--max-new-tokens", "6", "--device", "cpu",
            "--results-dir", str(tmp_path), "--run-name", "tiny"]
    assert main([*args, "--dtype", "bfloat16"]) == 0
    config = read(tmp_path / "tiny", "config.json")
    assert config["identity"]["dtype"] == "bfloat16" and "'dtype': 'bfloat16'" in str(config["model_info"])
    assert main(args) == 2  # the same run name without the dtype: other settings, refused
    assert "dtype" in capsys.readouterr().err


def test_several_splits_need_a_run_name_with_a_split_placeholder(tiny_llama, tmp_path, capsys):
    assert main(["--model", str(tiny_llama), "--split", "test,hard", "--run-name", "fixed",
                 "--results-dir", str(tmp_path)]) == 2
    assert "{split}" in capsys.readouterr().err


def test_hinted_runs_give_the_greedy_answers_of_a_plain_run(tiny_llama, tmp_path, capsys):
    """--hint: one prompt at a time through the app's decoder, drafting from the solver's answer; the same answers
    and token counts as the batched run, and a run made one way is not resumed the other way."""
    common = ["--model", str(tiny_llama), "--limit", "3", "--max-new-tokens", "24", "--device", "cpu",
              "--results-dir", str(tmp_path)]
    assert main([*common, "--run-name", "plain"]) == 0
    assert main([*common, "--run-name", "hinted", "--hint", "true"]) == 0
    plain, hinted = ([json.loads(line) for line in (tmp_path / name / "samples.jsonl").read_text().splitlines()]
                     for name in ("plain", "hinted"))
    assert [(r["completion"], r["n_tokens"]) for r in hinted] == [(r["completion"], r["n_tokens"]) for r in plain]
    assert json.loads((tmp_path / "hinted" / "config.json").read_text())["identity"]["hint"] is True
    capsys.readouterr()
    assert main([*common, "--run-name", "hinted"]) == 2  # resumed without --hint: another decoder
    assert "other settings (hint" in capsys.readouterr().err
    assert main([*common, "--run-name", "sampled", "--hint", "true", "--temperature", "1.0"]) == 2
    assert "greedy answers only" in capsys.readouterr().err
