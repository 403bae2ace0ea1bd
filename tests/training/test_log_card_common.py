"""The training log (truncation on resume), the model card, resume resolution, bf16 conversion, time budget."""

import json
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file, save_file

from training.card import render_card, write_card
from training.common import convert_adapter_to_bf16, make_time_budget_callback, resolve_resume
from training.log import read_log, truncate_log


def test_truncate_log_keeps_steps_up_to_the_checkpoint_and_skips_torn_lines(tmp_path):
    log = tmp_path / "training_log.jsonl"
    log.write_text("".join(json.dumps({"step": s}) + "\n" for s in (1, 2, 3, 4)) + '{"step": 5, "los')
    assert [r["step"] for r in read_log(log)] == [1, 2, 3, 4]
    assert [r["step"] for r in truncate_log(log, 2)] == [1, 2]
    assert [r["step"] for r in read_log(tmp_path)] == [1, 2]


def _checkpoint(root, step, complete=True):
    path = root / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "adapter_model.safetensors").write_bytes(b"x")
    if complete:
        (path / "trainer_state.json").write_text("{}")
    return path


def test_resume_picks_the_newest_complete_checkpoint(tmp_path):
    assert resolve_resume("true", str(tmp_path)) is None  # nothing yet: start fresh
    _checkpoint(tmp_path, 5)
    ten = _checkpoint(tmp_path, 10)
    _checkpoint(tmp_path, 15, complete=False)  # killed mid-save
    assert resolve_resume("true", str(tmp_path)) == str(ten)
    assert resolve_resume("false", str(tmp_path)) is None and resolve_resume(None, str(tmp_path)) is None
    assert resolve_resume(str(ten), str(tmp_path)) == str(ten)
    with pytest.raises(FileNotFoundError):
        resolve_resume(str(tmp_path / "checkpoint-15"), str(tmp_path))


def test_adapter_is_converted_to_bf16_in_place(tmp_path):
    tensors = {"a.lora_A.weight": torch.randn(4, 8), "a.lora_B.weight": torch.randn(8, 4), "steps": torch.tensor([3])}
    save_file(tensors, str(tmp_path / "adapter_model.safetensors"))
    convert_adapter_to_bf16(tmp_path)
    out = load_file(str(tmp_path / "adapter_model.safetensors"))
    assert out["a.lora_A.weight"].dtype == torch.bfloat16 and out["steps"].dtype == torch.int64
    assert torch.allclose(out["a.lora_B.weight"].float(), tensors["a.lora_B.weight"], rtol=1e-2)


def test_time_budget_stops_training_and_asks_for_a_save():
    assert make_time_budget_callback(None) is None
    cb = make_time_budget_callback(1e-9)
    args, state = SimpleNamespace(device="cpu"), SimpleNamespace(global_step=4)
    control = SimpleNamespace(should_training_stop=False, should_save=False)
    cb.on_train_begin(args, state, control)
    cb.on_step_end(args, state, control)
    assert control.should_training_stop and control.should_save and cb.stopped_at == 4


SUMMARY = {
    "stage": "grpo", "name": "grpo", "base_model": "smollm2-135m-instruct",
    "base_model_id": "HuggingFaceTB/SmolLM2-135M-Instruct", "global_step": 20, "train_wall_time_s": 400.0,
    "device": "NVIDIA H100", "world_size": 1, "reward_funcs": ["format_reward", "order_reward", "score_reward"],
    "data": {"source": "generated", "problems": 2000, "events_min": 4, "events_max": 16, "events_mean": 10.2},
    "script_args": {"hard_fraction": 0.7, "generator_seed": 2, "init_adapter": "/root/work/sft"},
    "model_args": {"lora_r": 64, "use_rslora": False}, "training_args": {"learning_rate": 5e-5, "max_steps": 20},
}


def test_card_without_metrics_says_it_is_not_evaluated():
    card = render_card(SUMMARY)
    assert "base_model: HuggingFaceTB/SmolLM2-135M-Instruct" in card and "6.7 min on NVIDIA H100" in card
    assert "Not evaluated yet" in card and "| lora_r | 64 |" in card and "use_rslora" not in card
    assert "70% of hard sizes" in card and "/root/work/sft" in card


def test_the_card_of_a_continued_adapter_gives_its_own_rank_and_its_start(tmp_path):
    """GRPO from a shipped LoRA: the recipe's lora_r is unused, the adapter's rank is on the card, and the start's
    record kept beside the weights (sft/) names the start instead of the GPU machine's path."""
    summary = {**SUMMARY, "init_adapter_sha256": "e9e187147766ac85"}
    (tmp_path / "training_summary.json").write_text(json.dumps(summary))
    assert "/root/work/sft` (weights sha256 `e9e18714…`)" in write_card(str(tmp_path)).read_text()
    (tmp_path / "adapter_config.json").write_text(json.dumps(
        {"r": 128, "lora_alpha": 128, "lora_dropout": 0.0, "target_modules": ["v_proj", "q_proj"]}))
    (tmp_path / "sft").mkdir()
    (tmp_path / "sft" / "training_summary.json").write_text(json.dumps(
        {"stage": "sft", "global_step": 1032, "train_wall_time_s": 923.0, "device": "1 x NVIDIA H100"}))
    card = write_card(str(tmp_path)).read_text()
    assert "| lora_r | 128 |" in card and "| lora_r | 64 |" not in card and "| lora_target_modules | q_proj, v_proj |" in card
    assert "continuing the SFT LoRA (weights sha256 `e9e18714…`) whose training record is in `sft/`" in card
    assert "1032 steps, 15.4 min on 1 x NVIDIA H100" in card and "/root/work/sft" not in card
    assert "training_log.png" not in card
    (tmp_path / "training_log.png").write_bytes(b"\x89PNG")
    assert "![the training curves](training_log.png)" in write_card(str(tmp_path)).read_text()


