"""training/grpo.py end to end on a tiny Llama: rewards reach the trainer, LoRA learns, resume is exact."""

import json
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.training.conftest import cpu_args
from training import grpo, sft
from training.log import read_log

RECIPE = "recipes/SmolLM2-135M-Instruct/grpo/config.yaml"
# The core's rewards are all 0 on a random model's text (zero advantage, no gradient), so a last reward that
# varies between random completions gives the tiny model something to learn; ``programme`` (for dp-format models)
# rides along to show that TRL hands it the problem's columns as it does the others.
REWARDS = ["format", "order", "score", "programme", "tests.training.helpers.length_reward"]
REWARD_WEIGHTS = ["1", "1", "1", "1", "10"]


def run_grpo(model, out, **overrides):
    settings = dict(
        num_train_problems="16", max_steps="2", per_device_train_batch_size="4", gradient_accumulation_steps="1",
        steps_per_generation="1", num_generations="4", max_completion_length="8", mask_truncated_completions="false",
        learning_rate="5e-2", save_steps="1", log_completions="false", reward_funcs=REWARDS, hard_fraction="0.25",
        reward_weights=REWARD_WEIGHTS,
    )
    argv = ["--config", RECIPE] + cpu_args(model, out, **{**settings, **overrides})
    return grpo.main(argv)


def lora_b(path):
    return {k: t.float() for k, t in load_file(str(path / "adapter_model.safetensors")).items() if "lora_B" in k}


@pytest.fixture(scope="module")
def grpo_out(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("grpo")
    run_grpo(tiny_model, out)
    return out


def test_grpo_trains_lora_with_the_core_rewards(grpo_out):
    assert any(t.abs().sum() > 0 for t in lora_b(grpo_out).values())  # B starts at zero
    records = read_log(grpo_out)
    assert [r["step"] for r in records] == [1, 2]
    for name in ("format_reward", "order_reward", "score_reward", "programme_reward", "length_reward"):
        assert f"rewards/{name}/mean" in records[0]
    assert "completions/mean_length" in records[0]
    assert all(r["timing/rollout_s"] > 0 for r in records)  # loop rollouts, timed by training.rollouts
    sample = records[0]["samples"][0]
    assert sample["problem"].startswith("Events:") and set(sample["rewards"]) >= {"format_reward", "score_reward"}
    summary = json.loads((grpo_out / "training_summary.json").read_text())
    assert summary["reward_funcs"] == ["format_reward", "order_reward", "score_reward", "programme_reward", "length_reward"]
    assert summary["peak_gpu_memory_gib"] is None  # a CPU run: no GPU memory to report
    assert "GRPO LoRA adapter" in (grpo_out / "README.md").read_text()


def test_grpo_adapter_loads_with_peft_and_generates(grpo_out, tiny_model):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model, use_safetensors=True)
    model = PeftModel.from_pretrained(base, str(grpo_out))
    out = model.generate(torch.tensor([[1, 5, 9]]), max_new_tokens=4, do_sample=False)
    assert out.shape[1] > 3


