"""The recipes parse with TrlParser into the scripts' dataclasses (every key valid), with the intended values."""

from pathlib import Path

import pytest
import yaml

from training import grpo, sft

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted((ROOT / "recipes").glob("*/*/config*.yaml"))


def parse(recipe: Path, *extra: str):
    parser = sft.make_parser() if recipe.parent.name == "sft" else grpo.make_parser()
    # bf16 needs a GPU to validate; everything else is parsed as the GPU run would.
    return parser.parse_args_and_config(["--config", str(recipe), "--bf16", "false", *extra])


def test_every_stage_has_a_recipe():
    stages = {(p.parts[-3], p.parts[-2]) for p in RECIPES}
    assert {("SmolLM2-135M-Instruct", "sft"), ("SmolLM2-135M-Instruct", "grpo"), ("Qwen2.5-Coder-7B-Instruct", "grpo")} <= stages


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: "/".join(p.parts[-3:-1]))
def test_recipe_parses_with_trl_parser(recipe):
    script_args, training_args, model_args = parse(recipe)
    # A full fine-tune needs fp32 master weights (pure bf16 weights: 54 vs 89 valid, DEVICE-NOTES.md).
    assert model_args.use_peft or model_args.dtype == "float32"
    assert training_args.logging_steps >= 1
    assert model_args.model_name_or_path


def test_unknown_recipe_key_is_refused(tmp_path):
    bad = tmp_path / "sft" / "config.yaml"
    bad.parent.mkdir()
    text = (ROOT / "recipes/SmolLM2-135M-Instruct/sft/config.yaml").read_text()
    bad.write_text(text + "\nmax_prompt_length: 448\n")
    with pytest.raises(ValueError, match="max_prompt_length"):
        parse(bad)


def test_smollm2_recipes_fit_the_task():
    s_args, s_train, s_model = parse(ROOT / "recipes/SmolLM2-135M-Instruct/sft/config.yaml")
    assert s_train.completion_only_loss and not s_train.packing
    assert s_model.lora_target_modules == "all-linear" and s_model.lora_r >= 64
    assert 0 < s_args.hard_fraction < 1 and s_args.num_train_problems >= 20000
    g_args, g_train, _ = parse(ROOT / "recipes/SmolLM2-135M-Instruct/grpo/config.yaml")
    assert g_train.beta == 0.0 and g_train.loss_type == "dapo" and g_train.log_completions
    assert g_train.generation_batch_size % g_train.num_generations == 0
    assert g_args.generator_seed != s_args.generator_seed  # GRPO sees problems SFT did not
    assert len(g_train.reward_weights) == len(g_args.reward_funcs)


def test_qwen_recipe_reproduces_the_original_run():
    args, train, model = parse(ROOT / "recipes/Qwen2.5-Coder-7B-Instruct/grpo/config.yaml")
    assert (model.lora_r, model.lora_alpha, model.load_in_4bit) == (32, 32, True)
    assert model.lora_target_modules == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    assert (train.learning_rate, train.adam_beta1, train.adam_beta2, train.weight_decay) == (8e-6, 0.9, 0.99, 0.1)
    assert (train.warmup_steps, train.lr_scheduler_type.value, train.optim.value) == (0.01, "cosine", "paged_adamw_8bit")
    assert (train.per_device_train_batch_size, train.num_generations, train.max_grad_norm) == (8, 8, 0.1)
    assert (train.num_train_epochs, train.max_completion_length) == (3, 1600)
    assert args.max_seq_length - train.max_completion_length == 448
    assert (args.use_unsloth, args.problem_source, args.reward_mode) == (True, "train", "compat")


@pytest.mark.parametrize("name", ["ddp", "zero2"])
def test_accelerate_configs_load(name):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(ROOT / "recipes/accelerate_configs" / f"{name}.yaml"))
    assert config.distributed_type.value == {"ddp": "MULTI_GPU", "zero2": "DEEPSPEED"}[name]
    assert yaml.safe_load((ROOT / "recipes/accelerate_configs" / f"{name}.yaml").read_text())["num_machines"] == 1


def test_the_dp_grpo_recipe_is_the_lora_recipe_with_the_programme_reward_and_room_for_a_dp_think():
    """config_dp.yaml changes only what a dp think needs: the programme reward, longer completions in smaller
    micro-batches, and the same 128 completions (16 problems x 8) an optimizer step."""
    from scheduler import Problem, load_split
    from scheduler.dp_check import programme_share
    from scheduler.reference import reference_answer

    base_args, base_train, base_model = parse(ROOT / "recipes/SmolLM2-135M-Instruct/grpo/config.yaml")
    dp_args, dp_train, dp_model = parse(ROOT / "recipes/SmolLM2-135M-Instruct/grpo/config_dp.yaml")
    assert dp_args.reward_funcs == [*base_args.reward_funcs, "programme"]
    assert len(dp_train.reward_weights) == len(dp_args.reward_funcs)
    assert dp_train.generation_batch_size == base_train.generation_batch_size == 128
    assert (dp_train.per_device_train_batch_size * dp_train.gradient_accumulation_steps
            == base_train.per_device_train_batch_size * base_train.gradient_accumulation_steps)
    assert dp_train.max_completion_length == 2560 and dp_train.mask_truncated_completions
    assert (dp_train.learning_rate, dp_train.beta, dp_train.loss_type) == (base_train.learning_rate, 0.0, "dapo")
    assert (dp_args.generator_seed, dp_args.hard_fraction) == (base_args.generator_seed, base_args.hard_fraction)
    # the reward it adds pays a dpset reference answer in full
    problem = Problem.from_row(load_split("hard")[0])
    assert programme_share(problem, reference_answer(problem, "dpset")) == 1.0