def test_the_card_of_a_many_stage_adapter_names_every_stage_oldest_last(tmp_path):
    """A shipped LoRA made in stages keeps each earlier stage's record in a numbered folder: the card names its own
    start (the newest folder) first, then what that one continued, down to the first stage."""
    summary = {**SUMMARY, "stage": "sft", "init_adapter_sha256": "255012f7ac50"}
    (tmp_path / "training_summary.json").write_text(json.dumps(summary))
    for folder, stage, steps, wall in (("1-sft", "sft", 1032, 923.0), ("2-grpo", "grpo", 28, 618.0), ("3-sft", "sft", 655, 902.0)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "training_summary.json").write_text(json.dumps(
            {"stage": stage, "global_step": steps, "train_wall_time_s": wall, "device": "1 x NVIDIA H100"}))
    card = write_card(str(tmp_path)).read_text()
    assert "max_new_tokens=4096" not in card  # the summary names no dp think
    summary["data"] = {**summary.get("data", {}), "think_format": "dpset"}
    (tmp_path / "training_summary.json").write_text(json.dumps(summary))
    card = write_card(str(tmp_path)).read_text()
    assert "The `dpset` think writes the whole dynamic programme" in card and "max_new_tokens=4096" in card
    assert ("continuing the SFT LoRA (weights sha256 `255012f7…`) whose training record is in `3-sft/` (655 steps, "
            "15.0 min on 1 x NVIDIA H100); it continued the GRPO of `2-grpo/` (28 steps, 10.3 min on 1 x NVIDIA H100), "
            "which continued the SFT of `1-sft/` (1032 steps, 15.4 min on 1 x NVIDIA H100)") in card


def test_card_includes_metrics_per_split(tmp_path):
    (tmp_path / "training_summary.json").write_text(json.dumps(SUMMARY))
    (tmp_path / "run-test").mkdir()
    (tmp_path / "run-test" / "metrics.json").write_text(json.dumps({"mean_score": 97.5, "valid_schedules": 99, "n": 100, "complete": True}))
    (tmp_path / "hard.json").write_text(json.dumps({"mean_score": 91.0, "n": 100}))
    card = write_card(str(tmp_path), [str(tmp_path / "run-test" / "metrics.json"), f"hard={tmp_path / 'hard.json'}"]).read_text()
    assert "| split | mean_score | valid_schedules | n |" in card
    assert "| run-test | 97.5 | 99 | 100 |" in card and "| hard | 91 |  | 100 |" in card
    assert "Not evaluated yet" not in card and "hard.json` (hard)" in card


def test_the_card_of_an_extracted_adapter_says_how_it_was_made_and_to_merge(tmp_path):
    import json

    from training.card import write_card

    summary = {"stage": "sft", "name": "x", "base_model": "smollm2-135m-instruct", "global_step": 3,
               "data": {"problems": 4, "think_format": "scan"},
               "model_args": {"use_peft": False, "dtype": "float32", "lora_r": 16},
               "script_args": {"name_source": "diverse", "hard_fraction": 0.3}, "training_args": {}}
    (tmp_path / "training_summary.json").write_text(json.dumps(summary))
    (tmp_path / "extraction.json").write_text(json.dumps({"rank": 64, "energy_kept_median": 0.86, "energy_kept_min": 0.64}))
    card = write_card(str(tmp_path)).read_text()
    assert "rank-64 LoRA extracted" in card and "86%" in card and "merge_and_unload()" in card
    assert "Full fine-tune" in card and "think format `scan`" in card and "diverse training pool" in card
    assert "lora_r" not in card  # ModelConfig's LoRA defaults are not this model's


def test_the_card_of_a_budgeted_extraction_gives_its_size_and_ranks(tmp_path):
    import json

    from training.card import write_card

    summary = {"stage": "sft", "name": "x", "base_model": "smollm2-135m-instruct", "global_step": 3,
               "data": {"problems": 4, "think_format": "recap"}, "model_args": {"use_peft": False},
               "script_args": {}, "training_args": {}}
    (tmp_path / "training_summary.json").write_text(json.dumps(summary))
    (tmp_path / "extraction.json").write_text(json.dumps(
        {"rank": 212, "budget_mb": 95.0, "rank_median": 142, "rank_min": 64, "adapter_bytes": 95134008,
         "energy_kept_median": 0.9525, "energy_kept_min": 0.8461}))
    card = write_card(str(tmp_path)).read_text()
    assert "a LoRA of 95.1 MB with each matrix's own rank (median 142, least 64" in card and "within 95 MB" in card
    assert "rank-212" not in card and "95%" in card and "85%" in card


@pytest.mark.parametrize("source, says, not_says", [
    ("diverse", "diverse training pool", "trailing qualifier"),
    ("qualified", "trailing qualifier such as \"(Zoom)\"", "made-up first word"),
    ("coined", "made-up first word such as \"Brenvik the beds\"", "the canonical event names"),
    ("canonical", "the canonical event names", "diverse training pool"),
])
def test_the_card_names_the_training_name_source(source, says, not_says):
    summary = {"stage": "sft", "name": "x", "base_model": "smollm2-135m-instruct",
               "data": {"problems": 4, "source": "generated"}, "script_args": {"name_source": source}}
    card = render_card(summary)
    assert says in card and not_says not in card
