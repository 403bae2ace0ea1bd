"""GRPO: improve a scheduler model with the core's rewards (format 10 + order 20 + score 70).

Start from the SFT adapter (``--init_adapter``: that LoRA keeps training) or from the base model with a
fresh LoRA. From the published SmolLM2-135M-Instruct every reward is 0, so run ``training/sft.py`` first.
The reward functions read the dataset columns ``events``, ``priority_events`` and ``optimal_score``;
prompts are the published system + user messages (``scheduler.build_messages``).

Generation: vLLM when ``use_vllm`` is set and vllm is installed (``use_vllm`` is switched off with a
warning when vllm is missing). Otherwise ``rollout_method`` decides:

- ``loop`` (the default): ``training.rollouts`` through TRL's ``rollout_func`` hook, decoding with our
  decode loop (``models.decode_loop``, a CUDA graph on a GPU), the routine eval measures; each step logs
  its generation time as ``timing/rollout_s``. ``rollout_dtype: bfloat16`` makes an fp32 full fine-tune
  generate through a bf16 copy of itself, refreshed before every rollout.
- ``plain``: TRL's own ``generate``.

The model being trained is what generates, so rollouts always use the current weights.
``--use_unsloth`` loads the model through unsloth (4-bit, its LoRA kernels) when unsloth is installed.

One GPU (135M, after SFT):
    python training/grpo.py --config recipes/SmolLM2-135M-Instruct/grpo/config.yaml \
        --init_adapter /root/work/sft

Several GPUs (same recipe; per-device batch):
    accelerate launch --config_file recipes/accelerate_configs/ddp.yaml --num_processes 2 \
        training/grpo.py --config recipes/SmolLM2-135M-Instruct/grpo/config.yaml --init_adapter /root/work/sft

The original 7B run (unsloth + vLLM, 4-bit base, canonical train split, compat rewards):
    python training/grpo.py --config recipes/Qwen2.5-Coder-7B-Instruct/grpo/config.yaml

Checkpoints every ``save_steps``; ``--resume_from_checkpoint true`` continues from the newest complete
one, and ``<output_dir>/training_log.jsonl`` (rewards per function, completion lengths, samples) continues
with it. Plot it with ``python -m training.log OUTPUT_DIR``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.common import TrainScriptArguments  # noqa: E402  (light: no torch at import)


@dataclass
class GRPOScriptArguments(TrainScriptArguments):
    """The shared data arguments, plus rewards and model-loading choices (the rest: GRPOConfig, ModelConfig)."""

    reward_mode: str = field(
        default="default", metadata={"help": "default (touching events allowed) or compat (the original rewards)."}
    )
    reward_funcs: list[str] | None = field(
        default=None,
        metadata={
            "help": "Reward functions by name (format, order, score, score_compat, exact, programme) or dotted import "
            "path; default: the three of reward_mode. Weights: reward_weights."
        },
    )
    use_unsloth: bool = field(default=False, metadata={"help": "Load and wrap the model with unsloth (if installed)."})
    max_seq_length: int = field(default=2048, metadata={"help": "unsloth only: the model's maximum sequence length."})
    log_samples: int = field(default=2, metadata={"help": "Sample completions per step in training_log.jsonl."})
    rollout_method: str = field(
        default="loop",
        metadata={"help": "Rollouts without vLLM: loop (our decode loop through TRL's rollout_func, "
                  "training.rollouts) or plain (TRL's own generate)."},
    )
    rollout_dtype: str | None = field(
        default=None,
        metadata={"help": "loop rollouts of a full (not LoRA) model: generate through a copy in this dtype "
                  "(bfloat16, float16 or float32), refreshed from the live weights before every rollout."},
    )
    rollout_step: str = field(
        default="inductor",
        metadata={"help": "loop rollouts on a GPU: the decode step as inductor compiles it (~30 s once, then 1.4x "
                  "faster a step), graph (the eager step in one CUDA graph, ~2 s to capture) or eager."},
    )


ROLLOUT_METHODS = ("loop", "plain")


def make_parser():
    from trl import GRPOConfig, ModelConfig, TrlParser

    return TrlParser((GRPOScriptArguments, GRPOConfig, ModelConfig))


def load_reward_funcs(names: list[str] | None, mode: str) -> list:
    """Registry names go to ``scheduler.reward_funcs``; a dotted path (``pkg.module.func``) is imported."""
    from scheduler.rewards import REWARD_REGISTRY, reward_funcs

    if not names:
        return reward_funcs(mode)
    funcs = []
    for name in names:
        if name in REWARD_REGISTRY:
            funcs += reward_funcs(mode, [name])
        elif "." in name:
            module, attr = name.rsplit(".", 1)
            funcs.append(getattr(importlib.import_module(module), attr))
        else:
            raise ValueError(
                f"Unknown reward function {name!r}: use one of {sorted(REWARD_REGISTRY)} or a dotted path."
            )
    return funcs


def build_model(script_args, training_args, model_args, base_path: str):
    """(model, peft_config, tokenizer): unsloth, a PeftModel resumed from ``init_adapter``, or base + new LoRA."""
    from trl import get_peft_config

    from models.loading import load_tokenizer
    from training.common import continue_adapter, load_model

    if script_args.use_unsloth:
        if importlib.util.find_spec("unsloth") is None:
            raise RuntimeError("--use_unsloth was given but unsloth is not installed (pip install unsloth).")
        if script_args.init_adapter:
            raise ValueError("--init_adapter with --use_unsloth is not supported; continue that adapter without unsloth.")
        from unsloth import FastLanguageModel  # patches transformers/TRL on import: must come before the trainer

        model, tokenizer = FastLanguageModel.from_pretrained(
            model_name=base_path,
            max_seq_length=script_args.max_seq_length,
            load_in_4bit=model_args.load_in_4bit,
            fast_inference=training_args.use_vllm,
            max_lora_rank=model_args.lora_r,
            gpu_memory_utilization=training_args.vllm_gpu_memory_utilization,
        )
        model = FastLanguageModel.get_peft_model(
            model,
            r=model_args.lora_r,
            lora_alpha=model_args.lora_alpha,
            lora_dropout=model_args.lora_dropout,
            target_modules=model_args.lora_target_modules,
            use_gradient_checkpointing="unsloth" if training_args.gradient_checkpointing else False,
            random_state=training_args.seed,
        )
        tokenizer.padding_side = "left"
        return model, None, tokenizer

    tokenizer = load_tokenizer(base_path, padding_side="left")  # rollouts generate: prompts padded on the left
    model = load_model(base_path, model_args)
    if script_args.init_adapter:
        return continue_adapter(model, script_args.init_adapter), None, tokenizer
    return model, get_peft_config(model_args), tokenizer


def _wants_unsloth(argv: list[str]) -> bool:
    """Whether the command line or its ``--config`` recipe asks for unsloth (read before TRL is imported)."""
    import yaml

    if "--use_unsloth" in argv:  # a bare flag, or followed by a boolean
        value = argv[argv.index("--use_unsloth") + 1 :][:1]
        return not value or value[0].lower() not in ("false", "0", "no")
    if "--config" in argv:
        with open(argv[argv.index("--config") + 1], encoding="utf-8") as f:
            return bool((yaml.safe_load(f) or {}).get("use_unsloth"))
    return False


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    if _wants_unsloth(argv) and importlib.util.find_spec("unsloth") is not None:
        import unsloth  # noqa: F401  (unsloth patches transformers and TRL: it must be imported before them)
    script_args, training_args, model_args = make_parser().parse_args_and_config(argv)

    from datasets import Dataset
    from trl import GRPOTrainer
    from trl.import_utils import is_vllm_available

    from training.log import SampleRecorder
    from training.rollouts import Rollouts, timing_callback

    from training.common import prepare_run, train_and_save
    from training.data import grpo_example

    if training_args.use_vllm and not is_vllm_available():
        warnings.warn("use_vllm is set but vllm is not installed: generating with transformers instead.")
        training_args.use_vllm = False
    base_path, rows = prepare_run(script_args, training_args, model_args)
    dataset = Dataset.from_list([grpo_example(r) for r in rows])
    reward_funcs = load_reward_funcs(script_args.reward_funcs, script_args.reward_mode)

    if script_args.rollout_method not in ROLLOUT_METHODS:
        raise ValueError(f"rollout_method must be one of {', '.join(ROLLOUT_METHODS)}, not {script_args.rollout_method!r}.")
    rollouts = None
    if script_args.rollout_method == "loop" and not training_args.use_vllm:
        rollouts = Rollouts(script_args.rollout_dtype, script_args.rollout_step)
    recorder = SampleRecorder()  # the step log's sample completions, as the reward functions saw them

    model, peft_config, tokenizer = build_model(script_args, training_args, model_args, base_path)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[recorder.wrap(f) for f in reward_funcs],
        args=training_args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        rollout_func=rollouts,
        callbacks=[timing_callback(rollouts)] if rollouts else None,
    )
    return train_and_save(
        trainer, stage="grpo", script_args=script_args, training_args=training_args, model_args=model_args,
        rows=rows, recorder=recorder,
        extra={"reward_funcs": list(trainer.reward_func_names),
               "rollouts": "vllm" if training_args.use_vllm else script_args.rollout_method,
               "rollout_dtype": script_args.rollout_dtype if rollouts else None,
               "rollout_step": script_args.rollout_step if rollouts else None},
    )


if __name__ == "__main__":
    main()
