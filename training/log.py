"""The per-step training log (``<output_dir>/training_log.jsonl``) and its PNG plot.

One JSON line per logged step: the trainer's numbers (loss, learning rate, ``reward``,
``rewards/<name>/mean``, ``completions/mean_length``, ...), the step, and the training wall time so
far. GRPO lines also carry a few sample completions with their rewards, so a log read days later
still shows what the model was writing.

A resumed run continues the same file: lines past the checkpoint's step (written after the last
save, before the run died) are dropped first, so every step appears exactly once.

Plot a log:  python -m training.log /root/work/grpo            (writes training_log.png beside it)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

LOG_NAME = "training_log.jsonl"
PLOT_NAME = "training_log.png"


def read_log(path: str | os.PathLike) -> list[dict]:
    """The records of a log; a torn last line (a run killed mid-write) is skipped."""
    path = Path(path)
    if path.is_dir():
        path = path / LOG_NAME
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def truncate_log(path: str | os.PathLike, last_step: int) -> list[dict]:
    """Keep only records with ``step <= last_step`` (atomically); returns them."""
    kept = [r for r in read_log(path) if r.get("step", 0) <= last_step]
    path = Path(path)
    if path.is_file():
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), encoding="utf-8")
        os.replace(tmp, path)
    return kept


def _clean(value: Any) -> Any:
    """JSON-safe numbers (NaN/inf become None)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _text(message: Any) -> str:
    """Plain text of a completion or prompt (conversational lists included)."""
    if isinstance(message, list):
        return "".join(str(m.get("content", "")) if isinstance(m, dict) else str(m) for m in message)
    return str(message)


class SampleRecorder:
    """The latest generation batch as the reward functions saw it: prompts, completions, each function's rewards.

    ``wrap`` returns a reward function that records what it was called with and returned (name and
    signature kept, so TRL logs it under the same name); the step log's samples are read from here.
    """

    def __init__(self):
        self.prompts: list = []
        self.completions: list = []
        self.rewards: dict[str, list] = {}

    def wrap(self, func: Any) -> Any:
        import functools

        @functools.wraps(func)
        def recorded(prompts=None, completions=None, **kwargs):
            rewards = func(prompts=prompts, completions=completions, **kwargs)
            if completions is not self.completions:  # a new batch (every function gets the same list)
                self.prompts, self.completions, self.rewards = list(prompts or []), completions, {}
            self.rewards[func.__name__] = list(rewards)
            return rewards

        return recorded


def make_log_callback(output_dir: str, num_samples: int = 2, max_chars: int = 1500,
                      recorder: SampleRecorder | None = None):
    """A TrainerCallback writing ``training_log.jsonl`` on the main process.

    With a ``recorder`` (GRPO: its reward functions wrapped by it), each record that follows a new
    generation batch carries ``num_samples`` of its completions with their rewards.
    """
    from transformers import TrainerCallback

    class TrainingLogCallback(TrainerCallback):
        def __init__(self):
            self.path = Path(output_dir) / LOG_NAME
            self.last_batch = None  # the completions last sampled: a batch is reused across steps
            self.offset_s = 0.0
            self.start = time.monotonic()

        def elapsed_s(self) -> float:
            """Training wall time so far, earlier sessions of a resumed run included."""
            return self.offset_s + time.monotonic() - self.start

        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.monotonic()
            if not state.is_world_process_zero:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            kept = truncate_log(self.path, state.global_step)  # on resume: drop steps the checkpoint lacks
            self.offset_s = float(kept[-1].get("elapsed_s", 0.0)) if kept else 0.0

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs or "train_runtime" in logs:
                return  # the end-of-training summary goes to the run summary, not the step log
            record = {
                "step": state.global_step,
                "elapsed_s": round(self.elapsed_s(), 2),
                **{k: _clean(v) for k, v in logs.items() if isinstance(v, (int, float, str)) or v is None},
            }
            samples = self._samples()
            if samples:
                record["samples"] = samples
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")

        def _samples(self) -> list[dict]:
            if recorder is None or not recorder.completions:
                return []
            completions = list(recorder.completions)
            batch_id = hash(tuple(_text(c) for c in completions))
            if batch_id == self.last_batch:  # no new generation since the last record
                return []
            self.last_batch = batch_id
            prompts = recorder.prompts
            n = len(completions)
            picks = sorted({round(i * (n - 1) / max(num_samples - 1, 1)) for i in range(min(num_samples, n))})
            out = []
            for i in picks:
                problem = _text(prompts[i][-1:] if isinstance(prompts[i], list) else prompts[i]) if i < len(prompts) else ""
                out.append(
                    {
                        "problem": problem.split("---\n\n", 1)[-1][-max_chars:],
                        "completion": _text(completions[i])[:max_chars],
                        "rewards": {k: _clean(v[i]) for k, v in recorder.rewards.items() if i < len(v)},
                    }
                )
            return out

    return TrainingLogCallback()


def _series(records: list[dict], key: str) -> tuple[list[int], list[float]]:
    pts = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_training_log(log_path: str | os.PathLike, png_path: str | os.PathLike | None = None) -> Path:
    """Draw rewards (total and per function), completion lengths, loss and learning rate into a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log_path = Path(log_path)
    records = [r for r in read_log(log_path) if "step" in r]
    if not records:
        raise ValueError(f"No training records in {log_path}; has a step been logged yet?")
    log_file = log_path / LOG_NAME if log_path.is_dir() else log_path
    png_path = Path(png_path) if png_path else log_file.with_name(PLOT_NAME)

    keys = set().union(*records)
    reward_keys = sorted(k for k in keys if k.startswith("rewards/") and k.endswith("/mean"))
    panels = []
    if "reward" in keys or reward_keys:
        panels.append(("Reward (mean)", (["reward"] if "reward" in keys else []) + reward_keys))
    length_keys = [k for k in ("completions/mean_length", "completions/min_length", "completions/max_length") if k in keys]
    if length_keys:
        panels.append(("Completion length (tokens)", length_keys))
    panels.append(("Loss", [k for k in ("loss", "eval_loss") if k in keys]))
    extra = [k for k in ("mean_token_accuracy", "frac_reward_zero_std", "completions/clipped_ratio") if k in keys]
    if extra:
        panels.append(("Fractions", extra))
    panels.append(("Learning rate", [k for k in ("learning_rate",) if k in keys]))

    cols = 2
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 3.6 * rows), squeeze=False)
    for ax, (title, panel_keys) in zip(axes.flat, panels):
        for key in panel_keys:
            xs, ys = _series(records, key)
            if xs:
                label = key[len("rewards/") : -len("/mean")] if key in reward_keys else key
                ax.plot(xs, ys, label=label, marker="." if len(xs) < 50 else None)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"{log_file.parent.name}: {len(records)} logged steps, last step {records[-1]['step']}")
    fig.tight_layout()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return png_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Plot a training_log.jsonl (or the one in an output dir) to a PNG.")
    parser.add_argument("log", help="training_log.jsonl, or the output_dir that holds it")
    parser.add_argument("--out", help="PNG path (default: training_log.png beside the log)")
    args = parser.parse_args(argv)
    print(plot_training_log(args.log, args.out))


if __name__ == "__main__":
    main()
