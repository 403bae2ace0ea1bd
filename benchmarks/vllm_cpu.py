"""vLLM's CPU build (vllm-cpu, requirements-vllm.txt) against our CPU paths, on the tuned SmolLM2-135M.

    . .venv-vllm/bin/activate
    nice -n 19 python benchmarks/vllm_cpu.py --install-seconds 123.4 --out benchmarks/results/vllm_cpu.json

Measures, greedy, max 1,024 new tokens, the tuned model (base + checkpoints/smollm2-135m-scheduler, which
``VLLMBackend`` serves as a merged copy):

- single: canonical test #0 and #1 one at a time, as the app's streaming demo answers them: our fast
  decoder (``TransformersBackend.stream``: models.fast_decode with prefix cache, prompt lookup and the
  solver's answer as the hint; fp32) against ``VLLMBackend.generate`` of the one conversation (each
  --dtypes). vLLM's offline engine does not stream; its "first" is a separate max_tokens=1 call.
- batch: the first --batch prompts of the test split in one call, as eval does, through
  ``TransformersBackend.generate`` (fp32, batches of 8, HF generate) and ``VLLMBackend.generate``.
Every row records wall seconds, new tokens, tokens/s and the scored verdicts; vLLM rows also whether the
text equals the transformers backend's. Engine start-up (and the one-time merge) is timed on its own;
one warm-up call on test #9 precedes the timed ones.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB; plenty for a 135M model

from eval.results import device_description, git_state, library_versions  # noqa: E402
from models.backend import SamplingSettings  # noqa: E402
from models.generation import TransformersBackend, VLLMBackend  # noqa: E402
from models.specs import ModelSpec  # noqa: E402
from scheduler import build_messages, load_problems, reference_answer, score_completion  # noqa: E402

ADAPTER = str(ROOT / "checkpoints" / "smollm2-135m-scheduler")
SPEC = ModelSpec("smollm2-135m-instruct", ADAPTER)


def verdict(text, problem) -> list:
    v = score_completion(text, problem)
    return [v.verdict, round(v.score, 4)]


def timed(fn):
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def fast_stream(backend, problem, settings) -> dict:
    """The app's CPU path: stream with the reference answer as the hint."""
    started = time.perf_counter()
    first, text = None, ""
    for text in backend.stream(build_messages(problem), settings, hint=reference_answer(problem)):
        if first is None:
            first = time.perf_counter() - started
    total = time.perf_counter() - started
    n = len(backend.tokenizer(text, add_special_tokens=False)["input_ids"])
    return {"text": text, "first_s": round(first, 3), "total_s": round(total, 3), "n_tokens": n,
            "tokens_per_s": round(n / total, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--batch", type=int, default=10, help="first N test prompts for the batch rows (0: none)")
    parser.add_argument("--dtypes", nargs="+", default=["bfloat16", "float32"])
    parser.add_argument("--max-new-tokens", type=int, default=1024)
    parser.add_argument("--install-seconds", type=float, default=None,
                        help="the measured `pip install -r requirements.txt -r requirements-vllm.txt` time")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "vllm_cpu.json"))
    args = parser.parse_args(argv)
    import torch

    settings = SamplingSettings(max_new_tokens=args.max_new_tokens)
    problems = load_problems("test")
    single = [problems[i] for i in args.problems]
    batch = problems[: args.batch]
    warm = problems[9]
    report: dict = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "device": device_description(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "libraries": library_versions(), "git": git_state(), "model": SPEC.model, "adapter": "checkpoints/smollm2-135m-scheduler",
        "max_new_tokens": args.max_new_tokens, "install_seconds": args.install_seconds,
        "env": {k: v for k, v in os.environ.items() if k.startswith("VLLM_")},
        "single": {}, "batch": {}, "load_s": {},
    }

    def save():
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    # Our CPU path (fp32).
    hf, report["load_s"]["transformers"] = timed(lambda: TransformersBackend(SPEC, device="cpu"))
    fast_stream(hf, warm, settings)
    hf_text = {}
    for i, p in zip(args.problems, single):
        row = fast_stream(hf, p, settings)
        hf_text[i] = row.pop("text")
        row["verdict"] = verdict(hf_text[i], p)
        report["single"].setdefault(f"test{i}", {})["fast_decoder_fp32"] = row
        print(f"fast decoder test #{i}: {row}", flush=True)
    save()
    hf_batch = None
    if batch:
        convs = [build_messages(p) for p in batch]
        hf_batch, seconds = timed(lambda: hf.generate(convs, settings))
        n = sum(r.n_new_tokens for r in hf_batch)
        report["batch"]["transformers_fp32"] = {
            "n_prompts": len(batch), "batch_size": hf.default_batch_size, "wall_s": round(seconds, 2), "n_tokens": n,
            "tokens_per_s": round(n / seconds, 1), "verdicts": [verdict(r.text, p) for r, p in zip(hf_batch, batch)]}
        print(f"transformers batch: {report['batch']['transformers_fp32']}", flush=True)
        save()
    del hf

    for dtype in args.dtypes:
        backend, report["load_s"][f"vllm_{dtype}"] = timed(lambda: VLLMBackend(SPEC, device="cpu", dtype=dtype))
        report.setdefault("vllm_info", {})[dtype] = backend.info()
        backend.generate([build_messages(warm)], settings)
        for i, p in zip(args.problems, single):
            msgs = [build_messages(p)]
            _, first = timed(lambda: backend.generate(msgs, SamplingSettings(max_new_tokens=1)))
            (res,), total = timed(lambda: backend.generate(msgs, settings))
            row = {"first_s": round(first, 3), "total_s": round(total, 3), "n_tokens": res.n_new_tokens,
                   "tokens_per_s": round(res.n_new_tokens / total, 1), "verdict": verdict(res.text, p),
                   "same_text_as_fast_decoder": res.text.strip() == hf_text[i].strip()}
            report["single"][f"test{i}"][f"vllm_{dtype}"] = row
            print(f"vllm {dtype} test #{i}: {row}", flush=True)
        save()
        if batch:
            convs = [build_messages(p) for p in batch]
            out, seconds = timed(lambda: backend.generate(convs, settings))
            n = sum(r.n_new_tokens for r in out)
            report["batch"][f"vllm_{dtype}"] = {
                "n_prompts": len(batch), "wall_s": round(seconds, 2), "n_tokens": n, "tokens_per_s": round(n / seconds, 1),
                "verdicts": [verdict(r.text, p) for r, p in zip(out, batch)],
                "same_text_as_transformers": sum(a.text.strip() == b.text.strip() for a, b in zip(out, hf_batch))}
            print(f"vllm {dtype} batch: {report['batch'][f'vllm_{dtype}']}", flush=True)
            save()
        del backend
    save()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
