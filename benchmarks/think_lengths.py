"""Token lengths of the reference answers in each think format: what a format costs in training and in decoding.

    python benchmarks/think_lengths.py [--formats recap dp] [--n 300] [--json benchmarks/results/think_lengths.json]

Two figures per format, with the embedded SmolLM2's tokenizer (provisioned first: ``python -m models.provision``)
or ``--tokenizer DIR``'s:
- the SFT example (chat-templated prompt + answer) of ``--n`` generated problems of canonical and of hard sizes (names
  from the ``coined`` source, as the shipped recipe's): its mean and longest, the training cost;
- the answer alone on each committed split (test, hard, names, names-hard: a long day of names no training set uses,
  often in scripts that take more tokens): median, 95th percentile and longest, the decoding cost and what
  ``--max_new_tokens`` must hold.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler import Problem, load_split  # noqa: E402
from scheduler.reference import THINK_FORMATS, reference_answer  # noqa: E402


def percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--formats", nargs="+", default=["recap", "dp"], choices=sorted(THINK_FORMATS))
    parser.add_argument("--n", type=int, default=300, help="generated problems of each size")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tokenizer", help="a model folder with a tokenizer and chat template (default: the embedded SmolLM2)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)

    from models.loading import load_tokenizer
    from models.provision import smollm2_path
    from training.data import generated_rows, sft_example

    tokenizer = load_tokenizer(args.tokenizer or str(smollm2_path()))
    count = lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    report: dict = {"tokenizer": Path(args.tokenizer).name if args.tokenizer else "SmolLM2-135M-Instruct", "n": args.n, "seed": args.seed, "formats": {}}
    sizes = {"canonical sizes": generated_rows(args.n, args.seed, 0.0, "coined"),
             "hard sizes": generated_rows(args.n, args.seed, 1.0, "coined")}
    splits = {name: [Problem.from_row(row) for row in load_split(name)] for name in ("test", "hard", "names", "names-hard")}
    for think in args.formats:
        entry: dict = {"sft_example": {}, "answer": {}}
        for label, rows in sizes.items():
            lengths = []
            for row in rows:
                example = sft_example(row, think)
                lengths.append(count(tokenizer.apply_chat_template(example["prompt"] + example["completion"],
                                                                   tokenize=False)))
            entry["sft_example"][label] = {"mean": round(statistics.mean(lengths)), "max": max(lengths)}
        for name, problems in splits.items():
            lengths = [count(reference_answer(problem, think)) for problem in problems]
            entry["answer"][name] = {"median": percentile(lengths, 0.5), "p95": percentile(lengths, 0.95),
                                     "max": max(lengths)}
        report["formats"][think] = entry
        sft = ", ".join(f"{k} mean {v['mean']} / max {v['max']}" for k, v in entry["sft_example"].items())
        answers = ", ".join(f"{k} {v['median']} / {v['p95']} / {v['max']}" for k, v in entry["answer"].items())
        print(f"{think}: SFT example (tokens) {sft}; answer median / p95 / max: {answers}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
