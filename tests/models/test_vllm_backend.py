"""The real ``VLLMBackend`` on the CPU build of vLLM (``vllm-cpu``, requirements-vllm.txt), on the embedded
SmolLM2-135M-Instruct, base and with the shipped adapter (merged, as a CPU serves every adapter by default), and
a plain LoRA through ``LoRARequest``, scored against the transformers backend.

The vLLM tests need vllm: they run in the separate venv (``.venv-vllm``, docs/models-and-eval.md,
"vLLM on a CPU") and are skipped in the normal one, which has no vllm. The adapter decisions that need
no engine (which adapter is merged, which goes through ``LoRARequest``) run everywhere.

    . .venv-vllm/bin/activate && python -m pytest -q tests/models/test_vllm_backend.py
"""

import importlib.util
import json
import os
from pathlib import Path

import pytest

from models.backend import SamplingSettings
from models.generation import adapter_merge_reasons, adapter_needs_merge
from models.specs import ModelSpec
from scheduler import build_messages, load_problems, score_completion

ROOT = Path(__file__).resolve().parents[2]
ADAPTER = ROOT / "checkpoints" / "smollm2-135m-scheduler"
BASE = "smollm2-135m-instruct"
N_PROMPTS = 2  # canonical test #0 and #1
GREEDY = SamplingSettings(max_new_tokens=1024)  # the tuned model stops well before
BASE_GREEDY = SamplingSettings(max_new_tokens=384)  # the base model often rambles to the cap
ENGINE = {"enforce_eager": True}  # no torch.compile warm-up: the engine starts faster, the kernels are the same

needs_vllm = pytest.mark.skipif(
    importlib.util.find_spec("vllm") is None,
    reason="vllm is not installed in this venv (the normal CI venv has none); these tests run in .venv-vllm: "
    "python3 -m venv .venv-vllm && . .venv-vllm/bin/activate && pip install -r requirements.txt -r requirements-vllm.txt",
)

# A small KV cache (GiB) is plenty for a 135M model and three prompts; several engines live in one process.
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
# vLLM's own log handler would hold the stream pytest captures and closes: its shutdown messages at exit then
# raise "I/O operation on closed file". Without it, its records go through pytest's logging like any other.
os.environ.setdefault("VLLM_CONFIGURE_LOGGING", "0")


def plain_lora_config(path: Path, **extra) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    config = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"],
              "modules_to_save": None, **extra}
    (path / "adapter_config.json").write_text(json.dumps(config))
    return path


# --- the decisions (no engine needed) ---

def test_the_shipped_adapter_is_a_plain_lora_merged_on_a_cpu_only():
    assert adapter_needs_merge(ADAPTER) == []  # r128 on the linear layers: vLLM's LoRA can apply it
    assert adapter_merge_reasons(ADAPTER, "cuda") == []  # a LoRARequest on a GPU
    assert adapter_merge_reasons(ADAPTER, "cpu") == ["vLLM's CPU build (its LoRA kernels are slow)"]
    assert adapter_merge_reasons(ADAPTER, "cpu", serve_lora="request") == []
    assert adapter_merge_reasons(ADAPTER, "cuda", serve_lora="merge") == ["asked for a merged copy"]
    with pytest.raises(ValueError, match="serve_lora must be one of"):
        adapter_merge_reasons(ADAPTER, "cpu", serve_lora="lora")


def test_an_adapter_vllm_cannot_apply_is_merged_everywhere(tmp_path):
    extracted = plain_lora_config(tmp_path / "extracted", target_modules=["q_proj", "embed_tokens"],
                                  modules_to_save=["norm"])
    for device, serve in (("cuda", None), ("cuda", "request"), ("cpu", "request")):
        reasons = adapter_merge_reasons(extracted, device, serve_lora=serve)
        assert any("embed_tokens" in r for r in reasons) and any("modules_to_save" in r for r in reasons)


def test_a_plain_lora_adapter_needs_no_merge(tmp_path):
    assert adapter_needs_merge(plain_lora_config(tmp_path / "plain")) == []
    assert adapter_needs_merge(plain_lora_config(tmp_path / "all-linear", target_modules="all-linear")) == []
    assert adapter_needs_merge(plain_lora_config(tmp_path / "emb", target_modules=["q_proj", "embed_tokens"]))
    assert adapter_needs_merge(plain_lora_config(tmp_path / "norms", modules_to_save=["norm"]))
    assert adapter_needs_merge(plain_lora_config(tmp_path / "regex", target_modules=r".*(embed_tokens|q_proj)"))


# --- the real engine ---

@pytest.fixture(scope="module")
def problems():
    return load_problems("test")[:N_PROMPTS]


@pytest.fixture(scope="module")
def conversations(problems):
    return [build_messages(p) for p in problems]


