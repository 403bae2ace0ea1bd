"""Batch evaluation: generate for a split, score with the published rules, write ``results/<run>/``.

    python -m eval.run --model smollm2-135m-instruct --split test            # embedded base, greedy
    python -m eval.run --preset smollm2-135m --preset-side tuned --split hard
    python -m eval.run --model Qwen/Qwen2.5-Coder-7B-Instruct --temperature 1.0 --samples 4
    python -m eval.run --model heuristic:greedy --split test                 # a rule, no model

Re-running the same command resumes a killed run (the default run name is derived from the
settings); greedy runs resume to exactly the result an uninterrupted run gives. Sampled runs seed
each batch, so they repeat exactly with the same batch size.
"""

from __future__ import annotations

import shlex
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from eval.results import (
    SampleLog,
    device_description,
    git_state,
    library_versions,
    prompt_hash,
    read_json,
    slug,
    weights_sha256,
    write_json_atomic,
)
from models.backend import SamplingSettings
from models.generation import choose_backend, load_backend
from models.specs import ModelSpec, resolve_preset
from scheduler import (Problem, SchedulerError, Verdict, aggregate, breakdown, build_messages, load_split,
                       reference_answer, score_completion)

TIMING_KEYS = ("wall_time_s", "tokens_per_second")


@dataclass
class EvalArgs:
    model: str | None = field(default=None, metadata={
        "help": "hub id, local folder, 'smollm2-135m-instruct' (embedded base) or heuristic:priorities|greedy"})
    adapter: str | None = field(default=None, metadata={"help": "a LoRA adapter folder saved by peft"})
    preset: str | None = field(default=None, metadata={"help": "smollm2-135m or qwen-7b (instead of --model)"})
    preset_side: Literal["base", "tuned"] = field(default="base", metadata={"help": "which side of the preset"})
    split: str = field(default="test", metadata={
        "help": "test, hard, names, names-hard, train, or a .jsonl file of dataset rows; several comma-separated (one model load; "
        "a --run-name then needs '{split}')"})
    limit: int | None = field(default=None, metadata={"help": "only the first N rows"})
    temperature: float = field(default=0.0, metadata={"help": "0 = greedy"})
    top_p: float = 1.0
    samples: int = field(default=1, metadata={"help": "completions per prompt (needs temperature > 0 above 1)"})
    max_new_tokens: int = field(default=4096, metadata={
        "help": "the shipped model's think on a 16-event day of long names takes up to ~3,000 tokens (a model that "
        "stops early costs nothing more)"})
    seed: int = 0
    batch_size: int | None = field(default=None, metadata={"help": "default: 64 on a GPU, 8 on a CPU"})
    backend: Literal["auto", "transformers", "vllm"] = "auto"
    method: Literal["loop", "plain"] = field(default="loop", metadata={
        "help": "transformers batches: loop (our decode loop, models.decode_loop: CUDA graphs on a GPU) or plain "
        "generate (the reference)"})
    hint: bool = field(default=False, metadata={
        "help": "greedy on a CPU: each answer through the app's decoder, which drafts tokens from the solver's "
        "reference answer (in the think format the model's training record names) and keeps only those the model "
        "itself would write: the same greedy answers, decoded several times faster by a model that follows the "
        "format (one prompt at a time; --batch-size does not apply)"})
    device: str | None = field(default=None, metadata={"help": "cuda or cpu (default: cuda when present)"})
    dtype: Literal["auto", "fast", "float32", "bfloat16"] | None = field(default=None, metadata={
        "help": "transformers weights: auto (the default: bf16 on a GPU, fp32 on a CPU), fast (bf16 also on a CPU "
        "with native bf16, as the app runs there), float32 or bfloat16"})
    trust_remote_code: bool = field(default=False, metadata={"help": "run code shipped with the model (unsafe)"})
    run_name: str | None = field(default=None, metadata={"help": "default: derived from the settings"})
    results_dir: str = "results"


def resolve_spec(args: EvalArgs) -> tuple[ModelSpec, str | None]:
    """The model spec and, for presets, its size label."""
    if args.preset:
        if args.model or args.adapter:
            raise SchedulerError("Give either --preset (with --preset-side) or --model/--adapter, not both.")
        preset = resolve_preset(args.preset)
        return preset.side(args.preset_side), preset.size
    if not args.model:
        raise SchedulerError("Say what to evaluate: --model NAME_OR_PATH (optionally --adapter PATH) or --preset NAME.")
    return ModelSpec(args.model, args.adapter), None


