"""GRPO step time (issue 6, target 2; issue 8): ``training/grpo.py`` runs a few optimizer steps per setting.

    python benchmarks/grpo_step.py --init-adapter checkpoints/smollm2-135m-scheduler
    python benchmarks/grpo_step.py --methods loop --gpus 1 2 --steps 8        # 1 GPU against 2 (DDP)
    python benchmarks/grpo_step.py --from-logs --out DIR                      # figures of runs already in DIR

Each run is the SmolLM2 GRPO recipe with 128 completions per optimizer step (16 problems x 8), up to
``--max-completion-length`` (512) new tokens each, one generation round per optimizer step (on-policy),
``--steps`` steps, no checkpoints. The time of a step comes from ``training_log.jsonl`` (``elapsed_s`` of
consecutive steps). The first step also pays for compiling and capturing graphs, so it is reported apart;
"step_s" is the median of the others. ``loop`` rollouts (``training.rollouts``) also log their own time
(``timing/rollout_s``): "rollout_s" is its median after the first step and "rest_s" the median of the
remainder (the policy's forward and backward, rewards, TRL's bookkeeping). ``loop-bf16`` / ``loop-fp32``
are ``loop`` with ``rollout_dtype`` bfloat16 / float32: a full fp32 model generating through a bf16 copy of
itself, or itself (give ``--recipe`` the full recipe and ``--model`` a full checkpoint); plain ``loop``
keeps the recipe's own setting. ``vllm`` is TRL's own generation through vLLM in the training process
(``use_vllm``, ``vllm_mode: colocate``, ``--vllm-memory`` of the GPU), ``unsloth`` the recipe with
``use_unsloth`` (loop rollouts); each needs its package installed. With ``--gpus 2`` the same 128
completions are split over two processes (``accelerate launch`` with ``recipes/accelerate_configs/ddp.yaml``,
unchanged).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RECIPE = "recipes/SmolLM2-135M-Instruct/grpo/config.yaml"
# A benchmark method is a rollout_method, optionally with a rollout_dtype ("loop-bf16": bfloat16), or one of the
# optional engines: vLLM generating (TRL's colocate mode) or the model loaded through unsloth.
METHODS = ["plain", "loop", "loop-bf16", "loop-fp32", "vllm", "unsloth"]
DTYPES = {"bf16": "bfloat16", "fp32": "float32"}


def command(method: str, gpus: int, args, out: Path) -> list[str]:
    per_device = args.per_device
    accumulation = args.completions // (per_device * gpus)
    if accumulation < 1 or accumulation * per_device * gpus != args.completions:
        raise SystemExit(f"{args.completions} completions do not split into {gpus} x {per_device} x an integer.")
    launch = [sys.executable]
    if gpus > 1:
        launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                  "recipes/accelerate_configs/ddp.yaml", "--num_processes", str(gpus)]
    flags = {
        "config": args.recipe, "output_dir": str(out), "max_steps": args.steps,
        "rollout_method": "loop" if method in ("vllm", "unsloth") else method.split("-")[0],
        "per_device_train_batch_size": per_device, "gradient_accumulation_steps": accumulation,
        "steps_per_generation": accumulation, "num_generations": 8,
        "max_completion_length": args.max_completion_length, "save_strategy": "no", "max_train_minutes": 9,
        "num_train_problems": max(64, args.steps * args.completions // 8), "learning_rate": args.learning_rate,
        "seed": args.seed,
    }
    if "-" in method:
        flags["rollout_dtype"] = DTYPES[method.split("-")[1]]
    if method == "vllm":
        flags.update(use_vllm=True, vllm_mode="colocate", vllm_gpu_memory_utilization=args.vllm_memory)
    if method == "unsloth":
        flags["use_unsloth"] = True
    if args.init_adapter:
        flags["init_adapter"] = args.init_adapter
    if args.model:
        flags["model_name_or_path"] = args.model
    cmd = launch + ["training/grpo.py"]
    for key, value in flags.items():
        cmd += [f"--{key}", str(value)]
    return cmd + list(args.extra)


def step_times(out: Path) -> dict:
    from training.log import read_log

    records = [r for r in read_log(out) if "elapsed_s" in r and "loss" in r]
    elapsed = [r["elapsed_s"] for r in records]
    steps = [b - a for a, b in zip([0.0] + elapsed, elapsed)]
    rewards = [round(r.get("reward", float("nan")), 4) for r in records]
    rollouts = [r["timing/rollout_s"] for r in records if "timing/rollout_s" in r]  # loop rollouts log it
    split = {}
    if len(rollouts) == len(steps) > 1:
        split = {"rollout_times_s": [round(x, 2) for x in rollouts],
                 "rollout_s": round(statistics.median(rollouts[1:]), 2),
                 "rest_s": round(statistics.median([s - g for s, g in zip(steps[1:], rollouts[1:])]), 2)}
    summary = out / "training_summary.json"  # a finished run's: its peak GPU memory
    memory = json.loads(summary.read_text()).get("peak_gpu_memory_gib") if summary.is_file() else None
    return {
        "steps": len(steps),
        "peak_gpu_memory_gib": memory,
        "first_step_s": round(steps[0], 2) if steps else None,
        "step_s": round(statistics.median(steps[1:]), 2) if len(steps) > 1 else None,
        "step_times_s": [round(s, 2) for s in steps],
        **split,
        "rewards": rewards,
        "mean_completion_length": [round(r.get("completions/mean_length", 0), 1) for r in records],
        "clipped_ratio": [round(r.get("completions/clipped_ratio", 0), 3) for r in records],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default=RECIPE)
    parser.add_argument("--model", default=None, help="instead of the recipe's model")
    parser.add_argument("--init-adapter", default=None, help="start from this LoRA (e.g. the shipped adapter)")
    parser.add_argument("--methods", nargs="+", default=["plain", "loop"], choices=METHODS)
    parser.add_argument("--gpus", nargs="+", type=int, default=[1])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--plain-steps", type=int, default=3, help="steps for the (slow) plain baseline")
    parser.add_argument("--completions", type=int, default=128)
    parser.add_argument("--per-device", type=int, default=32)
    parser.add_argument("--max-completion-length", type=int, default=512)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--vllm-memory", type=float, default=0.3, help="vllm: the GPU memory share of its engine")
    parser.add_argument("--out", default="/tmp/grpo_step")
    parser.add_argument("--json", default=None)
    parser.add_argument("--from-logs", action="store_true",
                        help="run nothing: report the runs already in --out (e.g. a run cut off by a time limit)")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more training/grpo.py flags (last)")
    args = parser.parse_args(argv)

    runs = {}
    if args.from_logs:
        for out in sorted(p for p in Path(args.out).iterdir() if (p / "training_log.jsonl").is_file()):
            method, _, gpus = out.name.rpartition("-")  # e.g. loop-bf16-1gpu
            runs[out.name] = {"gpus": int(gpus.removesuffix("gpu")) if gpus.endswith("gpu") else None,
                              "method": method, "from_logs": True, **step_times(out)}
    for gpus in ([] if args.from_logs else args.gpus):
        for method in args.methods:
            name = f"{method}-{gpus}gpu"
            out = Path(args.out) / name
            steps = args.plain_steps if method == "plain" else args.steps
            cmd = command(method, gpus, argparse.Namespace(**{**vars(args), "steps": steps}), out)
            print(f"[grpo_step] {name}: {' '.join(cmd)}", flush=True)
            started = time.perf_counter()
            proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
                                  capture_output=True, text=True)
            wall = time.perf_counter() - started
            (Path(args.out) / f"{name}.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
            run = {"gpus": gpus, "method": method, "returncode": proc.returncode, "wall_s": round(wall, 1)}
            try:
                run.update(step_times(out))
            except Exception as err:  # a failed run still reports its exit and its log's tail
                run["error"] = f"{type(err).__name__}: {err}"
            if proc.returncode:
                run["log_tail"] = (proc.stdout + proc.stderr)[-1500:]
            runs[name] = run
            print(f"[grpo_step] {name}: {json.dumps({k: v for k, v in run.items() if k != 'log_tail'})}", flush=True)
            report(args, runs)
    return report(args, runs)


def report(args, runs: dict) -> dict:
    """The report of the runs so far (written after every run: a time limit loses only the run it cuts)."""
    from eval.results import device_description, library_versions, write_json_atomic

    base = runs.get("plain-1gpu", {}).get("step_s")
    for run in runs.values():
        if base and run.get("step_s"):
            run["speedup_vs_plain_1gpu"] = round(base / run["step_s"], 2)
    device, versions = device_description(), library_versions()
    if args.from_logs:  # the machine that ran them, from a finished run's summary (this one only reads logs)
        summaries = [json.loads(p.read_text()) for p in Path(args.out).glob("*/training_summary.json")]
        device = summaries[0].get("device") if summaries else "unknown (no finished run's summary)"
        versions = summaries[0].get("versions") if summaries else {}
    out = {"benchmark": "grpo_step", "date": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv),
           "completions_per_step": args.completions, "max_completion_length": args.max_completion_length,
           "init_adapter": args.init_adapter, "device": device, "versions": versions, "runs": runs}
    if args.json:
        write_json_atomic(args.json, out)
    return out


if __name__ == "__main__":
    main()
