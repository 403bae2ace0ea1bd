"""Time the exact solver on generated problems, on one core.

    python benchmarks/solver_speed.py [--n 20000] [--preset canonical] [--repeat 5]

Problems are generated first (not timed); the figure is solved problems per second, best of
``--repeat`` passes, from a single Python process (one core).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler import Problem, generate_rows, solve  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--preset", default="canonical")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    problems = [Problem.from_row(r) for r in generate_rows(args.n, seed=123, preset=args.preset, exclude_test=False)]
    best = float("inf")
    for _ in range(args.repeat):
        t = time.perf_counter()
        for p in problems:
            solve(p)
        best = min(best, time.perf_counter() - t)
    rate = len(problems) / best
    print(f"preset={args.preset} problems={len(problems)} best_of={args.repeat} "
          f"time={best:.3f}s rate={rate:,.0f} problems/s (one core, Python {platform.python_version()}, {platform.processor() or platform.machine()})")


if __name__ == "__main__":
    main()