def default_run_name(spec: ModelSpec, args: EvalArgs) -> str:
    parts = [slug(spec.label or Path(spec.model).name or spec.model)]
    if spec.adapter:
        parts.append(slug(Path(spec.adapter).name))
    parts.append(slug(Path(args.split).stem if args.split.endswith(".jsonl") else args.split))
    if args.limit is not None:
        parts.append(f"n{args.limit}")
    if spec.is_heuristic:
        pass  # a rule: decoding settings do not apply
    elif args.temperature == 0:
        parts.append("greedy")
    else:
        parts.append(f"t{args.temperature:g}" + (f"x{args.samples}" if args.samples > 1 else ""))
    return "-".join(parts)


def human_size(n_parameters: int | None) -> str | None:
    if not n_parameters:
        return None
    return f"{n_parameters / 1e9:.1f}B" if n_parameters >= 1e9 else f"{n_parameters / 1e6:.0f}M"


def compute_metrics(records: dict, n_rows: int, samples: int) -> dict:
    """Metrics from the sample records alone (so resuming changes nothing but timings)."""
    ordered = [records[k] for k in sorted(records)]
    metrics = aggregate(Verdict(r["verdict"], float(r["score"])) for r in ordered)
    n_tokens = sum(int(r["n_tokens"]) for r in ordered)
    seconds = sum(float(r["seconds"]) for r in ordered)
    metrics.update(
        valid=metrics["valid_schedules"],
        n_prompts=n_rows,
        samples_per_prompt=samples,
        complete=len(ordered) == n_rows * samples,
        n_tokens=n_tokens,
        wall_time_s=round(seconds, 3),  # generation + scoring, summed over sessions; loading excluded
        tokens_per_second=round(n_tokens / seconds, 1) if n_tokens and seconds else None,
    )
    return metrics


