"""A LoRA adapter extracted from a full fine-tune: what ships when the full model is too big for the repo.

A full fine-tune of SmolLM2-135M is 270 MB in bf16; the repo takes at most 100 MB. Each weight's change
``tuned - base`` is approximated by its best rank-``r`` factorisation (truncated SVD, Eckart-Young), written
as a peft LoRA (alpha = r, so the scale is 1) on every linear layer and on the input embedding (tied to the
output head in SmolLM2, so merging updates both); the norms, a few thousand numbers, are saved whole
(``modules_to_save``), and so are biases where a model has them. The adapter loads like any other (``PeftModel.from_pretrained``, ``eval.run --adapter``)
and must be measured after extraction: the truncation is not lossless.

The embedding may get a rank of its own (``--embed_rank``, peft's ``rank_pattern``): a fine-tune on names in many
scripts moves many rows of SmolLM2's tied embedding and output head, and its change may need more than the rank the
linear layers get (the report's ``energy_kept_least`` says which matrices kept the least). It costs ~100 KB per rank (49,152 x 576), a linear layer's rank 64 ~39 MB for the whole model.

Or each matrix gets a rank of its own (``--budget_mb``, with ``--rank`` / ``--embed_rank`` as floors): the ranks that
keep the largest total *share* of every matrix's change within a size budget (each rank's share of its matrix's
energy per byte it costs, taken best first: a greedy fill that is optimal here because every matrix's shares fall
with rank). A matrix whose change is spread over many directions then gets more rank than one whose change is nearly
low-rank.

    python -m training.extract_lora --base smollm2-135m-instruct --tuned /root/work/grpo --rank 64 --embed_rank 512 --out DIR
    python -m training.extract_lora --tuned /root/work/grpo --budget_mb 95 --rank 64 --out DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.loading import load_causal_lm, load_tokenizer, resolve_model_path

LINEAR_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def low_rank(delta, rank: int):
    """(B, A) with ``B @ A`` the best rank-``rank`` approximation of ``delta`` (out x in), the singular values
    split evenly between the factors; and the share of ``delta``'s energy (squared Frobenius norm) kept.

    The singular vectors come from the eigenvectors of the small Gram matrix (at most 576 x 576 here) in
    float64: a full SVD of each matrix took 28 s on a 2-core CPU, this a fraction of a second.
    """
    import torch

    d = delta.double()
    wide = d.shape[0] < d.shape[1]
    if wide:
        d = d.T  # tall: m >= n, so the Gram matrix is the small n x n one
    evals, evecs = torch.linalg.eigh(d.T @ d)  # ascending
    evals, evecs = evals.flip(0).clamp_min(0), evecs.flip(1)
    r = min(rank, evals.numel())
    s = evals[:r].sqrt()
    v = evecs[:, :r]
    u = (d @ v) / s.clamp_min(1e-30)  # zero singular values leave zero columns
    total = float(evals.sum())
    kept = float(evals[:r].sum()) / total if total > 0 else 1.0  # nothing changed: all of it is kept
    root = s.sqrt()
    if wide:  # delta = d.T = v diag(s) u^T
        return (v * root).float(), (root[:, None] * u.T).float(), kept
    return (u * root).float(), (root[:, None] * v.T).float(), kept


def spectrum(delta):
    """The squared singular values of ``delta``, largest first (float64, from the small Gram matrix)."""
    import torch

    d = delta.detach().double()
    gram = d @ d.T if d.shape[0] < d.shape[1] else d.T @ d
    return torch.linalg.eigvalsh(gram).flip(0).clamp_min(0)


def budget_ranks(spectra: dict, sizes: dict[str, tuple[int, int]], budget_bytes: int,
                 floors: dict[str, int] | None = None, bytes_per_value: int = 2) -> dict[str, int]:
    """Per-matrix ranks, each at least its floor (default 1), that keep the largest sum of each matrix's kept energy
    share within ``budget_bytes`` of factors (``bytes_per_value`` each: bf16). A rank of an ``m x n`` matrix costs
    ``m + n`` values, so the embedding's (49,152 + 576) costs 23 times an MLP matrix's: the floor keeps a share-per-byte
    fill from starving it."""
    floors = floors or {}
    ranks = {key: min(max(1, floors.get(key, 1)), len(evals)) for key, evals in spectra.items()}
    used = sum(ranks[key] * sum(sizes[key]) * bytes_per_value for key in spectra)
    if used > budget_bytes:
        raise ValueError(f"a budget of {budget_bytes / 1e6:.1f} MB is less than the floor ranks need "
                         f"({used / 1e6:.1f} MB)")
    gains = []  # (share per byte, key) for every rank above the floor
    for key, evals in spectra.items():
        total = float(evals.sum())
        if total <= 0:
            continue  # unchanged: nothing to keep
        cost = sum(sizes[key]) * bytes_per_value
        gains.extend((share, key) for share in (evals[ranks[key]:] / total / cost).tolist())
    gains.sort(key=lambda g: -g[0])
    for share, key in gains:  # each matrix's shares fall with rank, so its picks are always a prefix
        if share <= 0:
            break
        cost = sum(sizes[key]) * bytes_per_value
        if used + cost > budget_bytes:
            continue  # too dear now, and so for good (a matrix's ranks all cost the same): cheaper ones may fit
        ranks[key] += 1
        used += cost
    return ranks


def extract(base: str, tuned: str, rank: int, out: str | Path, device: str | None = None,
            embed_rank: int | None = None, budget_mb: float | None = None) -> dict:
    """Write the adapter to ``out`` (bf16 safetensors, tokenizer alongside); returns a report of what was kept.

    ``embed_rank``: the embedding's rank (the others get ``rank``); ``None`` gives it ``rank`` too.
    ``budget_mb``: each matrix's rank from ``budget_ranks`` for factors of that many MB, ``rank`` and ``embed_rank``
    then being the floors."""
    import torch
    from peft import LoraConfig, get_peft_model

    from training.common import convert_adapter_to_bf16, hub_id

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tuned_path = resolve_model_path(str(tuned))  # a checked folder: safetensors weights, as the base's
    base_model = load_causal_lm(resolve_model_path(base), torch.float32)
    tuned_model = load_causal_lm(tuned_path, torch.float32)
    tuned_state = tuned_model.state_dict()
    tied = bool(getattr(base_model.config, "tie_word_embeddings", False))
    targets = list(LINEAR_MODULES) + ["embed_tokens"] + ([] if tied else ["lm_head"])
    norms = sorted({name.rsplit(".", 1)[-1] for name, mod in base_model.named_modules() if "norm" in type(mod).__name__.lower()})
    has_bias = any(getattr(mod, "bias", None) is not None and name.rsplit(".", 1)[-1] in targets
                   for name, mod in base_model.named_modules())
    # Biases (Qwen2's q/k/v) are saved whole with the adapter: bias="lora_only" puts them in its state dict.
    embed_rank = rank if embed_rank is None else embed_rank
    # alpha = rank for every module, so that every scale is 1 and B @ A is the change itself
    pattern = {} if embed_rank == rank else {"embed_tokens": embed_rank}
    ranks: dict[str, int] = {}  # module name (as in the base model) -> its rank, under a budget
    if budget_mb is not None:
        spectra, sizes = {}, {}
        for name, module in base_model.named_modules():
            if name.rsplit(".", 1)[-1] in targets and hasattr(module, "weight") and module.weight.ndim == 2:
                w = module.weight
                spectra[name] = spectrum(tuned_state[name + ".weight"].to(device) - w.to(device))
                sizes[name] = tuple(w.shape)
        floors = {name: embed_rank if "embed_tokens" in name else rank for name in spectra}
        ranks = budget_ranks(spectra, sizes, int(budget_mb * 1e6), floors)
        rank = embed_rank = max(ranks.values())
        # full module names: peft matches a pattern key against the end of a module's name
        pattern = {name: r for name, r in ranks.items() if r != rank}
    config = LoraConfig(r=rank, lora_alpha=rank, lora_dropout=0.0, target_modules=targets, modules_to_save=norms,
                        rank_pattern=pattern, alpha_pattern=dict(pattern),
                        bias="lora_only" if has_bias else "none", task_type="CAUSAL_LM")
    model = get_peft_model(base_model, config)
    model.peft_config["default"].base_model_name_or_path = hub_id(base)  # not this machine's cache path
    energy: dict[str, float] = {}
    with torch.no_grad():
        for name, module in model.named_modules():
            if not hasattr(module, "base_layer") or not hasattr(module, "lora_A"):
                continue
            key = name.removeprefix("base_model.model.") + ".weight"
            delta = (tuned_state[key].to(device) - module.base_layer.weight.to(device))
            own = ranks.get(key.removesuffix(".weight"))
            if "default" in module.lora_embedding_A:  # embedding: delta (vocab x dim) = (B @ A).T
                b, a, kept = low_rank(delta.T, own or embed_rank)
                module.lora_embedding_B["default"].copy_(b)
                module.lora_embedding_A["default"].copy_(a)
            else:  # linear: delta (out x in) = B @ A
                b, a, kept = low_rank(delta, own or rank)
                module.lora_B["default"].weight.copy_(b)
                module.lora_A["default"].weight.copy_(a)
            energy[key] = kept
            bias = getattr(module.base_layer, "bias", None)
            if bias is not None:
                bias.copy_(tuned_state[key.removesuffix(".weight") + ".bias"])
        for name, module in model.named_modules():
            if hasattr(module, "modules_to_save") and "default" in getattr(module, "modules_to_save", {}):
                key = name.removeprefix("base_model.model.")
                for pname, param in module.modules_to_save["default"].named_parameters():
                    param.copy_(tuned_state[f"{key}.{pname}"])
    out = Path(out)
    # save_embedding_layers=False: the embedding's low-rank factors only, not a full copy of the matrix (56 MB)
    model.save_pretrained(out, safe_serialization=True, save_embedding_layers=False)
    convert_adapter_to_bf16(out)
    load_tokenizer(tuned_path).save_pretrained(out)  # the fine-tune's, chat template checked; pads on the left
    values = sorted(energy.values())
    worst = sorted(energy, key=energy.get)[:3]
    report = {
        "base": base, "tuned": str(tuned), "rank": rank, "embed_rank": embed_rank, "matrices": len(values),
        **({"budget_mb": budget_mb, "rank_median": sorted(ranks.values())[len(ranks) // 2],
            "rank_min": min(ranks.values()), "ranks_by_module": _ranks_by_module(ranks)} if ranks else {}),
        "energy_kept_min": round(values[0], 4) if values else None,
        "energy_kept_median": round(values[len(values) // 2], 4) if values else None,
        "energy_kept_least": {key: round(energy[key], 4) for key in worst},
        "adapter_bytes": (out / "adapter_model.safetensors").stat().st_size,
    }
    (out / "extraction.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def _ranks_by_module(ranks: dict[str, int]) -> dict[str, float]:
    """The mean rank each kind of module got (q_proj, ..., embed_tokens): the report's summary of a budget."""
    kinds: dict[str, list[int]] = {}
    for name, r in ranks.items():
        kinds.setdefault(name.rsplit(".", 1)[-1], []).append(r)
    return {kind: round(sum(rs) / len(rs), 1) for kind, rs in sorted(kinds.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Extract a LoRA adapter from a full fine-tune (truncated SVD).")
    parser.add_argument("--base", default="smollm2-135m-instruct", help="the model the fine-tune started from")
    parser.add_argument("--tuned", required=True, help="the full fine-tune's folder (safetensors)")
    parser.add_argument("--rank", type=int, default=128)
    parser.add_argument("--embed_rank", type=int, default=None, help="the embedding's rank (default: --rank)")
    parser.add_argument("--budget_mb", type=float, default=None,
                        help="each matrix its own rank, the factors within this many MB (bf16); --rank and --embed_rank are the floors")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.rank < 1 or (args.embed_rank is not None and args.embed_rank < 1):
        print("error: --rank and --embed_rank must be at least 1", file=sys.stderr)
        return 2
    if args.budget_mb is not None and args.budget_mb <= 0:
        print("error: --budget_mb must be positive", file=sys.stderr)
        return 2
    try:
        report = extract(args.base, args.tuned, args.rank, args.out, embed_rank=args.embed_rank,
                         budget_mb=args.budget_mb)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
