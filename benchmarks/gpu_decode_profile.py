"""What one decoding step of the 135M model costs on a GPU, and where that time goes (issue 6, targets 1-2).

    python benchmarks/gpu_decode_profile.py --json out.json
    python benchmarks/gpu_decode_profile.py --batch 100 --prompt 512 --new 576

Timing does not depend on the weights, so the model is SmolLM2-135M's architecture (its config, below)
with random bf16 weights: no checkpoint is needed. Every row generates exactly ``--new`` tokens per
sequence (no end-of-sequence stop) for a batch of ``--batch`` prompts left-padded to ``--prompt``
tokens, and reports milliseconds per decoding step (one token for the whole batch):

- ``generate_plain``: ``generate`` with a dynamic cache (the eval baseline).
- ``generate_static``: ``generate`` with a static cache and its decode step compiled (what
  ``models.batch_generate`` does), second call (the first compiles).
- ``loop_static``: a bare loop over the same compiled step (argmax in the graph, no ``generate``):
  what is left when ``generate``'s own per-step work is gone.
- ``loop_static_short_cache``: the same with a cache just long enough (``--prompt`` + 64): how much of a
  step is attention over the static cache's full length.
- ``decode_loop``: ``models.decode_loop`` (the ``loop`` method: the mask kept across steps, grouped-query
  attention reading each cached key/value once), cache ``--prompt`` + ``--cache``, greedy;
  ``decode_loop_sampled``: the same drawing each token at temperature 1 (GRPO's rollouts);
  ``decode_loop_profile``: its top CUDA kernels over 20 steps.
- ``profile``: the CUDA kernels that take the most time in 20 steps of ``loop_static``, and the
  per-step CPU time of ``generate_static`` next to its GPU time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval.results import device_description, library_versions, write_json_atomic  # noqa: E402

SMOLLM2_135M = dict(
    hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
    head_dim=64, vocab_size=49152, max_position_embeddings=8192, rms_norm_eps=1e-5, tie_word_embeddings=True,
    rope_parameters={"rope_theta": 100000.0, "rope_type": "default"}, bos_token_id=1, eos_token_id=2, pad_token_id=2,
)


def build(device: str, dtype):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(**SMOLLM2_135M)
    model = LlamaForCausalLM(config).to(device=device, dtype=dtype).eval()
    return model


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run_generate(model, input_ids, mask, new: int, static: bool, device: str) -> float:
    import torch
    from transformers import GenerationConfig

    config = GenerationConfig(max_new_tokens=new, min_new_tokens=new, do_sample=False, eos_token_id=None,
                              pad_token_id=0, cache_implementation="static" if static else None,
                              disable_compile=not static)
    sync(device)
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(input_ids=input_ids, attention_mask=mask, generation_config=config)
    sync(device)
    assert out.shape[1] == input_ids.shape[1] + new
    return time.perf_counter() - start, out[:, input_ids.shape[1]:]


class StaticLoop:
    """Prefill once, then ``steps`` greedy decode steps through one compiled function (CUDA graphs)."""

    def __init__(self, model, batch: int, cache_len: int, compile_mode: str | None):
        import torch
        from transformers import StaticCache

        self.model = model
        self.cache = StaticCache(config=model.config, max_cache_len=cache_len)
        self.cache_len = cache_len

        def step(token, position, cache_position, mask):
            logits = model(input_ids=token, position_ids=position, cache_position=cache_position,
                           attention_mask=mask, past_key_values=self.cache, use_cache=True).logits
            return logits[:, -1].argmax(-1, keepdim=True)

        self.step = torch.compile(step, mode=compile_mode) if compile_mode else step

    def run(self, input_ids, mask, steps: int, device: str, profile: bool = False):
        import torch

        self.cache.reset()
        batch, width = input_ids.shape
        full_mask = torch.zeros((batch, self.cache_len), dtype=mask.dtype, device=mask.device)
        full_mask[:, :width] = mask
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.no_grad():
            logits = self.model(input_ids=input_ids, attention_mask=full_mask[:, :width], position_ids=positions,
                                cache_position=torch.arange(width, device=device), past_key_values=self.cache,
                                use_cache=True).logits
            token = logits[:, -1].argmax(-1, keepdim=True)
            position = positions[:, -1:] + 1
            sync(device)
            start = time.perf_counter()
            prof = None
            tokens = []
            if profile:
                from torch.profiler import ProfilerActivity, profile as torch_profile

                prof = torch_profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
                prof.__enter__()
            for i in range(steps):
                t = width + i
                full_mask[:, t] = 1
                tokens.append(token)
                token = self.step(token, position, torch.tensor([t], device=device), full_mask).clone()
                position = position + 1
            sync(device)
            elapsed = time.perf_counter() - start
            if prof is not None:
                prof.__exit__(None, None, None)
        return elapsed, prof, torch.cat(tokens, dim=1)


def run_decode_loop(model, input_ids, mask, args, sampled: bool = False, steps: int | None = None):
    """(seconds, first call's seconds, tokens, cache length) of ``models.decode_loop`` for ``steps`` tokens."""
    import torch
    from transformers import GenerationConfig

    from models.decode_loop import decode

    steps = steps or args.new
    config = GenerationConfig(max_new_tokens=steps, do_sample=sampled, temperature=1.0, top_k=0, top_p=1.0)
    times = []
    for _ in range(2):  # the first call compiles and captures the graph
        sync(args.device)
        start = time.perf_counter()
        with torch.no_grad():  # rounding up to a multiple of prompt + cache: a cache of exactly the eval's size
            tokens = decode(model, input_ids, mask, config, eos=[], pad_id=0, cache_multiple=args.prompt + args.cache)
        sync(args.device)
        times.append(time.perf_counter() - start)
    assert tokens.shape[1] == steps
    return times[1], times[0], tokens, args.prompt + args.cache


def profile_decode_loop(model, input_ids, mask, args) -> dict:
    """The loop's top CUDA kernels per step over 20 steps (after the timed runs: nothing compiles here)."""
    from torch.profiler import ProfilerActivity, profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        run_decode_loop(model, input_ids, mask, args, steps=20)
    return top_kernels(prof, steps=2 * 20)  # run_decode_loop runs twice


def top_kernels(prof, steps: int, n: int = 12) -> dict:
    """The ``n`` costliest kernels of a profile, in GPU milliseconds and calls per decoding step."""
    events = prof.key_averages()
    attr = "device_time_total" if hasattr(events[0], "device_time_total") else "cuda_time_total"
    top = sorted(events, key=lambda e: getattr(e, attr, 0), reverse=True)[:n]
    return {"steps": steps, "top_kernels_ms_per_step": [
        {"name": e.key[:90], "ms_per_step": round(getattr(e, attr, 0) / 1000 / steps, 4), "calls_per_step": e.count / steps}
        for e in top]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--prompt", type=int, default=512, help="left-padded prompt width (tokens)")
    parser.add_argument("--new", type=int, default=576, help="tokens generated per sequence")
    parser.add_argument("--cache", type=int, default=1024, help="static cache headroom past the prompt (eval: --max_new_tokens)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--only", nargs="*", default=None, help="rows to run (default: all)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    import torch

    machine = {"device": device_description(), "versions": library_versions()}
    dtype = torch.bfloat16 if args.device.startswith("cuda") else torch.float32
    compile_mode = "reduce-overhead" if args.device.startswith("cuda") else None
    model = build(args.device, dtype)
    torch.manual_seed(1)
    lengths = torch.randint(args.prompt // 2, args.prompt + 1, (args.batch,))
    input_ids = torch.randint(3, 49152, (args.batch, args.prompt), device=args.device)
    mask = (torch.arange(args.prompt)[None, :] >= (args.prompt - lengths)[:, None]).long().to(args.device)
    rows: dict[str, dict] = {}
    want = set(args.only or ["generate_plain", "generate_static", "decode_loop", "decode_loop_sampled",
                             "decode_loop_profile", "loop_static", "loop_static_short_cache", "profile"])

    def per_step(name: str, seconds: float, steps: int, **extra) -> None:
        rows[name] = {"seconds": round(seconds, 3), "steps": steps, "ms_per_step": round(1000 * seconds / steps, 3), **extra}
        print(f"{name}: {json.dumps(rows[name])}", flush=True)
        if args.json:
            write(args, rows, **machine)

    reference = None  # plain generate's tokens: the loop below must decode the same way
    if "generate_plain" in want:
        run_generate(model, input_ids[:, -16:], mask[:, -16:], 4, False, args.device)  # warm-up
        seconds, reference = run_generate(model, input_ids, mask, args.new, False, args.device)
        per_step("generate_plain", seconds, args.new)
    if "generate_static" in want:
        # generate sizes its static cache to prompt + max_new_tokens; the eval's is prompt + 1,024 (+ ~50 %).
        first, _ = run_generate(model, input_ids, mask, args.new, True, args.device)
        seconds, _ = run_generate(model, input_ids, mask, args.new, True, args.device)
        per_step("generate_static", seconds, args.new, first_call_s=round(first, 1), cache_len=args.prompt + args.new)
    for name in ("decode_loop", "decode_loop_sampled"):
        if name in want:
            seconds, first, tokens, cache_len = run_decode_loop(model, input_ids, mask, args, sampled=name.endswith("sampled"))
            extra = {"first_call_s": round(first, 1), "cache_len": cache_len}
            if reference is not None and not name.endswith("sampled"):
                extra["rows_same_as_generate"] = int((tokens == reference[:, :tokens.shape[1]]).all(dim=1).sum())
            per_step(name, seconds, args.new, **extra)
    if "decode_loop_profile" in want:
        rows["decode_loop_profile"] = profile_decode_loop(model, input_ids, mask, args)
        print(json.dumps(rows["decode_loop_profile"], indent=1), flush=True)
    loops = [("loop_static", args.prompt + args.cache), ("loop_static_short_cache", args.prompt + 64)]
    for name, cache_len in loops:
        if name not in want:
            continue
        steps = args.new if name == "loop_static" else 64
        loop = StaticLoop(model, args.batch, cache_len, compile_mode)
        first, _, _ = loop.run(input_ids, mask, steps, args.device)
        seconds, _, tokens = loop.run(input_ids, mask, steps, args.device)
        extra = {}
        if reference is not None:  # rows whose tokens equal plain generate's over the steps both made
            n = min(steps, reference.shape[1])
            extra["rows_same_as_generate"] = int((tokens[:, :n] == reference[:, :n]).all(dim=1).sum())
        per_step(name, seconds, steps, first_call_s=round(first, 1), cache_len=cache_len, **extra)
        if name == "loop_static" and "profile" in want:
            _, prof, _ = loop.run(input_ids, mask, min(20, cache_len - args.prompt), args.device, profile=True)
            rows["profile"] = top_kernels(prof, steps=20)
            print(json.dumps(rows["profile"], indent=1), flush=True)
    return write(args, rows, **machine)


def write(args, rows: dict, device: str, versions: dict) -> dict:
    report = {"benchmark": "gpu_decode_profile", "date": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv),
              "model": "SmolLM2-135M architecture, random bf16 weights", "batch": args.batch, "prompt": args.prompt,
              "new": args.new, "device": device, "versions": versions, "rows": rows}
    if args.json:
        write_json_atomic(args.json, report)
    return report


if __name__ == "__main__":
    main()