def verdicts(results, problems):
    return [(v.verdict, round(v.score, 6)) for v in (score_completion(r.text, p) for r, p in zip(results, problems))]


@pytest.fixture(scope="module")
def transformers_runs(conversations):
    """The transformers backend's greedy answers (fp32 on the CPU): base, and with the shipped adapter."""
    from models.generation import TransformersBackend

    out = {}
    for side, spec in (("base", ModelSpec(BASE)), ("tuned", ModelSpec(BASE, str(ADAPTER)))):
        backend = TransformersBackend(spec, device="cpu", fast=False)
        out[side] = backend.generate(conversations, BASE_GREEDY if side == "base" else GREEDY)
        del backend
    return out


@needs_vllm
@pytest.mark.timeout(1800)
def test_vllm_base_scores_like_transformers(conversations, problems, transformers_runs):
    from models.generation import VLLMBackend

    backend = VLLMBackend(ModelSpec(BASE), device="cpu", dtype="float32", **ENGINE)
    assert backend.lora_request is None and backend.served_path == backend.model_path
    info = backend.info()
    assert info["device"] == "cpu" and info["dtype"] == "float32" and len(info["chat_template_sha256"]) == 64
    got = backend.generate(conversations, BASE_GREEDY)
    assert all(r.n_new_tokens >= 1 for r in got)
    assert verdicts(got, problems) == verdicts(transformers_runs["base"], problems)


@needs_vllm
@pytest.mark.timeout(1800)
def test_vllm_serves_the_shipped_adapter_merged_on_a_cpu_and_scores_like_transformers(conversations, problems,
                                                                                        transformers_runs):
    from eval.results import weights_sha256
    from models.generation import VLLMBackend, merged_adapter_folder

    backend = VLLMBackend(ModelSpec(BASE, str(ADAPTER)), device="cpu", dtype="float32", **ENGINE)
    assert backend.lora_request is None  # no LoRARequest: the merged copy is the model
    served = Path(backend.served_path)
    assert served.name.startswith(weights_sha256(ADAPTER)) and (served / "merged.json").is_file()
    assert merged_adapter_folder(ModelSpec(BASE, str(ADAPTER)), backend.model_path) == served  # made once, reused
    assert backend.info()["adapter_served_as"] == "merged copy"
    got = backend.generate(conversations, GREEDY)
    want = verdicts(transformers_runs["tuned"], problems)
    assert verdicts(got, problems) == want
    assert any(score > 0 for _, score in verdicts(got, problems))  # the fine-tune's answers, not the base's


@pytest.fixture(scope="module")
def plain_lora(tmp_path_factory):
    """A real plain LoRA adapter on SmolLM2 (q_proj and v_proj only, small random factors)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from models.loading import resolve_model_path

    torch.manual_seed(0)  # the same factors on every run
    model = AutoModelForCausalLM.from_pretrained(resolve_model_path(BASE), dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                                                  init_lora_weights=False))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.mul_(0.05)
    out = tmp_path_factory.mktemp("adapters") / "plain-lora"
    peft_model.save_pretrained(out)
    return out


@needs_vllm
@pytest.mark.timeout(1800)
def test_vllm_serves_a_plain_lora_adapter_with_a_lora_request(conversations, problems, plain_lora):
    from models.generation import TransformersBackend, VLLMBackend

    spec = ModelSpec(BASE, str(plain_lora))
    backend = VLLMBackend(spec, device="cpu", dtype="float32", serve_lora="request", **ENGINE)
    assert backend.lora_request is not None and backend.served_path == backend.model_path
    assert backend.info()["adapter_served_as"] == "LoRARequest"
    settings = SamplingSettings(max_new_tokens=256)
    got = backend.generate(conversations[:1], settings)
    want = TransformersBackend(spec, device="cpu", fast=False).generate(conversations[:1], settings)
    assert verdicts(got, problems[:1]) == verdicts(want, problems[:1])
    assert got[0].text[:200] == want[0].text[:200]
    # The request really applies the adapter: the same engine gives other log-probabilities without it. (Small
    # random factors need not change a greedy text, so the texts are not what is compared.)
    from vllm import SamplingParams

    params = SamplingParams(temperature=0, max_tokens=16, logprobs=0)

    def logprobs(**kwargs) -> list[float]:
        out = backend.llm.chat([list(conversations[0])], params, use_tqdm=False, **kwargs)[0].outputs[0]
        return [step[token].logprob for step, token in zip(out.logprobs, out.token_ids)]

    with_adapter, without = logprobs(lora_request=backend.lora_request), logprobs()
    assert len(with_adapter) == len(without) == 16
    assert max(abs(a - b) for a, b in zip(with_adapter, without)) > 1e-3
