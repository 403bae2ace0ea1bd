"""GRPO: improve a scheduler model with the core's rewards (format 10 + order 20 + score 70).

Start from the SFT adapter (``--init_adapter``: that LoRA keeps training) or from the base model with a
fresh LoRA. From the published SmolLM2-135M-Instruct every reward is 0, so run ``training/sft.py`` first.
The reward functions read the dataset columns ``events``, ``priority_events`` and ``optimal_score``;
prompts are the published system + user messages (``scheduler.build_messages``).

Generation: vLLM when ``use_vllm`` is set and vllm is installed (``use_vllm`` is switched off with a
warning when vllm is missing). Otherwise rollouts go through ``models.batch_generate``, as eval does:

- ``rollout_method: loop``: our own decode loop, ``models.decode_loop``;
- ``static``: ``generate`` with a static KV cache;
- ``plain``: TRL's own ``generate``.

``loop`` and ``static`` compile the decode step into CUDA graphs on a GPU. The LoRA policy being trained
is what generates, so rollouts always use the current weights (``rollout_merged: true`` generates with
a merged copy refreshed before every rollout instead; measured slower, so off by default). Each step logs its generation time as
``timing/rollout_s``. ``--use_unsloth`` loads the model through unsloth (4-bit, its LoRA kernels) when
unsloth is installed.

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
            "help": "Reward functions by name (format, order, score, score_compat) or dotted import path; "
            "default: the three of reward_mode. Weights: reward_weights."
        },
    )
    init_adapter: str | None = field(
        default=None, metadata={"help": "A LoRA adapter folder (e.g. the SFT output) to keep training."}
    )
    use_unsloth: bool = field(default=False, metadata={"help": "Load and wrap the model with unsloth (if installed)."})
    max_seq_length: int = field(default=2048, metadata={"help": "unsloth only: the model's maximum sequence length."})
    log_samples: int = field(default=2, metadata={"help": "Sample completions per step in training_log.jsonl."})
    rollout_method: str = field(
        default="loop",
        metadata={
            "help": "Rollouts without vLLM, through models.batch_generate: loop (our decode loop), static (generate "
            "with a static KV cache; both compiled into CUDA graphs on a GPU), plain (TRL's generate) or continuous "
            "(transformers' continuous batching)."
        },
    )
    rollout_merged: bool = field(
        default=False,
        metadata={
            "help": "static/loop rollouts of a LoRA model decode with a merged copy of the weights, refreshed from the "
            "live adapter before every rollout (training.rollout_weights). Off by default: on the H100 its rollouts "
            "took 8.75 s against 4.01 s for the LoRA model itself (benchmarks/RESULTS.md); why is not yet profiled."
        },
    )
    rollout_bucket: int = field(
        default=128, metadata={"help": "static rollouts: prompts are left-padded to a multiple of this (fewer compiles)."}
    )


def make_parser():
    from trl import GRPOConfig, ModelConfig, TrlParser

    return TrlParser((GRPOScriptArguments, GRPOConfig, ModelConfig))


def trainer_class(rollout_method: str = "loop", rollout_bucket: int = 128, rollout_merged: bool = False):
    """TRL's GRPOTrainer with rollouts from ``models.batch_generate`` (the same code eval measures).

    Only the text-only, no-vLLM path changes; TRL's own paths (vLLM, paged, multimodal, tools) stay as
    they are. The model that generates is the unwrapped training model, adapter included, so a rollout
    always uses the weights of the current step. With ``rollout_merged`` a LoRA model generates through a
    merged copy of itself (``training.rollout_weights``), refreshed from the live adapter before each rollout.
    """
    from trl import GRPOTrainer

    from models.batch_generate import METHODS

    if rollout_method not in METHODS:
        raise ValueError(f"rollout_method must be one of {', '.join(METHODS)}, not {rollout_method!r}.")

    class SchedulerGRPOTrainer(GRPOTrainer):
        prompt_width = 0  # the widest prompt seen so far (tokens): every static rollout batch is padded to it
        _merged = None  # training.rollout_weights.MergedCopy of the policy; False once it proved unusable

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # Measured on 2 H100s: each new prompt width recompiled the decode step, making 2 of 8 steps
            # take ~100 s instead of ~25 s. Padding every batch to the dataset's longest prompt gives one shape.
            if rollout_method in ("static", "loop") and self.train_dataset is not None and "prompt" in self.train_dataset.column_names:
                self.prompt_width = max(
                    (len(self._prompt_token_ids(p)) for p in self.train_dataset["prompt"]), default=0
                )

        def _prompt_token_ids(self, prompt) -> list[int]:
            tok = self._tokenizer
            if isinstance(prompt, list):  # conversational: the chat template, as TRL renders it
                text = tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
                return tok(text, add_special_tokens=False)["input_ids"]
            return tok(prompt)["input_ids"]

        def _rollout_model(self, policy):
            """What generates: ``policy``, or its merged copy with the current adapter weights."""
            from peft import PeftModel

            if not rollout_merged or self._merged is False or not isinstance(policy, PeftModel):
                return policy
            if self._merged is None or self._merged.policy is not policy:
                from training.rollout_weights import MergedCopy

                try:
                    self._merged = MergedCopy(policy)
                except ValueError as err:
                    warnings.warn(f"Rollouts use the unmerged LoRA model: no merged copy ({err}).")
                    self._merged = False
                    return policy
            return self._merged.refresh()

        def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
            if (rollout_method == "plain" or self.use_vllm or self.use_transformers_continuous_batching
                    or multimodal_fields or (images is not None and any(i is not None for i in images))):
                return super()._generate_single_turn(
                    prompt_ids, images, multimodal_fields, num_generations, has_tool_images
                )
            import time

            import torch
            from trl.models import unwrap_model_for_generation

            started = time.perf_counter()
            self.prompt_width = max([self.prompt_width] + [len(p) for p in prompt_ids])

            from models.batch_generate import generate_ids

            with (
                unwrap_model_for_generation(
                    self.model_wrapped, self.accelerator, gather_deepspeed3_params=self.args.ds3_gather_for_generation,
                    generation_kwargs=self.generation_kwargs,
                    gradient_checkpointing_kwargs=self.args.gradient_checkpointing_kwargs,
                ) as unwrapped_model,
                torch.no_grad(),
                self._dist.summon_full_params(self.model_wrapped, recurse=False),
            ):
                completion_ids = generate_ids(
                    self._rollout_model(unwrapped_model), prompt_ids, self.generation_config, method=rollout_method,
                    bucket=rollout_bucket, pad_id=self._tokenizer.pad_token_id, min_width=self.prompt_width,
                )
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            # Logged per step (training_log.jsonl: timing/rollout_s): how much of a step is generation.
            self._metrics["train" if self.model.training else "eval"]["timing/rollout_s"].append(
                time.perf_counter() - started)
            return completion_ids, None

    return SchedulerGRPOTrainer


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

    from training.common import load_model, load_tokenizer

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

    tokenizer = load_tokenizer(base_path, padding_side="left")
    model = load_model(base_path, model_args)
    if script_args.init_adapter:
        from peft import PeftModel

        from models.loading import validate_adapter

        adapter = validate_adapter(script_args.init_adapter)  # a clear error for a wrong or .bin-only folder
        # The adapter's own LoRA config (rank, targets) applies; lora_* arguments are not used.
        model = PeftModel.from_pretrained(model, str(adapter), is_trainable=True)
        return model, None, tokenizer
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
    from trl.import_utils import is_vllm_available

    from training.common import prepare_run, train_and_save
    from training.data import grpo_example

    if training_args.use_vllm and not is_vllm_available():
        warnings.warn("use_vllm is set but vllm is not installed: generating with transformers instead.")
        training_args.use_vllm = False
    base_path, rows = prepare_run(script_args, training_args, model_args)
    dataset = Dataset.from_list([grpo_example(r) for r in rows])
    reward_funcs = load_reward_funcs(script_args.reward_funcs, script_args.reward_mode)

    model, peft_config, tokenizer = build_model(script_args, training_args, model_args, base_path)
    trainer = trainer_class(script_args.rollout_method, script_args.rollout_bucket, script_args.rollout_merged)(
        model=model,
        reward_funcs=reward_funcs,
        args=training_args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    return train_and_save(
        trainer, stage="grpo", script_args=script_args, training_args=training_args, model_args=model_args,
        rows=rows, extra={"reward_funcs": list(trainer.reward_func_names), "rollout_method": script_args.rollout_method},
    )


if __name__ == "__main__":
    main()