def test_grpo_resume_continues_steps_and_log_without_duplicates(tiny_model, tmp_path):
    run_grpo(tiny_model, tmp_path, max_steps="2")
    first_session = read_log(tmp_path)
    # As if the run died after logging step 2 but before checkpoint-2 was complete.
    (tmp_path / "checkpoint-2" / "trainer_state.json").unlink()
    summary = run_grpo(tiny_model, tmp_path, max_steps="3", resume_from_checkpoint="true")
    assert summary["resumed_from"].endswith("checkpoint-1")
    records = read_log(tmp_path)
    assert [r["step"] for r in records] == [1, 2, 3]
    assert records[0] == first_session[0]  # kept from the first session, not rewritten
    state = json.loads((tmp_path / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    elapsed = [r["elapsed_s"] for r in records]
    assert elapsed == sorted(elapsed)  # wall time continues across the two sessions


def test_grpo_continues_an_sft_adapter(tiny_model, tmp_path):
    sft_dir, grpo_dir = tmp_path / "sft", tmp_path / "grpo"
    sft.main(
        ["--config", "recipes/SmolLM2-135M-Instruct/sft/config.yaml"]
        + cpu_args(tiny_model, sft_dir, num_train_problems="8", max_steps="1", per_device_train_batch_size="4",
                   learning_rate="1e-2", lora_r="4", lora_alpha="8", max_length="4096", hard_fraction="0")
    )
    run_grpo(tiny_model, grpo_dir, max_steps="1", init_adapter=str(sft_dir))
    config = json.loads((grpo_dir / "adapter_config.json").read_text())
    assert config["r"] == 4  # the SFT adapter's own config, not the recipe's lora_r
    from eval.results import weights_sha256

    summary = json.loads((grpo_dir / "training_summary.json").read_text())
    assert summary["init_adapter_sha256"] == weights_sha256(sft_dir) is not None  # the start, by its weights
    assert "| lora_r | 4 |" in (grpo_dir / "README.md").read_text()
    before, after = lora_b(sft_dir), lora_b(grpo_dir)
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_grpo_rejects_unknown_reward_names(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="Unknown reward function"):
        run_grpo(tiny_model, tmp_path, reward_funcs=["format", "nonsense"], reward_weights=["1", "1"])


def test_training_log_plots_to_png(grpo_out, tmp_path):
    from training.log import plot_training_log

    png = plot_training_log(grpo_out, tmp_path / "log.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_of_a_missing_checkpoint_path_is_an_error(tiny_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="not a complete checkpoint"):
        run_grpo(tiny_model, tmp_path, resume_from_checkpoint=str(tmp_path / "checkpoint-9"))
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_use_vllm_without_vllm_falls_back_to_transformers(tiny_model, tmp_path):
    with pytest.warns(UserWarning, match="vllm is not installed"):
        summary = run_grpo(tiny_model, tmp_path, max_steps="1", use_vllm="true", log_completions="true")
    assert summary["global_step"] == 1 and summary["training_args"]["use_vllm"] is False
    assert list((tmp_path / "completions").glob("*.parquet"))  # the recipe's log_completions works too


def test_use_unsloth_without_unsloth_says_so(tiny_model, tmp_path):
    with pytest.raises(RuntimeError, match="unsloth is not installed"):
        run_grpo(tiny_model, tmp_path, use_unsloth="true")


@pytest.fixture(scope="module")
def rollout_setup(tiny_model, tmp_path_factory):
    """A GRPOTrainer of the tiny Llama with a random LoRA and loop rollouts, greedy; its prompts as TRL gets them."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import GRPOConfig

    from scheduler import build_messages, load_split

    tok = AutoTokenizer.from_pretrained(tiny_model, padding_side="left")
    prompts = [build_messages(r["prompt"]) for r in load_split("test")[:3]]
    dataset = Dataset.from_list([{"prompt": p} for p in prompts])
    config = GRPOConfig(output_dir=str(tmp_path_factory.mktemp("rollouts")), max_completion_length=12, num_generations=2,
                        per_device_train_batch_size=2, generation_kwargs={"do_sample": False}, report_to="none",
                        use_cpu=True, bf16=False)
    return tok, prompts, dataset, config


def make_trainer(model, rollout_setup, rollouts):
    from trl import GRPOTrainer

    from tests.training.helpers import length_reward

    tok, _, dataset, config = rollout_setup
    return GRPOTrainer(model=model, reward_funcs=[length_reward], args=config, train_dataset=dataset,
                       processing_class=tok, rollout_func=rollouts)


def trl_generate(model, trainer, prompt_ids, method="plain"):
    """What TRL's own path does: ``generate`` under the trainer's generation config, cut after the first EOS
    (``method="loop"``: our loop under the same config)."""
    from models.batch_generate import generate_ids

    return generate_ids(model, prompt_ids, trainer.generation_config, method=method,
                        pad_id=trainer.processing_class.pad_token_id)


def test_loop_rollouts_equal_generate_and_use_the_trained_adapter(tiny_model, rollout_setup):
    """Greedy rollouts through rollout_func give generate's tokens, with the LoRA being trained."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from training.rollouts import Rollouts

    tok, prompts, _, _ = rollout_setup
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model, use_safetensors=True)
    model = get_peft_model(base, LoraConfig(r=8, target_modules="all-linear", init_lora_weights=False))
    rollouts = Rollouts()
    trainer = make_trainer(model, rollout_setup, rollouts)
    out = rollouts(prompts, trainer)
    assert set(out) == {"prompt_ids", "completion_ids", "logprobs"} and out["logprobs"] is None
    want_prompts = [tok(tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True),
                        add_special_tokens=False)["input_ids"] for p in prompts]
    assert out["prompt_ids"] == want_prompts  # the chat template, rendered as TRL renders it
    assert out["completion_ids"] == trl_generate(model, trainer, want_prompts)
    assert len({tuple(c) for c in out["completion_ids"]}) > 1
    # Every batch is padded to the training set's longest prompt: one shape for the run.
    assert rollouts.prompt_width == max(len(p) for p in want_prompts)
    assert len(rollouts.seconds) == 1 and rollouts.pop_mean_seconds() > 0 and rollouts.seconds == []
    with model.disable_adapter():  # the adapter is what generated: without it the tokens differ
        assert rollouts(prompts, trainer)["completion_ids"] != out["completion_ids"]


def test_a_full_model_rolls_out_through_a_refreshed_copy_in_the_rollout_dtype(tiny_model, rollout_setup):
    from transformers import AutoModelForCausalLM

    from training.rollouts import Rollouts

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, use_safetensors=True, dtype=torch.float32)
    rollouts = Rollouts("bfloat16")
    trainer = make_trainer(model, rollout_setup, rollouts)
    prompts = rollout_setup[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the loop itself decodes, no fallback to generate
        first = rollouts(prompts, trainer)
    policy, shadow = rollouts._copy
    assert shadow.dtype == torch.bfloat16 and model.dtype == torch.float32 and policy is trainer.model
    # The model as loaded in bf16 (its rotary frequencies stay fp32, as in the copy). bf16 kernels need not round
    # as generate's do, so the reference decodes with the loop too.
    reference = AutoModelForCausalLM.from_pretrained(tiny_model, use_safetensors=True, dtype=torch.bfloat16)
    assert first["completion_ids"] == trl_generate(reference, trainer, first["prompt_ids"], "loop")
    # A training step changes the fp32 weights: the next rollout's copy has them (the same copy, refreshed).
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    second = rollouts(prompts, trainer)
    assert rollouts._copy[1] is shadow
    reference.load_state_dict(model.state_dict())  # (not a deep copy: TRL's patched forward would come along)
    assert second["completion_ids"] == trl_generate(reference, trainer, first["prompt_ids"], "loop")
    assert second["completion_ids"] != first["completion_ids"]
    # The model is not touched: still fp32, still trainable.
    assert model.dtype == torch.float32 and all(p.requires_grad for p in model.parameters())


def test_rollout_settings_are_checked(tiny_model, tmp_path):
    from training.rollouts import Rollouts

    with pytest.raises(ValueError, match="rollout_dtype"):
        Rollouts("int8")
    with pytest.raises(ValueError, match="rollout_step"):
        Rollouts("bfloat16", step="fast")
    assert Rollouts().step == "inductor"  # GRPO's rollouts compile their step: hundreds of calls in one run
    with pytest.raises(ValueError, match="rollout_method"):
        run_grpo(tiny_model, tmp_path, rollout_method="static")


def test_no_private_trl_name_is_used():
    """TRL is reached through its public API only: no ``trainer._x`` and no override of its private methods."""
    import re

    for path in ("training/grpo.py", "training/rollouts.py", "training/log.py", "training/common.py"):
        text = (Path(__file__).resolve().parents[2] / path).read_text()
        assert not re.search(r"(trainer|self)\._(generate|metrics|logs|tokenizer|dist)", text), path
        assert "_generate_single_turn" not in text, path


def test_the_full_model_recipe_trains_an_fp32_model(tiny_model, tmp_path):
    """grpo/config_full.yaml as it runs on the GPU (fp32, loop rollouts), on a CPU with the tiny model."""
    out = tmp_path / "full"
    settings = dict(
        num_train_problems="8", max_steps="1", per_device_train_batch_size="4", gradient_accumulation_steps="1",
        steps_per_generation="1", num_generations="4", max_completion_length="8", mask_truncated_completions="false",
        learning_rate="5e-2", save_strategy="no", log_completions="false", reward_funcs=REWARDS, hard_fraction="0",
        reward_weights=REWARD_WEIGHTS, lora_r=None, lora_alpha=None,
    )
    grpo.main(["--config", "recipes/SmolLM2-135M-Instruct/grpo/config_full.yaml"] + cpu_args(tiny_model, out, **settings))
    before = load_file(f"{tiny_model}/model.safetensors")
    after = load_file(str(out / "model.safetensors"))
    assert after["model.layers.0.self_attn.q_proj.weight"].dtype == torch.float32
    assert not torch.equal(before["model.layers.0.self_attn.q_proj.weight"], after["model.layers.0.self_attn.q_proj.weight"])
