"""Cold-start SFT: teach the base model the answer format and the solver's reasoning before GRPO.

GRPO from the published SmolLM2-135M-Instruct gets reward 0 on every completion (it never writes the
format), so nothing is learned; a LoRA trained here on generated problems, each answered by
``scheduler.reference_answer`` (a short ``<think>`` + the optimal ``<schedule>``), gives GRPO
something to improve. Loss is on the assistant completion only (conversational prompt-completion rows).
No canonical test problem is ever trained on (``training.data`` checks).

One GPU:
    python training/sft.py --config recipes/SmolLM2-135M-Instruct/sft/config.yaml

Several GPUs (same recipe, per-device batch; the global batch grows with the number of processes):
    accelerate launch --config_file recipes/accelerate_configs/ddp.yaml --num_processes 2 \
        training/sft.py --config recipes/SmolLM2-135M-Instruct/sft/config.yaml

Any recipe key can be overridden on the command line, e.g. ``--num_train_problems 2000 --max_steps 50``;
``--init_adapter FOLDER`` keeps training an existing LoRA (its own rank and targets) instead of a new one.
Resume a killed run with ``--resume_from_checkpoint true`` (the newest complete checkpoint in output_dir).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scheduler.reference import DEFAULT_THINK, THINK_FORMATS  # noqa: E402
from training.common import TrainScriptArguments  # noqa: E402  (light: no torch at import)

# SFT's tokenizer pads on the right, as TRL's collator pads training rows; it is saved with the adapter
# (every inference load pads on the left anyway). GRPO's pads on the left: its rollouts generate.
PADDING_SIDE = "right"


@dataclass
class SFTScriptArguments(TrainScriptArguments):
    """The shared data arguments, plus the SFT targets' think format and length check (GRPO's completions are the
    model's own, so only SFT has a think format)."""

    think_format: str = field(
        default=DEFAULT_THINK,
        metadata={"help": f"The SFT targets' reasoning: {', '.join(THINK_FORMATS)} (scheduler.reference)."},
    )
    length_check_examples: int = field(
        default=64,
        metadata={"help": "Tokenize this many longest examples and fail if any exceeds max_length (0 = skip)."},
    )


def make_parser():
    from trl import ModelConfig, SFTConfig, TrlParser

    return TrlParser((SFTScriptArguments, SFTConfig, ModelConfig))


def check_lengths(examples: list[dict], tokenizer, max_length: int | None, n: int) -> int:
    """The token length of the longest examples; raises if truncation would cut a target short.

    Truncated targets teach the model never to close ``</schedule>``, so fail before training.
    """
    if not n or not examples:
        return 0
    longest = sorted(examples, key=lambda e: len(e["prompt"][-1]["content"]) + len(e["completion"][0]["content"]))
    worst = 0
    for ex in longest[-n:]:
        ids = tokenizer.apply_chat_template(ex["prompt"] + ex["completion"], tokenize=True, return_dict=False)
        worst = max(worst, len(ids))
    if max_length is not None and worst > max_length:
        raise ValueError(
            f"An SFT example is {worst} tokens long but max_length is {max_length}: its target would be cut. "
            f"Raise --max_length to at least {worst}."
        )
    return worst


def main(argv: list[str] | None = None) -> dict:
    script_args, training_args, model_args = make_parser().parse_args_and_config(argv)

    from datasets import Dataset
    from trl import SFTTrainer, get_peft_config

    from models.loading import load_tokenizer
    from training.common import continue_adapter, load_model, prepare_run, train_and_save
    from training.data import sft_example

    base_path, rows = prepare_run(script_args, training_args, model_args)
    examples = [sft_example(r, script_args.think_format) for r in rows]
    tokenizer = load_tokenizer(base_path, padding_side=PADDING_SIDE)
    longest = check_lengths(examples, tokenizer, training_args.max_length, script_args.length_check_examples)
    if training_args.process_index == 0:
        print(f"{len(examples)} SFT examples; longest checked: {longest} tokens (max_length {training_args.max_length})")
    dataset = Dataset.from_list(examples)

    model = load_model(base_path, model_args)
    if script_args.init_adapter:  # more SFT of a LoRA (e.g. the shipped one on fresh problems)
        model, peft_config = continue_adapter(model, script_args.init_adapter), None
    else:
        peft_config = get_peft_config(model_args)
    trainer = SFTTrainer(
        model=model,
        args=training_args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    return train_and_save(
        trainer, stage="sft", script_args=script_args, training_args=training_args, model_args=model_args,
        rows=rows, data_extra={"longest_tokens_checked": longest, "think_format": script_args.think_format,
                                "name_source": script_args.name_source},
    )


if __name__ == "__main__":
    main()
