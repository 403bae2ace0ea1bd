"""Fuzz the parser, rewards and scorer: zero exceptions, rewards always within their ranges.

    python benchmarks/fuzz_core.py [--n 100000] [--seed 0]

Strings come from three sources in turn: token soup built from the answer format's own tags and
times (the inputs most likely to reach deep code paths), mutated reference answers (cut, duplicated,
shuffled, characters flipped), and random Unicode text. Each string is scored against a rotating
set of canonical and hard problems, in both reward modes.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler import Problem, breakdown, load_split, parse_completion, reference_answer, reward_funcs, score_row  # noqa: E402

TOKENS = ["<think>", "</think>", "<schedule>", "</schedule>", "<event>", "</event>", "<name>", "</name>",
          "<start>", "</start>", "<end>", "</end>", "09:00", "10:30", "24:00", "99:99", "7:5", "A", " ", "\n",
          "<", ">", "\u202e", "😀", "\x00", "Fireworks", "Jam session"]


def token_soup(rng: random.Random, rows: list[dict]) -> str:
    row = rng.choice(rows)
    extra = [e[0] for e in row["events"]] + [e[1] for e in row["events"]] + [e[2] for e in row["events"]]
    return "".join(rng.choice(TOKENS + extra) for _ in range(rng.randint(0, 60)))


def mutated(rng: random.Random, answers: list[str]) -> str:
    text = rng.choice(answers)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        i, j = sorted(rng.randrange(len(text) + 1) for _ in range(2))
        if op == 0:
            text = text[:i] + text[j:]
        elif op == 1:
            text = text[:j] + text[i:j] + text[j:]
        elif op == 2 and text:
            text = text[:i] + chr(rng.randrange(32, 0x3000)) + text[i + 1 :]
        elif op == 3:
            lines = text.split("\n")
            rng.shuffle(lines)
            text = "\n".join(lines)
        else:
            text = text[:i]
    return text


def random_text(rng: random.Random) -> str:
    return "".join(chr(rng.randrange(0, 0x10FFFF)) if rng.random() < 0.3 else chr(rng.randrange(9, 127))
                   for _ in range(rng.randint(0, 200))).encode("utf-8", "replace").decode("utf-8", "replace")


def fuzz(n: int, seed: int = 0, progress: bool = True) -> dict:
    rng = random.Random(seed)
    rows = load_split("test")[:20] + load_split("hard")[:10]
    problems = [Problem.from_row(r) for r in rows]
    answers = [reference_answer(p) for p in problems]
    funcs = {mode: reward_funcs(mode) for mode in ("default", "compat")}
    stats = {"strings": 0, "valid": 0, "exceptions": 0, "out_of_range": 0}
    iterator = range(n)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="fuzz", unit="str", mininterval=1.0)
    for k in iterator:
        kind = k % 3
        text = token_soup(rng, rows) if kind == 0 else mutated(rng, answers) if kind == 1 else random_text(rng)
        idx = rng.randrange(len(rows))
        row, problem = rows[idx], problems[idx]
        cols = {key: [row[key]] for key in ("events", "priority_events", "optimal_score")}
        try:
            parse_completion(text)
            v = score_row(text, row)
            stats["valid"] += v.verdict == "valid"
            ok = 0.0 <= v.score <= 1.0
            for mode, (f, o, s) in funcs.items():
                fv, ov, sv = f([text], **cols)[0], o([text], **cols)[0], s([text], **cols)[0]
                ok &= fv in (0.0, 10.0) and ov in (0.0, 20.0) and 0.0 <= sv <= 70.0
                bd = breakdown(text, problem, mode=mode)
                ok &= 0.0 <= bd.total <= 100.0 and bd.verdict == v.verdict
            stats["out_of_range"] += not ok
        except Exception as err:  # the point of the exercise: count, show, carry on
            stats["exceptions"] += 1
            print(f"exception on {text[:80]!r}: {err!r}", file=sys.stderr)
        stats["strings"] += 1
    return stats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    t = time.perf_counter()
    stats = fuzz(args.n, args.seed)
    print(f"{stats} in {time.perf_counter() - t:.1f}s")
    raise SystemExit(1 if stats["exceptions"] or stats["out_of_range"] else 0)


if __name__ == "__main__":
    main()
