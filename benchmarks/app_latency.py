"""How long the Space takes to answer one canonical problem with its model pair, on this machine.

    python benchmarks/app_latency.py                                  # the embedded smollm2-135m pair, CPU
    python benchmarks/app_latency.py --problem 0 --max-new-tokens 256
    python benchmarks/app_latency.py --tuned-adapter DIR --json out.json

It drives ``space.lanes.run_lane`` -- exactly what the page runs -- first with the two lanes one after
the other (each lane's own speed), then both at once, as the page's "Run both models" button does
(the wall time a user waits). Model loading is timed separately (the page loads on first use and
then caches). Other flags are app.py's (``--preset``, ``--base-model``, ...). The load average is
printed because other processes on the machine slow every figure down.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.generation import SamplingSettings  # noqa: E402
from scheduler import breakdown, load_problems  # noqa: E402
from space.config import Side, parse_config  # noqa: E402
from space.lanes import ModelPool, run_lane, share_cpu  # noqa: E402


def time_lane(side: Side, problem, settings: SamplingSettings, pool: ModelPool) -> dict:
    started = time.perf_counter()
    first = None
    text = ""
    for update in run_lane(side, problem, settings, pool):
        if update.text and first is None:
            first = time.perf_counter() - started
        text = update.text
    total = time.perf_counter() - started
    backend = pool.get(side.spec)
    tokenizer = getattr(backend, "tokenizer", None)
    tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"]) if tokenizer is not None else 0
    return {
        "lane": side.role, "model": side.label, "first_text_s": round(first or 0.0, 2), "total_s": round(total, 2),
        "new_tokens": tokens, "tokens_per_s": round(tokens / total, 1) if total else 0.0,
        "verdict": breakdown(text, problem).verdict,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=False)
    parser.add_argument("--problem", type=int, default=0, help="row of the canonical test split")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--skip-concurrent", action="store_true")
    own, rest = parser.parse_known_args(argv)
    config = parse_config(rest)
    sides = [side for side in (config.base, config.tuned) if side.spec is not None]
    for side in (config.base, config.tuned):
        if side.spec is None:
            print(f"{side.role}: not measured ({side.missing})")
    threads = share_cpu(lanes=len(sides)) if config.device in (None, "cpu") else 0
    problem = load_problems("test")[own.problem]
    settings = SamplingSettings(max_new_tokens=config.max_new_tokens)
    pool = ModelPool(backend=config.backend, device=config.device)
    report: dict = {
        "problem": own.problem, "max_new_tokens": settings.max_new_tokens, "greedy": settings.greedy,
        "cpu_count": os.cpu_count(), "torch_threads_per_lane": threads, "load_average_1m": os.getloadavg()[0],
        "load_s": {}, "sequential": [], "concurrent": None,
    }
    for side in sides:
        started = time.perf_counter()
        pool.get(side.spec)
        report["load_s"][side.role] = round(time.perf_counter() - started, 2)
    for side in sides:
        report["sequential"].append(time_lane(side, problem, settings, pool))
    if len(sides) == 2 and not own.skip_concurrent:
        results: dict = {}
        started = time.perf_counter()
        workers = [threading.Thread(target=lambda s=s: results.__setitem__(s.role, time_lane(s, problem, settings, pool)))
                   for s in sides]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        report["concurrent"] = {"wall_s": round(time.perf_counter() - started, 2), "lanes": [results[s.role] for s in sides]}
    report["load_average_1m_end"] = os.getloadavg()[0]

    print(f"problem test #{own.problem}, greedy, max {settings.max_new_tokens} new tokens, "
          f"{os.cpu_count()} CPUs, {threads} torch thread(s) per lane, load average {report['load_average_1m']:.2f}")
    for role, seconds in report["load_s"].items():
        print(f"load {role}: {seconds:.1f} s")
    for row in report["sequential"]:
        print(f"alone   {row['lane']:5} {row['model']}: first text {row['first_text_s']:.1f} s, total {row['total_s']:.1f} s, "
              f"{row['new_tokens']} tokens ({row['tokens_per_s']} tok/s), {row['verdict']}")
    if report["concurrent"]:
        print(f"both at once (the page's button): {report['concurrent']['wall_s']:.1f} s wall")
        for row in report["concurrent"]["lanes"]:
            print(f"  {row['lane']:5}: total {row['total_s']:.1f} s, {row['new_tokens']} tokens ({row['tokens_per_s']} tok/s)")
    if own.json:
        Path(own.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
