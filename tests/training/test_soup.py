"""training/soup.py on tiny models: the soup is base + the weighted changes of its ingredients, LoRA or full."""

import argparse
import json

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from models.tiny import build_tiny_model
from tests.training.helpers import fake_fine_tune
from training.soup import main, parse_ingredient, soup


def lora_adapter(base, out, seed: int = 3):
    """A real peft LoRA of ``base`` with random (non-zero) factors, saved to ``out``; returns its merged model."""
    model = AutoModelForCausalLM.from_pretrained(base)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "down_proj"]))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_" in name:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
    peft_model.save_pretrained(out)
    return peft_model.merge_and_unload()


def test_parse_ingredient():
    assert parse_ingredient("/a/b:0.25") == ("/a/b", 0.25)
    assert parse_ingredient("/a/b") == ("/a/b", 1.0)
    with pytest.raises(argparse.ArgumentTypeError, match="must be a number"):
        parse_ingredient("/a/b:half")


def test_the_soup_is_the_weighted_sum_of_changes(tmp_path):
    base_dir = build_tiny_model(tmp_path / "base")
    base = AutoModelForCausalLM.from_pretrained(base_dir).state_dict()
    full = fake_fine_tune(base_dir, tmp_path / "full", rank=2).state_dict()
    lora = lora_adapter(base_dir, tmp_path / "lora").state_dict()
    record = soup(str(base_dir), [(str(tmp_path / "full"), 0.7), (str(tmp_path / "lora"), 0.3)], tmp_path / "soup")
    got = AutoModelForCausalLM.from_pretrained(tmp_path / "soup").state_dict()
    for key, value in base.items():
        want = value + 0.7 * (full[key] - value) + 0.3 * (lora[key] - value)
        assert torch.allclose(got[key], want, atol=1e-5), key
    # the LoRA's change reached the soup (q_proj moved beyond the full fine-tune's share alone)
    key = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.allclose(got[key], base[key] + 0.7 * (full[key] - base[key]), atol=1e-4)
    assert record["ingredients"][1] == {"path": str(tmp_path / "lora"), "weight": 0.3}
    assert json.loads((tmp_path / "soup" / "soup.json").read_text()) == record
    assert (tmp_path / "soup" / "tokenizer_config.json").is_file()


def test_one_ingredient_at_weight_one_is_that_model(tmp_path):
    base_dir = build_tiny_model(tmp_path / "base")
    full = fake_fine_tune(base_dir, tmp_path / "full", rank=2).state_dict()
    assert main(["--base", str(base_dir), "--ingredient", str(tmp_path / "full"), "--out", str(tmp_path / "s")]) == 0
    got = AutoModelForCausalLM.from_pretrained(tmp_path / "s").state_dict()
    assert all(torch.allclose(got[k], v, atol=1e-6) for k, v in full.items())


def test_a_model_of_another_base_is_refused(tmp_path):
    base_dir = build_tiny_model(tmp_path / "base")
    other = build_tiny_model(tmp_path / "other", arch="qwen2")
    with pytest.raises(ValueError, match="not a fine-tune of"):
        soup(str(base_dir), [(str(other), 0.5)], tmp_path / "soup")
