"""training.rollout_weights: the merged copy decodes as the LoRA policy does, and follows its updates."""

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from models.batch_generate import generate_ids
from scheduler import build_messages, load_split
from training.rollout_weights import MergedCopy


@pytest.fixture()
def policy(tiny_model):
    base = AutoModelForCausalLM.from_pretrained(tiny_model, use_safetensors=True)
    torch.manual_seed(0)
    return get_peft_model(base, LoraConfig(r=8, target_modules="all-linear", init_lora_weights=False))


@pytest.fixture(scope="module")
def prompts(tiny_model):
    tok = AutoTokenizer.from_pretrained(tiny_model)
    texts = [tok.apply_chat_template(build_messages(r["prompt"]), add_generation_prompt=True, tokenize=False)
             for r in load_split("test")[:3]]
    return [tok(t, add_special_tokens=False)["input_ids"] for t in texts], tok


def greedy(tok):
    return GenerationConfig(max_new_tokens=16, do_sample=False, eos_token_id=tok.eos_token_id,
                            pad_token_id=tok.pad_token_id)


def test_the_copy_generates_the_policys_tokens_and_follows_its_updates(policy, prompts):
    ids, tok = prompts
    merged = MergedCopy(policy)
    assert len(merged.pairs) == 2 * 7  # 2 layers x (q, k, v, o, gate, up, down)
    assert not any(p.requires_grad for p in merged.model.parameters())
    before = generate_ids(policy, ids, greedy(tok), method="plain")
    assert generate_ids(merged.refresh(), ids, greedy(tok), method="loop") == before
    with torch.no_grad():  # an optimizer step on the adapter
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.add_(torch.randn_like(p))
    after = generate_ids(policy, ids, greedy(tok), method="plain")
    assert after != before
    weights = [t.weight.data_ptr() for _, t in merged.pairs]
    assert generate_ids(merged.refresh(), ids, greedy(tok), method="loop") == after
    assert [t.weight.data_ptr() for _, t in merged.pairs] == weights  # updated in place (CUDA graphs keep them)
    with policy.disable_adapter():  # adapters off: the copy is the base model
        assert generate_ids(merged.refresh(), ids, greedy(tok), method="loop") == generate_ids(
            policy, ids, greedy(tok), method="plain")


def test_weights_the_copy_would_not_follow_are_refused(tiny_model):
    def lora(**kwargs):
        base = AutoModelForCausalLM.from_pretrained(tiny_model, use_safetensors=True)
        return get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj"], **kwargs))

    with pytest.raises(ValueError, match="other than LoRA"):  # a trained lm_head: the copy would go stale
        MergedCopy(lora(modules_to_save=["lm_head"]))
    with pytest.raises(ValueError, match="DoRA"):  # its merged weight is not base + delta
        MergedCopy(lora(use_dora=True))
    assert len(MergedCopy(lora()).pairs) == 2
