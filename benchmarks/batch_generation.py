"""Batched eval speed: the canonical test prompts through each generation method, on a GPU or a CPU.

    python benchmarks/batch_generation.py                                  # embedded base, test split, GPU
    python benchmarks/batch_generation.py --adapter checkpoints/smollm2-135m-scheduler
    python benchmarks/batch_generation.py --device cpu --limit 8 --max-new-tokens 256 --json out.json

Each method (``models.batch_generate``: plain ``generate`` = the baseline, ``loop`` = our decode loop,
``models.decode_loop``) generates the prompts in one batch, greedy (bf16 on a GPU, fp32 on a CPU). ``loop``
runs twice: the first call pays one-off costs (compiling and graph capture on a GPU), the second is what
every later call costs; ``plain`` has no such cost and runs once (after the same short warm-up). The JSON
is rewritten after each method, so a method that fails or is cut off loses only its own row. "same" counts
prompts whose tokens equal the baseline's, token for token; each method's answers are also scored, so a
difference in tokens shows up (or not) as a difference in score. (Before the generation layer was cut to
these two methods this script was ``benchmarks/gpu_generation.py`` and also timed ``static`` and
``continuous``: benchmarks/RESULTS.md.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval.results import device_description, library_versions, write_json_atomic  # noqa: E402
from models.backend import SamplingSettings  # noqa: E402
from models.batch_generate import METHODS, generate_ids  # noqa: E402
from models.generation import TransformersBackend  # noqa: E402
from models.specs import ModelSpec  # noqa: E402
from scheduler import Problem, build_messages, load_split, score_completion  # noqa: E402


def timed(fn, device: str):
    import torch

    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    sync()
    start = time.perf_counter()
    out = fn()
    sync()
    return out, time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--adapter", default=None, help="a LoRA adapter folder (merged before timing)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--max-new-tokens", type=int, default=1024)
    parser.add_argument("--methods", nargs="+", default=list(reversed(METHODS)), choices=METHODS)
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when present)")
    parser.add_argument("--json", default=None, help="write the figures here")
    args = parser.parse_args(argv)

    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA GPU here (use --device cpu).")
    backend = TransformersBackend(ModelSpec(args.model, adapter=args.adapter), device=device, fast=False)
    rows = load_split(args.split)[: args.limit]
    problems = [Problem.from_row(r) for r in rows]
    prompts = [backend._encode([build_messages(r["prompt"])])["input_ids"][0].tolist() for r in rows]
    config = backend._generation_config(SamplingSettings(max_new_tokens=args.max_new_tokens))
    generate_ids(backend.model, prompts[:2], backend._generation_config(SamplingSettings(max_new_tokens=8)),
                 method="plain")  # CUDA context and kernels warm for every method alike

    table: dict[str, dict] = {}
    report: dict = {}
    baseline = None
    for method in args.methods:
        calls = []
        for _ in range(1 if method == "plain" else 2):
            try:
                ids, seconds = timed(lambda: generate_ids(backend.model, prompts, config, method=method,
                                                          pad_id=backend.tokenizer.pad_token_id), device)
            except Exception as err:  # one method failing must not lose the others' figures
                table[method] = {"error": f"{type(err).__name__}: {err}"[:500]}
                print(f"{method}: failed: {table[method]['error']}", flush=True)
                report = write_report(args, backend, prompts, table)
                break
            calls.append((ids, seconds))
        if not calls or method in table:
            continue
        ids = calls[-1][0]
        if baseline is None and method == "plain":
            baseline = ids
        texts = [backend.tokenizer.decode(i, skip_special_tokens=True) for i in ids]
        verdicts = [score_completion(t, p) for t, p in zip(texts, problems)]
        n_tokens = sum(len(i) for i in ids)
        row = {
            "first_call_s": round(calls[0][1], 2),
            "seconds": round(calls[-1][1], 2),
            "generated_tokens": n_tokens,
            "tokens_per_s": round(n_tokens / calls[-1][1], 1),
            "longest": max(len(i) for i in ids),
            "valid": sum(v.verdict == "valid" for v in verdicts),
            "mean_score": round(100 * statistics.fmean(v.score for v in verdicts), 2),
            "repeatable": calls[0][0] == calls[-1][0],
        }
        if baseline is not None:
            row["same_as_plain"] = sum(a == b for a, b in zip(ids, baseline))
            row["same_texts_as_plain"] = sum(
                a == backend.tokenizer.decode(b, skip_special_tokens=True) for a, b in zip(texts, baseline))
        table[method] = row
        print(f"{method}: {json.dumps(row)}", flush=True)
        report = write_report(args, backend, prompts, table)
    print(json.dumps(report, indent=1))
    return report


def write_report(args, backend, prompts, table: dict) -> dict:
    base = table.get("plain", {}).get("seconds")
    for row in table.values():
        if base and "seconds" in row:
            row["speedup_vs_plain"] = round(base / row["seconds"], 2)
    report = {
        "benchmark": "batch_generation", "date": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv),
        "model": args.model, "adapter": args.adapter, "split": args.split, "n_prompts": len(prompts),
        "max_new_tokens": args.max_new_tokens, "dtype": backend.loaded.dtype,
        "device": device_description(), "versions": library_versions(), "methods": table,
    }
    if args.json:
        write_json_atomic(args.json, report)
    return report


if __name__ == "__main__":
    main()
