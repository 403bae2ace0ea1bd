"""The decode loop's first call on a GPU: the step captured as a CUDA graph against the step compiled by inductor.

    python benchmarks/decode_compile.py --json benchmarks/results/decode_compile_h200.json
    python benchmarks/decode_compile.py --model smollm2-135m-instruct      # the provisioned model instead

Each mode of ``models.decode_loop.STEP_MODES`` runs in a process of its own, with an empty inductor cache, so
its first call pays what a fresh machine pays: compiling (inductor) or capturing (graph). The mode
``inductor-warm`` is inductor again in a new process that finds the ``inductor`` run's cache (FX graph and
AOTAutograd caches): what a later process pays once a machine has compiled the step. The modes ``graph-norm``
and ``graph-fused`` are the graph step with every RMSNorm replaced by torch's ``rms_norm``: the first here
(``fuse_norms``) keeps transformers' arithmetic (fp32 norm, cast, then the weight) in fewer kernels, the second is
the decode loop's own ``graph-fused`` step (``models.decode_loop.fused_norms``: one kernel with the weight inside,
one rounding fewer, so not equal to eager in bf16; session 15 ran it as ``graph-norm-1k``). What inductor fuses and
the replayed eager step does not is mostly such elementwise work; these modes measure how much of inductor's
speed the norms alone give back without a compiler. The model is
SmolLM2-135M's architecture with random weights by default (built from its config: the compile and the
decoding cost the same as with the real weights, and nothing needs staging), bf16, 100 prompts of 400-500
tokens, left-padded as eval pads them, greedy, a fixed number of new tokens (no row stops early). Reported per
mode: the first and the second call's seconds, and for each call how many rows equal the eager step's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# SmolLM2-135M-Instruct's config.json (the fields that shape the compute)
SMOLLM2_135M = dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                    num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192, rms_norm_eps=1e-5,
                    rope_theta=100000.0, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=2)


def build_model(spec: str | None, device: str):
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    if spec:
        from models.loading import resolve_model_path

        model = AutoModelForCausalLM.from_pretrained(resolve_model_path(spec), dtype=torch.bfloat16, use_safetensors=True)
    else:
        torch.manual_seed(0)
        model = LlamaForCausalLM(LlamaConfig(**SMOLLM2_135M, attn_implementation="sdpa")).to(torch.bfloat16)
    return model.to(device).eval()


class ExactRMSNorm(torch.nn.Module):
    """An RMSNorm as torch's ``rms_norm`` with the arithmetic of transformers' Llama norm: fp32 norm, cast, then
    the weight."""

    def __init__(self, norm: torch.nn.Module):
        super().__init__()
        self.weight, self.eps = norm.weight, norm.variance_epsilon

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * torch.nn.functional.rms_norm(x.float(), (x.shape[-1],), eps=self.eps).to(x.dtype)


def fuse_norms(model) -> int:
    """Replace each RMSNorm module of ``model`` (``models.decode_loop.rms_norm_modules``) by an ``ExactRMSNorm``;
    returns how many were replaced."""
    from models.decode_loop import rms_norm_modules

    norms = rms_norm_modules(model)
    for name, module in norms:
        model.set_submodule(name, ExactRMSNorm(module))
    return len(norms)


# benchmark label -> (SCHEDULER_DECODE_STEP, whether the model's norms are replaced by ExactRMSNorm)
MODES = {"eager": ("eager", False), "graph": ("graph", False), "graph-fused": ("graph-fused", False),
         "inductor": ("inductor", False), "inductor-warm": ("inductor", False), "graph-norm": ("graph", True)}


def prompts(batch: int, device: str, vocab: int = 49152):
    gen = torch.Generator().manual_seed(1)
    lengths = torch.randint(400, 501, (batch,), generator=gen)
    width = int(lengths.max())
    ids = torch.full((batch, width), 2, dtype=torch.long)
    mask = torch.zeros((batch, width), dtype=torch.long)
    for i, n in enumerate(lengths.tolist()):
        ids[i, width - n:] = torch.randint(3, vocab, (n,), generator=gen)
        mask[i, width - n:] = 1
    return ids.to(device), mask.to(device)


def run_mode(args) -> dict:
    """One mode, in this process: two calls of the loop, their seconds, the tokens saved for the comparison."""
    from transformers import GenerationConfig

    from models import decode_loop

    t0 = time.perf_counter()
    model = build_model(args.model, "cuda")
    if MODES.get(args._label or "", (None, False))[1]:
        fuse_norms(model)
    load_s = time.perf_counter() - t0
    ids, mask = prompts(args.batch, "cuda")
    config = GenerationConfig(max_new_tokens=args.new_tokens, do_sample=False, eos_token_id=[], pad_token_id=2)
    calls, outs = [], []
    for _ in range(2):
        torch.cuda.synchronize()
        start = time.perf_counter()
        out = decode_loop.decode(model, ids, mask, config, eos=[-1], pad_id=2)
        torch.cuda.synchronize()
        calls.append(round(time.perf_counter() - start, 3))
        outs.append(out.cpu())
    torch.save(outs, args.tokens_out)
    return {"mode": args._label or os.environ["SCHEDULER_DECODE_STEP"], "load_s": round(load_s, 2),
            "first_call_s": calls[0],
            "second_call_s": calls[1], "new_tokens": int(out.shape[1]), "batch": int(out.shape[0]),
            "tokens_per_s_second_call": round(out.numel() / calls[1], 1),
            "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a model spec (default: random weights of SmolLM2-135M's shape)")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--new-tokens", type=int, default=600)
    parser.add_argument("--modes", nargs="+", default=["eager", "graph", "inductor"],
                        choices=list(MODES), help="step modes; inductor-warm (after inductor) reuses inductor's compile cache; "
                        "graph-norm, graph-fused: the graph step with fused RMSNorms")
    parser.add_argument("--json", default=None)
    parser.add_argument("--_one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tokens_out", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--_label", default=None, help=argparse.SUPPRESS)  # the mode's name in the report
    args = parser.parse_args(argv)
    if args._one:
        print(json.dumps(run_mode(args)))
        return {}

    from eval.results import device_description, library_versions

    rows, tokens = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes:
            step = MODES[mode][0]
            cache = f"{tmp}/inductor-inductor" if mode == "inductor-warm" else f"{tmp}/inductor-{mode}"
            env = dict(os.environ, SCHEDULER_DECODE_STEP=step, TORCHINDUCTOR_CACHE_DIR=cache)
            out = f"{tmp}/{mode}.pt"
            cmd = [sys.executable, __file__, "--_one", "--_label", mode, "--tokens_out", out,
                   "--batch", str(args.batch), "--new-tokens", str(args.new_tokens)] + (["--model", args.model] if args.model else [])
            start = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if proc.returncode:
                rows.append({"mode": mode, "error": proc.stderr.strip().splitlines()[-1:] or ["?"]})
                print(f"{mode}: failed: {proc.stderr[-2000:]}", file=sys.stderr)
                continue
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            row["process_s"] = round(time.perf_counter() - start, 2)
            tokens[mode] = torch.load(out)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    if "eager" in tokens:
        reference = tokens["eager"][1]
        for row in rows:
            if row["mode"] in tokens:
                # each call against the eager step's (a capture or compile in the first call must not change it)
                for call, out in zip(("first", "second"), tokens[row["mode"]]):
                    row[f"rows_equal_to_eager_{call}_call"] = int((out == reference).all(dim=1).sum())
                    row[f"tokens_equal_to_eager_{call}_call"] = round(float((out == reference).float().mean()), 4)
    report = {"command": "python benchmarks/" + " ".join([Path(__file__).name] + (argv or sys.argv[1:])),
              "device": device_description(), "libraries": library_versions(),
              "model": args.model or "random weights, SmolLM2-135M architecture (bf16)", "rows": rows}
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
