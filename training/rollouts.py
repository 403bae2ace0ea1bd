"""GRPO rollouts through TRL's public ``rollout_func`` hook: our decode loop, the engine eval measures.

``GRPOTrainer(rollout_func=Rollouts(...))`` hands each process its slice of the generation batch (prompts
already repeated ``num_generations`` times by TRL's sampler); ``Rollouts`` renders them with the chat
template as TRL does, decodes them with ``models.batch_generate`` (``loop``) under the trainer's own
``generation_config``, and returns the ids TRL expects. Only public parts of the trainer are read:
``processing_class``, ``model_wrapped``, ``accelerator``, ``args``, ``generation_config``,
``generation_kwargs``, ``chat_template_kwargs`` and ``train_dataset``.

- The model that generates is the unwrapped training model, adapter included, so a rollout always uses
  the weights of the current step.
- ``dtype`` (``rollout_dtype`` in a recipe): a full fine-tune kept in fp32 generates through a copy of
  itself in this dtype (bf16: half the bytes read per token), refreshed from the live weights before each
  rollout. A LoRA model, or one already in that dtype, generates itself.
- Every prompt batch is left-padded to the training set's longest prompt, so the cache, and the compiled
  decode step, keep one shape for the whole run.
- ``step`` (``rollout_step``): the decode step's mode on a GPU, inductor by default: its ~30 s compile is paid
  once a run and each step is 1.4x faster than the CUDA graph that eval and the app default to.
- Each rollout's wall time is kept; ``RolloutTimingCallback`` adds their mean to each logged step as
  ``timing/rollout_s`` (training_log.jsonl).
"""

from __future__ import annotations

import time
from typing import Any

DTYPES = ("float32", "bfloat16", "float16")


class Rollouts:
    """A ``RolloutFunc``: ``(prompts, trainer) -> {"prompt_ids", "completion_ids", "logprobs"}``."""

    def __init__(self, dtype: str | None = None, step: str | None = "inductor"):
        from models.decode_loop import STEP_MODES

        if dtype is not None and dtype not in DTYPES:
            raise ValueError(f"rollout_dtype must be one of {', '.join(DTYPES)} (or unset), not {dtype!r}.")
        if step is not None and step not in STEP_MODES:
            raise ValueError(f"rollout_step must be one of {', '.join(STEP_MODES)} (or unset), not {step!r}.")
        self.dtype, self.step = dtype, step
        self.prompt_width: int | None = None  # the training set's longest prompt, in tokens
        self.seconds: list[float] = []  # rollout wall times not yet logged
        self._copy = None  # (policy, its copy in ``dtype``)

    def __call__(self, prompts: list, trainer: Any) -> dict:
        import torch
        from trl.models import unwrap_model_for_generation

        from models.batch_generate import generate_ids

        if trainer.is_fsdp_enabled:
            raise ValueError("rollout_method 'loop' does not support FSDP; use rollout_method 'plain' there.")
        started = time.perf_counter()
        prompt_ids = self.encode(prompts, trainer)
        if self.prompt_width is None:
            self.prompt_width = self.widest_prompt(trainer)
        pad_id = trainer.processing_class.pad_token_id
        with (
            unwrap_model_for_generation(
                trainer.model_wrapped, trainer.accelerator, gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
                generation_kwargs=trainer.generation_kwargs,
                gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs,
            ) as policy,
            torch.no_grad(),
        ):
            completion_ids = generate_ids(self.generator(policy), prompt_ids, trainer.generation_config,
                                          method="loop", pad_id=pad_id, min_width=self.prompt_width,
                                          step=self.step)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.seconds.append(time.perf_counter() - started)
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": None}

    @staticmethod
    def encode(prompts: list, trainer: Any) -> list[list[int]]:
        """Token ids of each prompt: the chat template for conversations (as TRL renders them), else the text."""
        tok = trainer.processing_class
        if isinstance(prompts[0], list):
            rendered = tok.apply_chat_template(conversation=prompts, add_generation_prompt=True, tokenize=True,
                                               return_dict=True, **(trainer.chat_template_kwargs or {}))
            return [list(ids) for ids in rendered["input_ids"]]
        return [list(ids) for ids in tok(text=prompts)["input_ids"]]

    def widest_prompt(self, trainer: Any) -> int:
        dataset = trainer.train_dataset
        if dataset is None or "prompt" not in dataset.column_names:
            return 0
        prompts = list(dataset["prompt"])
        return max((len(ids) for ids in self.encode(prompts, trainer)), default=0) if prompts else 0

    def generator(self, policy: Any) -> Any:
        """What decodes: ``policy`` itself, or its copy in ``dtype`` with the current weights.

        The copy is built from the config, not deep-copied: TRL patches the policy's ``forward`` with a
        closure over the policy itself, which a deep copy would keep calling."""
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        if self.dtype is None or isinstance(policy, PeftModel):
            return policy
        dtype = getattr(torch, self.dtype)
        if policy.dtype == dtype:
            return policy
        if self._copy is None or self._copy[0] is not policy:
            with torch.device(policy.device):
                shadow = AutoModelForCausalLM.from_config(policy.config, dtype=dtype)
            shadow.eval().requires_grad_(False)
            self._copy = (policy, shadow)
        shadow = self._copy[1]
        with torch.no_grad():
            shadow.load_state_dict(policy.state_dict())  # copied into the copy's own tensors, cast to its dtype
        return shadow

    def pop_mean_seconds(self) -> float | None:
        if not self.seconds:
            return None
        mean = sum(self.seconds) / len(self.seconds)
        self.seconds.clear()
        return mean


def timing_callback(rollouts: Rollouts):
    """A TrainerCallback that puts the mean rollout time since the last log into each log as ``timing/rollout_s``
    (added before the step-log callback, so training_log.jsonl records it)."""
    from transformers import TrainerCallback

    class RolloutTimingCallback(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            seconds = rollouts.pop_mean_seconds()
            if logs is not None and seconds is not None and "train_runtime" not in logs:
                logs["timing/rollout_s"] = round(seconds, 4)

    return RolloutTimingCallback()
