"""A merged copy of a LoRA policy for GRPO rollouts: decoding without the adapter's extra matrix products.

Why: measured on the H100 (``benchmarks/RESULTS.md``), rollouts are ~70% of a GRPO step, and with the
LoRA unmerged every generated token runs two extra small matrix products per adapted layer (420 for
SmolLM2 with all-linear LoRA). Merging into the policy itself is no answer: merging and unmerging bf16
weights every step makes them drift. So rollouts use a second copy of the model whose weights are set
to base + the live adapter's delta before every rollout, in place (a compiled decode step keeps reading
the same tensors). It is the weight sync a vLLM server gets, inside one process, for ~0.3 GB.

Measured, it did not pay (``benchmarks/results/grpo_step_h100x1_merged_copy.json``, one H100, the same call):
rollouts of 128 x <= 512 tokens took 8.75 s from the copy against 4.01 s from the LoRA model itself,
with the same rewards and lengths. That is one comparison, and the copy's run came first on a fresh
machine. Why is not profiled yet, so ``rollout_merged`` is off by default.
"""

from __future__ import annotations

from typing import Any

PEFT_PREFIX = "base_model.model."


class MergedCopy:
    """``refresh()`` returns a plain model equal to ``policy`` (a peft LoRA model) with its adapters merged."""

    def __init__(self, policy: Any):
        import copy

        import torch

        trained = [n for n, p in policy.named_parameters() if p.requires_grad and "lora_" not in n]
        if trained:  # e.g. modules_to_save: weights the copy would not follow
            raise ValueError(f"parameters other than LoRA's are trained ({trained[0]}, ...)")
        self.policy = policy
        with torch.no_grad():
            self.model = copy.deepcopy(policy).merge_and_unload()
        self.model.requires_grad_(False).eval()
        targets = dict(self.model.named_modules())
        self.pairs = []
        for name, layer in policy.named_modules():
            if not (hasattr(layer, "get_delta_weight") and hasattr(layer, "base_layer")):
                continue
            if any(getattr(layer, "use_dora", {}).get(a) for a in layer.lora_A):
                raise ValueError(f"{name} uses DoRA, whose merged weight is not base + delta")
            target = targets[name.removeprefix(PEFT_PREFIX)]
            if target.weight.shape != layer.base_layer.weight.shape:
                raise ValueError(f"{name}: the copy's weight has another shape")
            self.pairs.append((layer, target))
        if not self.pairs:
            raise ValueError("the model has no LoRA layers")

    def refresh(self):
        """The copy with each layer's weight = its base weight + the active adapters' deltas (none when the
        adapters are disabled), computed in fp32 and stored in the copy's dtype."""
        import torch

        with torch.no_grad():
            for layer, target in self.pairs:
                weight = layer.base_layer.weight.float()
                if not (layer.disable_adapters or layer.merged):  # merged: the base already holds it
                    for adapter in layer.active_adapters:
                        if adapter in layer.lora_A:
                            weight = weight + layer.get_delta_weight(adapter).float()
                target.weight.copy_(weight.to(target.weight.dtype))
        return self.model
