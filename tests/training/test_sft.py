"""training/sft.py end to end on a tiny Llama: trains LoRA, saves a bf16 adapter that peft loads and runs."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.training.conftest import cpu_args
from training import sft
from training.log import read_log

RECIPE = "recipes/SmolLM2-135M-Instruct/sft/config.yaml"


def run_sft(model, out, **overrides):
    settings = dict(
        num_train_problems="24", max_steps="3", per_device_train_batch_size="4", logging_steps="1", save_steps="2",
        learning_rate="1e-2", hard_fraction="0", max_length="4096",  # the tiny tokenizer splits finer than SmolLM2's
    )
    argv = ["--config", RECIPE] + cpu_args(model, out, **{**settings, **overrides})
    return sft.main(argv)


@pytest.fixture(scope="module")
def sft_out(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("sft")
    run_sft(tiny_model, out)
    return out


def test_sft_trains_lora_and_saves_bf16_adapter(sft_out):
    tensors = load_file(str(sft_out / "adapter_model.safetensors"))
    lora_b = [t for k, t in tensors.items() if "lora_B" in k]
    assert lora_b and all(t.dtype == torch.bfloat16 for t in tensors.values())
    # LoRA's B matrices start at exactly zero: any non-zero entry was learned.
    assert any(t.abs().sum() > 0 for t in lora_b)
    config = json.loads((sft_out / "adapter_config.json").read_text())
    assert config["r"] == 8 and config["peft_type"] == "LORA"


def test_sft_adapter_loads_with_peft_and_generates(sft_out, tiny_model):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import scheduler

    tok = AutoTokenizer.from_pretrained(sft_out)
    base = AutoModelForCausalLM.from_pretrained(tiny_model, use_safetensors=True)
    model = PeftModel.from_pretrained(base, str(sft_out))
    row = scheduler.generate_rows(1, seed=99)[0]
    ids = tok.apply_chat_template(
        scheduler.build_messages(row["prompt"]), add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    out = model.generate(**ids, max_new_tokens=6, do_sample=False)
    assert out.shape[1] > ids["input_ids"].shape[1]


def test_sft_writes_log_summary_and_card(sft_out):
    steps = [r["step"] for r in read_log(sft_out)]
    assert steps == [1, 2, 3]
    assert all("loss" in r for r in read_log(sft_out))
    summary = json.loads((sft_out / "training_summary.json").read_text())
    assert summary["stage"] == "sft" and summary["global_step"] == 3
    assert summary["data"]["problems"] == 24
    card = (sft_out / "README.md").read_text()
    assert "SFT LoRA adapter" in card and "Not evaluated yet" in card


def test_sft_is_deterministic_for_a_seed(tiny_model, tmp_path, sft_out):
    run_sft(tiny_model, tmp_path)
    a = load_file(str(sft_out / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_sft_continues_an_adapter_on_fresh_problems(tiny_model, tmp_path, sft_out):
    """--init_adapter: the adapter keeps its own rank and keys, its weights move, and the run names its start."""
    from eval.results import weights_sha256

    run_sft(tiny_model, tmp_path, init_adapter=str(sft_out), lora_r="4", generator_seed="2", max_steps="2")
    assert json.loads((tmp_path / "adapter_config.json").read_text())["r"] == 8  # sft_out's, not lora_r
    before, after = load_file(str(sft_out / "adapter_model.safetensors")), load_file(str(tmp_path / "adapter_model.safetensors"))
    assert before.keys() == after.keys() and any(not torch.equal(before[k], after[k]) for k in before)
    summary = json.loads((tmp_path / "training_summary.json").read_text())
    assert summary["init_adapter_sha256"] == weights_sha256(sft_out) is not None
    assert json.loads((sft_out / "training_summary.json").read_text())["init_adapter_sha256"] is None  # a fresh LoRA
    assert f"starting from the adapter `{sft_out}`" in (tmp_path / "README.md").read_text()


def test_sft_refuses_a_max_length_that_would_cut_targets(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="Raise --max_length"):
        run_sft(tiny_model, tmp_path, max_length="128")


def test_full_fine_tune_then_grpo_trains_every_weight(tiny_model, tmp_path):
    """The full-model path (config_full recipes): SFT saves a whole model in fp32, GRPO continues all of it."""
    from tests.training.test_grpo import run_grpo

    sft_dir, grpo_dir = tmp_path / "sft", tmp_path / "grpo"
    run_sft(tiny_model, sft_dir, use_peft="false", think_format="scan", name_source="diverse", max_steps="2",
            learning_rate="1e-3")
    assert not (sft_dir / "adapter_model.safetensors").exists()
    base, tuned = load_file(str(Path(tiny_model) / "model.safetensors")), load_file(str(sft_dir / "model.safetensors"))
    assert tuned["model.layers.0.mlp.down_proj.weight"].dtype == torch.float32
    assert not torch.equal(base["model.layers.0.mlp.down_proj.weight"], tuned["model.layers.0.mlp.down_proj.weight"])
    summary = json.loads((sft_dir / "training_summary.json").read_text())
    assert summary["data"]["think_format"] == "scan" and summary["data"]["name_source"] == "diverse"

    run_grpo(str(sft_dir), grpo_dir, use_peft="false", max_steps="1")
    after = load_file(str(grpo_dir / "model.safetensors"))
    assert not torch.equal(tuned["model.layers.1.self_attn.q_proj.weight"], after["model.layers.1.self_attn.q_proj.weight"])
