"""Many prompts at once, from token ids: the one routine behind batched eval and GRPO rollouts.

Why not plain ``model.generate``: it runs every decoding step eagerly, so a 135M model at batch 100 spends
its time launching ~500 small kernels per token from Python, not reading its 0.3 GB of weights (measured
on the H100: 627-1,400 generated tokens/s, about 1% of what the card can do). Two methods:

- ``loop`` (the default): our own decode loop (``models.decode_loop``): a static cache, the mask kept
  across steps, grouped-query attention that reads each cached key/value once, the step compiled into a
  CUDA graph on a GPU and run eagerly on a CPU. Same prefill, positions and logits processors as
  ``generate``; greedy tokens equal ``plain``'s in fp32 (the tests check it on a CPU, and seeded samples
  too). A setting it does not implement (``decode_loop.unsupported``, e.g. beams) makes it fall back to
  ``plain`` with a warning.
- ``plain``: ``generate`` with a dynamic cache: the reference every test and benchmark compares with.

Both take the same ``GenerationConfig`` (greedy or sampled) and return each completion's token ids up to
and including its first end-of-sequence token, as TRL expects of a rollout. (``generate`` with a static
cache and transformers' continuous batching were measured too and removed: both slower than ``loop``,
benchmarks/RESULTS.md.)
"""

from __future__ import annotations

import copy
import warnings
from typing import Any, Sequence

METHODS = ("loop", "plain")


def eos_ids(config: Any) -> list[int]:
    """The end-of-sequence ids of a ``GenerationConfig`` (one id or a list)."""
    eos = config.eos_token_id
    return [t for t in (eos if isinstance(eos, (list, tuple)) else [eos]) if t is not None]


def cut_at_eos(ids: Sequence[int], eos: Sequence[int]) -> list[int]:
    """The ids up to and including the first end-of-sequence token (what follows is padding)."""
    stop = set(eos)
    out: list[int] = []
    for token in ids:
        out.append(int(token))
        if token in stop:
            break
    return out


def left_pad(prompts: Sequence[Sequence[int]], pad_id: int, device: Any = None, min_width: int = 0):
    """(input_ids, attention_mask) with every prompt right-aligned in the width of the longest (or ``min_width``)."""
    import torch

    width = max(max(len(p) for p in prompts), min_width)
    input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        if prompt:
            input_ids[row, width - len(prompt):] = torch.as_tensor(list(prompt), dtype=torch.long)
            mask[row, width - len(prompt):] = 1
    return input_ids.to(device), mask.to(device)


def generate_ids(
    model: Any,
    prompts: Sequence[Sequence[int]],
    config: Any,
    method: str = "loop",
    pad_id: int | None = None,
    min_width: int = 0,
    step: str | None = None,
) -> list[list[int]]:
    """Completion ids for each prompt (in order), with ``config`` (a ``GenerationConfig``) deciding how.

    ``model`` may be a plain causal LM or a peft model (its adapter applies, as in a GRPO rollout).
    ``min_width`` pads every batch to at least this many prompt tokens: a caller that knows its longest
    prompt (GRPO: the training set's) passes it, and all its batches share one cache size, so one compiled
    decode step serves them all. ``step``: the loop's step mode on a GPU (``models.decode_loop.step_mode``).
    """
    import torch

    if method not in METHODS:
        raise ValueError(f"Unknown generation method {method!r}; choose from {', '.join(METHODS)}.")
    if not prompts:
        return []
    eos = eos_ids(config)
    config = copy.deepcopy(config)
    pad = pad_id if pad_id is not None else (config.pad_token_id if config.pad_token_id is not None else eos[0])
    input_ids, mask = left_pad(prompts, pad, device=model.device, min_width=min_width)
    if method == "loop":
        from models.decode_loop import decode, unsupported

        # What the call leaves unset comes from the model's own generation config, as generate takes it.
        config.update(**model.generation_config.to_diff_dict(), defaults_only=True)
        skipped = unsupported(config)
        if not skipped:
            # One static cache holds one dtype: under a caller's autocast (GRPO's training step) an fp32 model's
            # keys leave the rotary embedding in fp32 and its values the projection in bf16, so the loop decodes
            # in the model's own dtype.
            with torch.autocast(model.device.type, enabled=False):
                ids = decode(model, input_ids, mask, config, eos, pad, step=step)
            return [cut_at_eos(row, eos) for row in ids.tolist()]
        warnings.warn(f"The loop method does not implement {', '.join(skipped)}: generating with 'plain'.")
    config.update(cache_implementation=None, disable_compile=True)
    with torch.no_grad():
        sequences = model.generate(input_ids=input_ids, attention_mask=mask, generation_config=config)
    return [cut_at_eos(row, eos) for row in sequences[:, input_ids.shape[1]:].tolist()]
