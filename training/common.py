"""Helpers both training scripts share: model aliases, loading arguments, resuming, bf16 adapters, time budgets.

Models and tokenizers load through ``models.loading``, as in the app and eval (safetensors only, no
remote code); what is training's own is turning TRL's ``ModelConfig`` into its arguments
(``model_load_kwargs``: dtype, attention, revision, bitsandbytes quantization).

Heavy libraries (torch, transformers, peft) are imported inside the functions that need them so
that parsing a recipe or building a dataset stays fast.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ADAPTER_FILE = "adapter_model.safetensors"


@dataclass
class TrainScriptArguments:
    """What both scripts train on, and for how long. (TRL's ScriptArguments is about Hub datasets; our
    problems come from the core's generator or the canonical train split.)"""

    problem_source: str = field(
        default="generated", metadata={"help": "generated (the core's generator) or train (canonical 500-row split)."}
    )
    num_train_problems: int = field(
        default=2000, metadata={"help": "Problems to generate (for 'train': sample this many, 0 = all 500)."}
    )
    generator_seed: int = field(
        default=1, metadata={"help": "Seed of the problem generator (TrainingArguments.data_seed is the sampler's)."}
    )
    hard_fraction: float = field(
        default=0.3, metadata={"help": "Fraction of problems from the hard preset (the rest: canonical preset)."}
    )
    name_source: str = field(
        default="canonical",
        metadata={"help": "Event names of generated problems: canonical (the dataset's 50 names: presets canonical/hard) "
                  "diverse (the training name pool mixed with them: presets diverse/diverse-hard) or qualified (diverse "
                  "with trailing qualifiers such as '(Zoom)' on 15% of the pool's names: presets qualified/qualified-hard) or coined "
                  "(qualified, and a coined first word such as 'Brenvik the beds' on 15% of them: presets coined/coined-hard)."},
    )
    max_train_minutes: float | None = field(
        default=None, metadata={"help": "Stop gracefully (and save) after this many minutes of training."}
    )
    gpu_memory_fraction: float | None = field(
        default=None,
        metadata={"help": "Cap this process's CUDA allocator at this share of the GPU (torch.cuda."
                  "set_per_process_memory_fraction): a run beside others then fails alone when it outgrows its share."},
    )
    init_adapter: str | None = field(
        default=None,
        metadata={"help": "A LoRA adapter folder to keep training (e.g. the SFT output, or a shipped adapter): its own "
                  "rank and targets apply, the lora_* arguments are unused."},
    )


_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


def prepare_run(script_args, training_args, model_args) -> tuple[str, list[dict]]:
    """Seed, log every argument (main process), provision the base model once, build the problem rows.

    Returns (local base model path, rows). Every process builds the same rows: the generator is seeded.
    """
    from transformers import set_seed

    from training.data import problem_rows

    set_seed(training_args.seed)
    if script_args.gpu_memory_fraction is not None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.set_per_process_memory_fraction(script_args.gpu_memory_fraction)
    if training_args.process_index == 0:
        print(f"script args: {script_args}\nmodel args: {model_args}\ntraining args: {training_args}", flush=True)
    with training_args.main_process_first(desc="model provisioning"):
        base_path = resolve_model(model_args.model_name_or_path)
    rows = problem_rows(
        script_args.problem_source, script_args.num_train_problems, script_args.generator_seed, script_args.hard_fraction,
        name_source=script_args.name_source,
    )
    return base_path, rows


def resolve_model(name_or_path: str) -> str:
    """A local checkpoint for the ``smollm2-135m-instruct`` alias (provisioned from the embedded GGUF on
    first use), a checked local folder, or a Hub id unchanged (``models.loading`` owns these rules)."""
    from models.loading import resolve_model_path

    return resolve_model_path(name_or_path)


def hub_id(name: str) -> str:
    """The Hub id behind an alias (the card's ``base_model``), else the name as given."""
    return {"smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct"}.get(name.lower(), name)


def torch_dtype(name: str | None):
    """``ModelConfig.dtype`` ("bfloat16", "float32", "auto", None) -> what ``from_pretrained`` takes."""
    import torch

    if name in (None, "auto"):
        return name or "auto"
    try:
        return getattr(torch, name)
    except AttributeError:
        raise ValueError(f"Unknown dtype {name!r}; use bfloat16, float16, float32 or auto.") from None


def model_load_kwargs(model_args) -> dict[str, Any]:
    """TRL's ``ModelConfig`` as ``models.loading.load_causal_lm``'s arguments (remote code stays off).

    A quantized model (bitsandbytes 4/8-bit: ``load_in_4bit`` / ``load_in_8bit``) is placed at load
    time, one copy per process; otherwise the trainer places the model.
    """
    from trl import get_quantization_config

    kwargs: dict[str, Any] = {
        "dtype": torch_dtype(model_args.dtype),
        "attn_implementation": model_args.attn_implementation,
        "revision": model_args.model_revision,
    }
    quantization = get_quantization_config(model_args)
    if quantization is not None:
        from accelerate import PartialState

        kwargs.update(quantization_config=quantization, device_map={"": PartialState().local_process_index})
    return kwargs


def load_model(path: str, model_args) -> Any:
    """The base causal LM for training, through ``models.loading.load_causal_lm`` (safetensors only)."""
    from models.loading import load_causal_lm

    return load_causal_lm(path, **model_load_kwargs(model_args))


def continue_adapter(model: Any, adapter: str) -> Any:
    """``model`` with the LoRA in ``adapter`` loaded trainable: the run keeps training that adapter."""
    from peft import PeftModel

    from models.loading import validate_adapter

    folder = validate_adapter(adapter)  # a clear error for a wrong or .bin-only folder
    return PeftModel.from_pretrained(model, str(folder), is_trainable=True)


def is_complete_checkpoint(path: Path) -> bool:
    """A checkpoint a resume can trust: the trainer state and the (adapter or full) weights are both there.

    transformers writes checkpoints non-atomically, so a run killed mid-save leaves a folder without them.
    """
    has_weights = any((path / f).is_file() for f in (ADAPTER_FILE, "model.safetensors", "model.safetensors.index.json"))
    return (path / "trainer_state.json").is_file() and has_weights


def last_complete_checkpoint(output_dir: str | os.PathLike) -> str | None:
    """The newest complete ``checkpoint-N`` folder in ``output_dir``, or None."""
    root = Path(output_dir)
    if not root.is_dir():
        return None
    found = sorted(
        ((int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _CHECKPOINT_RE.match(p.name))),
        reverse=True,
    )
    for _, path in found:
        if is_complete_checkpoint(path):
            return str(path)
    return None


def resolve_resume(value: str | None, output_dir: str) -> str | None:
    """``--resume_from_checkpoint``: true/last = newest complete checkpoint (None if there is none yet), or a path."""
    if value is None or str(value).lower() in ("", "false", "no", "none"):
        return None
    if str(value).lower() in ("true", "yes", "last"):
        return last_complete_checkpoint(output_dir)
    path = Path(value)
    if not path.is_dir() or not is_complete_checkpoint(path):
        raise FileNotFoundError(
            f"--resume_from_checkpoint {value}: not a complete checkpoint folder (needs trainer_state.json and weights)."
        )
    return str(path)


def convert_adapter_to_bf16(adapter_dir: str | os.PathLike) -> Path:
    """Rewrite a saved adapter's float tensors in bf16: half the size, and what the app and eval load.

    Checkpoints keep full precision (exact resume); only the final adapter is converted.
    """
    import torch
    from safetensors.torch import load_file, save_file

    path = Path(adapter_dir) / ADAPTER_FILE
    tensors = load_file(str(path))
    converted = {k: (v.to(torch.bfloat16) if v.is_floating_point() else v).contiguous() for k, v in tensors.items()}
    tmp = path.with_suffix(".tmp")
    save_file(converted, str(tmp), metadata={"format": "pt"})
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def library_versions() -> dict[str, str]:
    """The evaluation's version record plus the training-only libraries (trl, datasets, unsloth)."""
    import importlib.metadata as md

    from eval.results import library_versions as eval_versions

    out = eval_versions()
    for name in ("trl", "datasets", "unsloth"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def _any_rank(flag: bool, device) -> bool:
    """True on every process when ``flag`` is true on any (a no-op outside distributed runs)."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return flag
    t = torch.tensor([1 if flag else 0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def make_time_budget_callback(max_minutes: float | None):
    """A TrainerCallback that ends training gracefully after ``max_minutes`` (the final save still runs).

    A safety net for fixed device windows: a run that is killed saves nothing, one that is stopped saves
    its adapter. Returns None when no budget is set.
    """
    if not max_minutes:
        return None
    from transformers import TrainerCallback

    class TimeBudgetCallback(TrainerCallback):
        def __init__(self, seconds: float):
            self.seconds = seconds
            self.start = None
            self.stopped_at: int | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.monotonic()

        def on_step_end(self, args, state, control, **kwargs):
            over = self.start is not None and time.monotonic() - self.start > self.seconds
            if _any_rank(over, args.device):  # every rank must stop at the same step, or DDP hangs
                self.stopped_at = state.global_step
                control.should_training_stop = True
                control.should_save = True
            return control

    return TimeBudgetCallback(max_minutes * 60.0)


def peak_gpu_memory_gib() -> float | None:
    """The most GPU memory this process's tensors held (torch's allocator), in GiB; None without CUDA."""
    import torch

    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else None


def train_and_save(trainer, *, stage: str, script_args, training_args, model_args, rows: list[dict],
                   data_extra: dict | None = None, extra: dict | None = None, recorder=None) -> dict:
    """Train (resuming if asked), then save the bf16 adapter, the run summary and the model card.

    The part both scripts share once their trainer is built: the step log (with ``recorder``'s sample
    completions: ``training.log.SampleRecorder``) and the time budget (``max_train_minutes``) are attached here. Runs on every process (training and
    ``save_model`` coordinate the ranks); summary and card are written by the main one. Returns the summary.
    """
    import dataclasses

    from eval.results import device_description, weights_sha256, write_json_atomic
    from training.card import SUMMARY_NAME, write_card
    from training.data import mix_summary
    from training.log import make_log_callback

    output_dir = training_args.output_dir
    log_cb = make_log_callback(output_dir, num_samples=getattr(script_args, "log_samples", 2), recorder=recorder)
    trainer.add_callback(log_cb)
    budget_cb = make_time_budget_callback(script_args.max_train_minutes)
    if budget_cb is not None:
        trainer.add_callback(budget_cb)
    is_main = trainer.is_world_process_zero()
    if is_main and hasattr(trainer.model, "print_trainable_parameters"):
        trainer.model.print_trainable_parameters()
    resume = resolve_resume(training_args.resume_from_checkpoint, output_dir)
    if is_main and resume:
        print(f"resuming from {resume}", flush=True)
    result = trainer.train(resume_from_checkpoint=resume)
    trainer.save_metrics("train", result.metrics)
    trainer.save_state()
    trainer.save_model(output_dir)

    summary: dict = {}
    if is_main:
        if (Path(output_dir) / ADAPTER_FILE).is_file():
            convert_adapter_to_bf16(output_dir)
        summary = {
            "stage": stage,
            "name": Path(output_dir).name,
            "base_model": model_args.model_name_or_path,
            "base_model_id": hub_id(model_args.model_name_or_path),
            "global_step": trainer.state.global_step,
            "train_wall_time_s": round(log_cb.elapsed_s(), 1),
            "stopped_by_time_budget_at": getattr(budget_cb, "stopped_at", None),
            "resumed_from": resume,
            "device": device_description(),
            "peak_gpu_memory_gib": peak_gpu_memory_gib(),
            "world_size": training_args.world_size,
            "init_adapter_sha256": weights_sha256(script_args.init_adapter),  # the start, by its weights
            "data": {"source": script_args.problem_source, **mix_summary(rows), **(data_extra or {})},
            "versions": library_versions(),
            **(extra or {}),
        }
        for kind, args in (("script_args", script_args), ("model_args", model_args), ("training_args", training_args)):
            summary[kind] = args.to_dict() if hasattr(args, "to_dict") else dataclasses.asdict(args)
        write_json_atomic(Path(output_dir) / SUMMARY_NAME, summary)
        write_card(output_dir)
    trainer.accelerator.wait_for_everyone()
    return summary