def run(args: EvalArgs, command: str | None = None, backends: dict | None = None) -> tuple[Path, dict]:
    """Evaluate (or finish evaluating) one run; returns its folder and metrics. ``command`` is recorded.

    ``backends`` keeps loaded models between calls (one process evaluating several splits loads and
    compiles once)."""
    started = time.perf_counter()
    spec, size = resolve_spec(args)
    settings = SamplingSettings(args.temperature, args.top_p, args.max_new_tokens, args.seed)
    if args.samples < 1:
        raise SchedulerError(f"--samples must be at least 1, not {args.samples}.")
    if args.samples > 1 and settings.greedy:
        raise SchedulerError("Greedy decoding gives the same completion every time; use --temperature > 0 with --samples > 1.")
    if args.limit is not None and args.limit < 1:
        raise SchedulerError(f"--limit must be at least 1, not {args.limit}.")
    if args.hint and not settings.greedy:
        raise SchedulerError("--hint drafts greedy answers only; leave --temperature at 0.")
    if args.batch_size is not None and args.batch_size < 1:
        raise SchedulerError(f"--batch-size must be at least 1, not {args.batch_size}.")
    rows = load_split(args.split)[: args.limit]
    if not rows:
        raise SchedulerError(f"The split {args.split!r} has no rows.")
    problems = [Problem.from_row(row) for row in rows]
    backend_kind = choose_backend(spec, args.backend, args.device)

    out = Path(args.results_dir) / (args.run_name or default_run_name(spec, args))
    identity = {
        "model": spec.model, "adapter": spec.adapter, "label": spec.label, "preset": args.preset,
        "preset_side": args.preset_side if args.preset else None, "split": args.split, "limit": args.limit,
        "n_prompts": len(rows), "samples": args.samples, "sampling": settings.to_dict(), "backend": backend_kind,
    }
    if args.dtype:  # only when asked, so that runs made before the flag existed still resume
        identity["dtype"] = args.dtype
    if args.hint:  # the same answers, but another decoder: a run is made one way throughout
        identity["hint"] = True
    config = read_json(out / "config.json")
    if config is not None and config.get("identity") != identity:
        before = config.get("identity") or {}
        differ = sorted(k for k in set(identity) | set(before) if before.get(k) != identity.get(k))
        raise SchedulerError(
            f"{out} already holds a run with other settings ({', '.join(differ)} differ); "
            "pass another --run-name, or delete that folder to start over."
        )
    log = SampleLog(out / "samples.jsonl")
    done = log.load()
    keys = [(i, s) for i in range(len(rows)) for s in range(args.samples)]
    position = {key: n for n, key in enumerate(keys)}
    pending = [k for k in keys if k not in done]
    messages = [build_messages(row["prompt"]) for row in rows]

    if pending:
        load_start = time.perf_counter()
        key = (spec, args.backend, args.device, args.trust_remote_code, args.method, args.dtype)
        backend, hashes = (backends or {}).get(key, (None, None))
        if backend is None:
            backend = load_backend(spec, args.backend, device=args.device, trust_remote_code=args.trust_remote_code,
                                   method=args.method, dtype=args.dtype)
            # hashed once per loaded model: the splits after the first reuse it and its hashes
            hashes = {"model": weights_sha256(backend.info().get("model_path")), "adapter": weights_sha256(spec.adapter)}
            if backends is not None:
                backends[key] = (backend, hashes)
        batch_size = args.batch_size or backend.default_batch_size
        info = backend.info()
        if config is not None and config.get("weights_sha256") not in (None, hashes):
            raise SchedulerError(
                f"{out} was started with other weights (sha256 {config['weights_sha256']}, now {hashes}); "
                "pass another --run-name, or delete that folder to start over."
            )
        session = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command,
            "samples_before": len(done), "batch_size": batch_size, "device": device_description(),
            "load_seconds": round(time.perf_counter() - load_start, 2), "git": git_state(),
            "versions": library_versions(), "model_info": info,
        }
        config = config or {"run_name": out.name, "identity": identity, "date": session["date"], "sessions": []}
        config.update(
            model=spec.label or spec.model, adapter=spec.adapter, split=args.split, size=size or human_size(info.get("n_parameters")),
            sampling=settings.to_dict(), samples=args.samples, batch_size=batch_size, backend=info["backend"],
            device=session["device"], git=session["git"], versions=session["versions"],
            chat_template_sha256=info.get("chat_template_sha256"), model_info=info, weights_sha256=hashes,
        )
        config["sessions"].append(session)
        write_json_atomic(out / "config.json", config)

        from tqdm.auto import tqdm

        with tqdm(total=len(keys), initial=len(keys) - len(pending), desc=out.name, unit="sample") as bar:
            for start in range(0, len(pending), batch_size):
                batch = pending[start : start + batch_size]
                # A batch's seed follows from its first key: sampled runs repeat with the same batch size.
                batch_settings = replace(settings, seed=settings.seed + position[batch[0]])
                t0 = time.perf_counter()
                if args.hint:
                    results = [backend.answer(messages[i], batch_settings,
                                              hint=reference_answer(problems[i], spec.think_format)) for i, _ in batch]
                else:
                    results = backend.generate([messages[i] for i, _ in batch], batch_settings, batch_size=batch_size)
                share = (time.perf_counter() - t0) / len(batch)
                records = []
                for (i, s), result in zip(batch, results):
                    verdict = score_completion(result.text, problems[i])
                    records.append({
                        "index": i, "sample": s, "prompt_sha256": prompt_hash(messages[i]),
                        "completion": result.text, "verdict": verdict.verdict, "score": verdict.score,
                        "breakdown": breakdown(result.text, problems[i], optimal=verdict.optimal).to_dict(),
                        "n_tokens": result.n_new_tokens, "seconds": round(share, 4), "seed": batch_settings.seed,
                    })
                    done[(i, s)] = records[-1]
                log.append(records)
                bar.update(len(batch))
        config["sessions"][-1]["wall_seconds"] = round(time.perf_counter() - started, 2)
        write_json_atomic(out / "config.json", config)
    elif config is None:
        raise SchedulerError(f"{out} has samples but no config.json; delete the folder to start over.")
    else:  # a finished run asked for again: say so, rather than silently print the old figures
        print(f"{out}: already complete ({len(keys)} samples in samples.jsonl); nothing was generated. "
              "Pass another --run-name, or delete that folder, to run it again.", flush=True)

    metrics = compute_metrics(done, len(rows), args.samples)
    write_json_atomic(out / "metrics.json", metrics)
    return out, metrics


def main(argv: list[str] | None = None) -> int:
    from transformers import HfArgumentParser

    argv = sys.argv[1:] if argv is None else argv
    (args,) = HfArgumentParser(EvalArgs).parse_args_into_dataclasses(args=argv)
    splits = [s.strip() for s in args.split.split(",") if s.strip()]
    if len(splits) > 1 and args.run_name and "{split}" not in args.run_name:
        print("error: with several splits, --run-name must contain '{split}' (one run folder per split).", file=sys.stderr)
        return 2
    backends: dict = {}
    command = shlex.join(["python", "-m", "eval.run", *argv])
    for split in splits or [args.split]:
        one = replace(args, split=split, run_name=args.run_name.replace("{split}", split) if args.run_name else None)
        try:
            out, metrics = run(one, command=command, backends=backends)
        except SchedulerError as err:  # ModelLoadError included: a sentence, not a traceback
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(
            f"{out}: {metrics['valid']}/{metrics['n']} valid, mean score {metrics['mean_score']:.2f} "
            f"± {metrics['mean_score_stderr']:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
