"""A weight soup: several fine-tunes of one base averaged into one full model (Wortsman et al. 2022, "Model soups").

Each ingredient is a model folder or a LoRA adapter of the same base (merged first, as ``models.loading`` merges
it for eval); the soup is ``base + sum_i w_i * (ingredient_i - base)``, saved as a full fp32 model with the base's
tokenizer. Two fine-tunes of one base that fail differently may average into one that keeps what each does well;
measured on the full fine-tune (sampling reliably) and the LoRA (copying unseen names) of the same problems, every
mix was below both on the test split (docs/training.md, session 16: the two are not linearly connected). A soup is a
full model: to ship one, extract its LoRA (``training.extract_lora``) and measure that.

    python -m training.soup --ingredient /root/work/sft-full-b95:0.5 --ingredient /root/work/sft-lora:0.5 \
        --out /root/work/soup50
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.loading import load_causal_lm, load_model, load_tokenizer, resolve_model_path
from models.specs import ModelSpec


def parse_ingredient(text: str) -> tuple[str, float]:
    """``PATH:WEIGHT`` (the weight a float); a bare PATH weighs 1."""
    path, sep, weight = text.rpartition(":")
    if not sep:
        return text, 1.0
    try:
        return path, float(weight)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: the weight after ':' must be a number") from err


def ingredient_state(base: str, path: str) -> dict:
    """The full fp32 state dict of an ingredient: a LoRA adapter merged into ``base``, or a model folder."""
    import torch

    folder = Path(path)
    if (folder / "adapter_config.json").is_file():  # load_model validates it (safetensors, base)
        loaded = load_model(ModelSpec(model=base, adapter=str(folder)), device="cpu", dtype=torch.float32)
        model = loaded.model
    else:
        model = load_causal_lm(resolve_model_path(path), dtype=torch.float32)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def soup(base: str, ingredients: list[tuple[str, float]], out: str | Path) -> dict:
    """Write ``base + sum_i w_i (ingredient_i - base)`` to ``out``; returns the record saved beside it."""
    import torch

    if not ingredients:
        raise ValueError("a soup needs at least one ingredient")
    base_path = resolve_model_path(base)
    model = load_causal_lm(base_path, dtype=torch.float32)
    state = model.state_dict()
    base_state = {k: v.detach().clone() for k, v in state.items()}
    mixed = {k: v.clone() for k, v in base_state.items()}
    for path, weight in ingredients:
        other = ingredient_state(base, path)
        differ = sorted(set(base_state) ^ set(other)) or sorted(
            k for k, v in base_state.items() if other[k].shape != v.shape)
        if differ:
            raise ValueError(f"{path} is not a fine-tune of {base}: its weights differ in {', '.join(differ[:3])}")
        for key, value in base_state.items():
            mixed[key] += weight * (other[key] - value)
    model.load_state_dict(mixed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    load_tokenizer(base_path).save_pretrained(out)
    record = {"base": base, "ingredients": [{"path": p, "weight": w} for p, w in ingredients]}
    (out / "soup.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="smollm2-135m-instruct")
    parser.add_argument("--ingredient", action="append", type=parse_ingredient, required=True,
                        help="PATH[:WEIGHT], a LoRA adapter or model folder of the base (repeat)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    record = soup(args.base, args.ingredient, args.out)
    parts = " + ".join(f"{i['weight']} x {i['path']}" for i in record["ingredients"])
    print(f"[soup] {parts} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
