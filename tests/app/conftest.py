"""Fixtures of the app tests: a tiny real model, and the real Space served by ``app.py`` in a subprocess.

The server runs the embedded SmolLM2-135M-Instruct (provisioned from PyPI on first use) as the base
and the same model with a freshly initialised LoRA adapter (saved by peft) as the tuned side, so both
lanes go through real loading, adapter merging and streaming generation. Answers are kept short
(``SCHEDULER_MAX_NEW_TOKENS``) to keep CPU time low. The leaderboard reads a real ``eval.run``
result (the greedy heuristic on 5 test problems) written to a temporary results directory.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from models.tiny import build_tiny_model

ROOT = Path(__file__).resolve().parents[2]
SERVER_MAX_NEW_TOKENS = 24
SCRIPT_NAME = "Breakfast <script>alert('xss')</script>"


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("app-models") / "tiny-llama", arch="llama")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    port = free_port()
    env = {
        **os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
        "SCHEDULER_MAX_NEW_TOKENS": str(SERVER_MAX_NEW_TOKENS), "SCHEDULER_RESULTS_DIR": str(results),
    }
    log_path = work / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port), "--tuned-adapter", str(adapter)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"app.py did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
