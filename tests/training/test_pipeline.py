"""scripts/gpu_pipeline.sh on a CPU with the tiny model: background stages, wait, status, collect."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CPU = "--model_name_or_path {m} --bf16 false --dtype float32 --num_train_problems 16 --max_steps 2 --hard_fraction 0 " \
      "--per_device_train_batch_size 4 --lora_r 8 --lora_alpha 16 --max_train_minutes 0"


def test_pipeline_runs_sft_then_grpo_and_collects(tiny_model, tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    out.mkdir()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",  # python3 = this venv's
        "WORK": str(work), "OUT": str(out), "WAIT_S": "240",
        "SFT_ARGS": CPU.format(m=tiny_model) + " --dataset_num_proc 1 --logging_steps 1 --max_length 4096",
        "GRPO_ARGS": CPU.format(m=tiny_model) + " --gradient_accumulation_steps 1 --steps_per_generation 1 "
        "--num_generations 4 --max_completion_length 8 --log_completions false",
    }
    stages = ["sft", "wait", "grpo", "wait", "status", "collect"]
    proc = subprocess.run(["bash", "scripts/gpu_pipeline.sh", *stages], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "sft finished" in proc.stdout and "grpo finished" in proc.stdout
    for stage in ("sft", "grpo"):
        parts = sorted((out / stage).glob("adapter_model.safetensors.part-*"))
        joined = b"".join(p.read_bytes() for p in parts)
        expected = (out / stage / "adapter_model.sha256").read_text().split()[0]
        assert hashlib.sha256(joined).hexdigest() == expected
        assert (out / stage / "training_summary.json").is_file() and (out / stage / "README.md").is_file()
    summary = json.loads((out / "grpo" / "training_summary.json").read_text())
    assert summary["script_args"]["init_adapter"] == str(work / "sft")  # GRPO continued the SFT adapter

    # eval + bundle: what the device calls ran to score the adapters and bring everything back
    bundle_out = tmp_path / "bundle"
    bundle_out.mkdir()
    env = {**env, "OUT": str(bundle_out), "EVAL_BASE": str(tiny_model), "EVAL_MODELS": "base grpo",
           "EVAL_SPLITS": "test", "EVAL_MAX_NEW_TOKENS": "8", "EVAL_ARGS": "--limit 2 --device cpu --batch_size 2"}
    proc = subprocess.run(["bash", "scripts/gpu_pipeline.sh", "eval", "bundle"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    parts = sorted(bundle_out.glob("bundle.tgz.part-*"))
    subprocess.run(["tar", "xzf", "-", "-C", str(unpacked)], input=b"".join(p.read_bytes() for p in parts), check=True)
    for run in ("smollm2-135m-instruct-test-greedy", "smollm2-135m-grpo-test-greedy"):
        metrics = json.loads((unpacked / "results" / run / "metrics.json").read_text())
        assert metrics["n"] == 2 and metrics["complete"]
    assert (unpacked / "grpo" / "adapter_model.safetensors").is_file()
    assert not list(unpacked.glob("*/checkpoint-*"))


def test_pipeline_refuses_grpo_without_an_sft_adapter(tmp_path):
    env = {**os.environ, "WORK": str(tmp_path)}
    proc = subprocess.run(["bash", "scripts/gpu_pipeline.sh", "grpo"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode != 0 and "run (and finish) the sft stage first" in proc.stdout
