"""Issue 8's CPU part: the GRPO script under `accelerate launch` with 2 processes (gloo), no code change."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.training.conftest import cpu_args
from tests.training.test_grpo import REWARD_WEIGHTS, REWARDS
from training.log import read_log

ROOT = Path(__file__).resolve().parents[2]


def test_grpo_runs_on_two_processes_with_accelerate(tiny_model, tmp_path):
    argv = ["--config", "recipes/SmolLM2-135M-Instruct/grpo/config.yaml"] + cpu_args(
        tiny_model, tmp_path, use_cpu="true", num_train_problems="16", max_steps="2", per_device_train_batch_size="4",
        gradient_accumulation_steps="1", steps_per_generation="1", num_generations="4", max_completion_length="8",
        mask_truncated_completions="false", save_steps="1", log_completions="false", learning_rate="5e-2",
        reward_funcs=REWARDS, reward_weights=REWARD_WEIGHTS,
    )
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", "recipes/accelerate_configs/ddp.yaml", "--num_processes", "2", "--mixed_precision", "no",
        "training/grpo.py", *argv,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "training_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 2
    # One log line per step: only the main process writes.
    assert [r["step"] for r in read_log(tmp_path)] == [1, 2]
    assert (tmp_path / "adapter_model.safetensors").is_file()
