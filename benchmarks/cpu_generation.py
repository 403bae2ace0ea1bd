"""Which knobs make the CPU demo fast: each measured on its own, outputs checked token for token.

    python benchmarks/cpu_generation.py                       # test #0, the embedded smollm2-135m pair
    python benchmarks/cpu_generation.py --check 1 2 3         # also check equal greedy tokens on more problems
    python benchmarks/cpu_generation.py --only loop prefix    # a subset of the table

Rows (each lane alone unless it says "both"; greedy, max 1,024 new tokens):
  generate     HF ``generate`` (the baseline), fp32
  loop         a lean decode loop (``models.fast_decode.GreedyDecoder``) without prefix cache or lookup
  prefix       + the shared system/user-template prefix's KV cache (only the problem is prefilled)
  lookup       + prompt-lookup drafts (up to 12 tokens after a 2-4-gram match, verified in one forward pass;
               --max-draft N: a draft taken whole doubles the next one, up to N)
  hint         + drafts from the solver's reference answer first (``hint_ids``; what the app does), on
               --problem and every --check problem
  lookup-2t    the same with 2 torch threads, lanes one after the other
  both-1t      both lanes at once, 1 thread each (what the page's button does with the fast path)
  both-seq-2t  both lanes one after the other, 2 threads each (total wall time)
  bf16         the lean loop in bf16 (outputs checked against fp32 generate)
  step-cost    median time of one forward pass over 1, 2, 4, 8, 12, 16, 24, 32, 48 new tokens after a 600-token cache
               (1 and 2 threads; fp32 and bf16): what a drafted step costs against a one-token step
Times are wall seconds; "first" is the first token's latency; "same" compares the tokens with
``generate``'s on the same problem.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from models.backend import SamplingSettings  # noqa: E402
from models.batch_generate import cut_at_eos  # noqa: E402
from models.fast_decode import GreedyDecoder  # noqa: E402
from models.generation import TransformersBackend  # noqa: E402
from models.specs import ModelSpec  # noqa: E402
from scheduler import build_messages, load_problems, reference_answer  # noqa: E402

ADAPTER = str(Path(__file__).resolve().parent.parent / "checkpoints" / "smollm2-135m-scheduler")
ROWS = ("generate", "loop", "prefix", "lookup", "hint", "lookup-2t", "both-1t", "both-seq-2t", "bf16", "step-cost")


def run_generate(backend, ids, max_new):
    config = backend._generation_config(SamplingSettings(max_new_tokens=max_new))
    enc = {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long)}
    first = []

    class Clock:  # the first put() after the prompt is the first new token
        def put(self, value):
            if len(first) < 2:
                first.append(time.perf_counter())

        def end(self):
            pass

    started = time.perf_counter()
    with torch.inference_mode():
        out = backend.model.generate(**enc, generation_config=config, streamer=Clock())
    total = time.perf_counter() - started
    new = out[0, len(ids):].tolist()
    return cut_at_eos(new, backend.eos_ids), first[-1] - started, total


def run_decoder(decoder, ids, max_new, hint_ids=None):
    started = time.perf_counter()
    first, tokens = None, []
    for step in decoder.decode(ids, max_new, hint_ids=hint_ids):
        if first is None:
            first = time.perf_counter() - started
        tokens.extend(step)
    return tokens, first, time.perf_counter() - started


def step_cost(model, threads: int, repeats: int = 12) -> dict:
    """{tokens fed: median ms} for one forward pass on a 600-token cache."""
    torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 40000, (1, 600), generator=generator)
    costs = {}
    with torch.inference_mode():
        cache = model(ids, use_cache=True, logits_to_keep=1).past_key_values
        for n in (1, 2, 4, 8, 12, 16, 24, 32, 48):
            feed = torch.randint(0, 40000, (1, n), generator=generator)
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                model(feed, past_key_values=cache, use_cache=True, logits_to_keep=n)
                times.append(time.perf_counter() - started)
                cache.crop(-n)
            costs[n] = sorted(times)[repeats // 2] * 1000
    torch.set_num_threads(1)
    return costs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problem", type=int, default=0)
    parser.add_argument("--check", type=int, nargs="*", default=[], help="more test rows to check for equal tokens")
    parser.add_argument("--only", nargs="*", choices=ROWS, default=list(ROWS))
    parser.add_argument("--max-new-tokens", type=int, default=1024)
    parser.add_argument("--lookup", type=int, default=12)
    parser.add_argument("--max-draft", type=int, nargs="*", default=[], help="longest drafts after whole ones to "
                        "compare on the hint row (default: --lookup only); each is a row hint-mdN")
    parser.add_argument("--roles", nargs="*", choices=("base", "tuned"), default=["base", "tuned"])
    args = parser.parse_args(argv)
    load0 = os.getloadavg()[0]
    torch.set_num_threads(1)
    specs = {"base": ModelSpec("smollm2-135m-instruct"), "tuned": ModelSpec("smollm2-135m-instruct", ADAPTER)}
    backends = {role: TransformersBackend(specs[role], device="cpu") for role in args.roles}
    first_backend = next(iter(backends.values()))  # prompts and the prefix are the same for every role
    problems = load_problems("test")
    prompts = {}
    for p in [args.problem, *args.check]:
        enc = first_backend._encode([build_messages(problems[p])])
        prompts[p] = enc["input_ids"][0].tolist()
    prefix = first_backend.shared_prefix_ids()
    print(f"prompt tokens (test #{args.problem}): {len(prompts[args.problem])}, shared prefix {len(prefix)}; "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}, load average {load0:.2f}")

    def decoders(lookup, dtype=None, max_draft=None):
        out = {}
        for role, b in backends.items():
            model = b.model if dtype is None else copy.deepcopy(b.model).to(dtype)
            d = GreedyDecoder(model, b.eos_ids, lookup_tokens=lookup, max_draft=max_draft)
            if prefix:
                d.cache_prefix(prefix)
            out[role] = d
        return out

    reference = {}
    rows = []

    def record(name, role, p, tokens, first, total, threads):
        same = "-" if (role, p) not in reference else ("yes" if tokens == reference[(role, p)] else
               f"NO (first diff at {next((i for i, (a, b) in enumerate(zip(tokens, reference[(role, p)])) if a != b), min(len(tokens), len(reference[(role, p)])))})")
        rows.append((name, role, p, threads, len(tokens), first, total, same))
        print(f"{name:12} {role:5} #{p:<3} {threads}t  {len(tokens):5} tok  first {first:5.2f} s  total {total:6.2f} s  "
              f"{len(tokens) / total:6.1f} tok/s  same as generate: {same}", flush=True)

    for p in prompts:
        for role, b in backends.items():  # always run: the reference every other row is checked against
            tokens, first, total = run_generate(b, prompts[p], args.max_new_tokens)
            reference[(role, p)] = tokens
            if p == args.problem:
                record("generate", role, p, tokens, first, total, 1)
    plain = {role: GreedyDecoder(b.model, b.eos_ids, lookup_tokens=0) for role, b in backends.items()}
    with_prefix = decoders(0)
    with_lookup = decoders(args.lookup)
    for name, decs in (("loop", plain), ("prefix", with_prefix), ("lookup", with_lookup)):
        if name in args.only:
            for role in backends:
                before = decs[role].stats["forwards"]
                record(name, role, args.problem, *run_decoder(decs[role], prompts[args.problem], args.max_new_tokens), 1)
                print(f"{'':12} {role:5} decoding forward passes: {decs[role].stats['forwards'] - before + 1} "
                      "(the prefill's included)")
    for p in args.check:
        for role in backends:
            record("lookup", role, p, *run_decoder(with_lookup[role], prompts[p], args.max_new_tokens), 1)
    if "hint" in args.only:
        variants = [("hint", with_lookup)] + [(f"hint-md{m}", decoders(args.lookup, max_draft=m)) for m in args.max_draft]
        for name, decs in variants:
            for p in prompts:
                for role, b in backends.items():
                    hint = b.tokenizer(reference_answer(problems[p]), add_special_tokens=False)["input_ids"]
                    before = decs[role].stats["forwards"]
                    record(name, role, p, *run_decoder(decs[role], prompts[p], args.max_new_tokens, hint), 1)
                    print(f"{'':12} {role:5} decoding forward passes: {decs[role].stats['forwards'] - before + 1}")
    if "lookup-2t" in args.only or "both-seq-2t" in args.only:
        torch.set_num_threads(2)
        started = time.perf_counter()
        for role in backends:
            record("lookup-2t", role, args.problem, *run_decoder(with_lookup[role], prompts[args.problem], args.max_new_tokens), 2)
        print(f"both-seq-2t: both lanes one after the other, 2 threads: {time.perf_counter() - started:.2f} s wall", flush=True)
        torch.set_num_threads(1)
    if "both-1t" in args.only:
        results = {}
        started = time.perf_counter()
        workers = [threading.Thread(target=lambda r=r: results.__setitem__(
            r, run_decoder(with_lookup[r], prompts[args.problem], args.max_new_tokens))) for r in backends]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.perf_counter() - started
        for role in backends:
            record("both-1t", role, args.problem, *results[role], 1)
        print(f"both-1t: both lanes at once, 1 thread each: {wall:.2f} s wall", flush=True)
    if "bf16" in args.only:
        decs = decoders(args.lookup, torch.bfloat16)
        for role in backends:
            record("bf16+lookup", role, args.problem, *run_decoder(decs[role], prompts[args.problem], args.max_new_tokens), 1)
    if "step-cost" in args.only:
        model = first_backend.model
        for threads in (1, 2):
            print(f"step cost fp32 {threads}t: " + ", ".join(f"{n} tok {ms:.1f} ms" for n, ms in step_cost(model, threads).items()))
        costs = step_cost(copy.deepcopy(model).to(torch.bfloat16), 1)
        print("step cost bf16 1t: " + ", ".join(f"{n} tok {ms:.1f} ms" for n, ms in costs.items()))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
