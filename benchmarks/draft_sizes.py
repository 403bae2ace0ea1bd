"""Draft sizes of the CPU fast decoder: how long a lane takes alone for each (first draft, largest draft).

    python benchmarks/draft_sizes.py --json benchmarks/results/draft_sizes_cpu_s7.json
    python benchmarks/draft_sizes.py --sizes 12:48 24:96 --problems 0 1 2 3 --roles tuned

``models.fast_decode.GreedyDecoder(lookup_tokens=A, max_draft=B)``: a draft starts at A tokens and doubles when the
model takes it whole, up to B; a miss goes back to A. Each lane of the embedded pair runs alone, 2 torch threads,
greedy with the app's hint (the solver's answer), the app's caps (base 128, tuned 1,536 new tokens). Every size must
give the same tokens as the first size listed (the decoder only proposes; the model verifies): the script stops if
one does not.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval.results import device_description, library_versions  # noqa: E402
from models.backend import SamplingSettings  # noqa: E402
from models.generation import TransformersBackend  # noqa: E402
from models.specs import resolve_preset  # noqa: E402
from scheduler import Problem, build_messages, load_split, reference_answer  # noqa: E402
from space.config import BASE_MAX_NEW_TOKENS, MAX_NEW_TOKENS  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["12:48", "24:96", "16:96", "32:128"], help="FIRST:LARGEST")
    parser.add_argument("--problems", nargs="+", type=int, default=[0, 1, 2, 3])
    parser.add_argument("--roles", nargs="+", default=["base", "tuned"], choices=["base", "tuned"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    preset = resolve_preset("smollm2-135m")
    rows = load_split("test")
    report = {"command": "python benchmarks/draft_sizes.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "device": device_description(), "libraries": library_versions(), "threads": args.threads, "roles": {}}
    for role in args.roles:
        spec = preset.base if role == "base" else preset.tuned
        cap = BASE_MAX_NEW_TOKENS if role == "base" else MAX_NEW_TOKENS
        backend = TransformersBackend(spec)
        first_texts: dict[int, str] = {}
        table = {}
        for size in args.sizes:
            lookup, largest = (int(x) for x in size.split(":"))
            backend.fast.lookup_tokens, backend.fast.max_draft = lookup, max(lookup, largest)
            per_problem = []
            for index in args.problems:
                problem = Problem.from_row(rows[index])
                backend.fast.stats = {key: 0 for key in backend.fast.stats}
                start = time.perf_counter()
                text = ""
                for text in backend.stream(build_messages(problem), SamplingSettings(max_new_tokens=cap),
                                           hint=reference_answer(problem)):
                    pass
                seconds = time.perf_counter() - start
                if first_texts.setdefault(index, text) != text:
                    raise SystemExit(f"{role} #{index}: drafts {size} changed the answer; the decoder is broken")
                per_problem.append({"problem": index, "seconds": round(seconds, 2), **backend.fast.stats})
            total = round(sum(p["seconds"] for p in per_problem), 2)
            table[size] = {"total_s": total, "problems": per_problem}
            print(f"{role:5} drafts {size:>7}: {total:6.2f} s  "
                  + "  ".join(f"#{p['problem']} {p['seconds']:.2f} s/{p['forwards']} fw" for p in per_problem), flush=True)
        report["roles"][role] = table
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
