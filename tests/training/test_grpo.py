"""training/grpo.py end to end on a tiny Llama: rewards reach the trainer, LoRA learns, resume is exact."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from tests.training.conftest import cpu_args
from training import grpo, sft
from training.log import read_log

RECIPE = "recipes/SmolLM2-135M-Instruct/grpo/config.yaml"
# The core's three rewards are all 0 on a random model's text (zero advantage, no gradient), so a
# fourth reward that varies between random completions gives the tiny model something to learn.
REWARDS = ["format", "order", "score", "tests.training.helpers.length_reward"]


def run_grpo(model, out, **overrides):
    settings = dict(
        num_train_problems="16", max_steps="2", per_device_train_batch_size="4", gradient_accumulation_steps="1",
        steps_per_generation="1", num_generations="4", max_completion_length="8", mask_truncated_completions="false",
        learning_rate="5e-2", save_steps="1", log_completions="false", reward_funcs=REWARDS, hard_fraction="0.25",
        reward_weights=["1", "1", "1", "10"],
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
    for name in ("format_reward", "order_reward", "score_reward", "length_reward"):
        assert f"rewards/{name}/mean" in records[0]
    assert "completions/mean_length" in records[0]
    sample = records[0]["samples"][0]
    assert sample["problem"].startswith("Events:") and set(sample["rewards"]) >= {"format_reward", "score_reward"}
    summary = json.loads((grpo_out / "training_summary.json").read_text())
    assert summary["reward_funcs"] == ["format_reward", "order_reward", "score_reward", "length_reward"]
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


def test_static_rollouts_equal_trl_generate_and_use_the_trained_adapter(tiny_model, tmp_path):
    """Greedy rollouts through models.batch_generate give TRL's own tokens, with the LoRA being trained."""
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    from scheduler import build_messages, load_split
    from tests.training.helpers import length_reward

    tok = AutoTokenizer.from_pretrained(tiny_model, padding_side="left")
    rows = load_split("test")[:2]
    dataset = Dataset.from_list([{"prompt": build_messages(r["prompt"])} for r in rows])
    prompt_ids = [tok.apply_chat_template(build_messages(r["prompt"]), add_generation_prompt=True, tokenize=False)
                  for r in rows]
    prompt_ids = [tok(t, add_special_tokens=False)["input_ids"] for t in prompt_ids]
    config = GRPOConfig(output_dir=str(tmp_path), max_completion_length=12, num_generations=2,
                        per_device_train_batch_size=2, generation_kwargs={"do_sample": False}, report_to="none",
                        use_cpu=True, bf16=False)
    base = AutoModelForCausalLM.from_pretrained(tiny_model, use_safetensors=True)
    torch.manual_seed(0)
    model = get_peft_model(base, LoraConfig(r=8, target_modules="all-linear", init_lora_weights=False))
    outs = {}
    for method in ("plain", "static", "loop"):
        trainer = grpo.trainer_class(method, rollout_bucket=64)(
            model=model, reward_funcs=[length_reward], args=config, train_dataset=dataset, processing_class=tok)
        outs[method], logprobs = trainer._generate_single_turn(prompt_ids, None, {}, 2)
        assert logprobs is None
        if method != "plain":  # every rollout batch is padded to the dataset's longest prompt: one shape
            assert trainer.prompt_width == max(len(p) for p in prompt_ids)
        assert len(trainer._metrics["train"]["timing/rollout_s"]) == (method != "plain")
    assert outs["static"] == outs["plain"] == outs["loop"]
    merged = grpo.trainer_class("loop", rollout_bucket=64, rollout_merged=True)(
        model=model, reward_funcs=[length_reward], args=config, train_dataset=dataset, processing_class=tok)
    assert merged._generate_single_turn(prompt_ids, None, {}, 2)[0] == outs["plain"]
    assert merged._merged.policy is model  # a merged copy generated, refreshed from the live adapter
    with model.disable_adapter():  # the adapter is what generated: without it the tokens differ
        for method in ("static", "loop"):
            trainer = grpo.trainer_class(method, rollout_bucket=64)(
                model=model, reward_funcs=[length_reward], args=config, train_dataset=dataset, processing_class=tok)
            assert trainer._generate_single_turn(prompt_ids, None, {}, 2)[0] != outs["static"]


def test_unknown_rollout_method_is_refused():
    with pytest.raises(ValueError, match="rollout_method"):
        grpo.trainer_class("fastest")


def test_the_full_model_recipe_trains_an_fp32_model(tiny_model, tmp_path):
    """grpo/config_full.yaml as it runs on the GPU (fp32, loop rollouts), on a CPU with the tiny model."""
    out = tmp_path / "full"
    settings = dict(
        num_train_problems="8", max_steps="1", per_device_train_batch_size="4", gradient_accumulation_steps="1",
        steps_per_generation="1", num_generations="4", max_completion_length="8", mask_truncated_completions="false",
        learning_rate="5e-2", save_strategy="no", log_completions="false", reward_funcs=REWARDS, hard_fraction="0",
        reward_weights=["1", "1", "1", "10"], lora_r=None, lora_alpha=None,
    )
    grpo.main(["--config", "recipes/SmolLM2-135M-Instruct/grpo/config_full.yaml"] + cpu_args(tiny_model, out, **settings))
    before = load_file(f"{tiny_model}/model.safetensors")
    after = load_file(str(out / "model.safetensors"))
    assert after["model.layers.0.self_attn.q_proj.weight"].dtype == torch.float32
    assert not torch.equal(before["model.layers.0.self_attn.q_proj.weight"], after["model.layers.0.self_attn.q_proj.weight"])
