"""The model card (README.md) of a trained adapter, written from the run's ``training_summary.json``.

Training writes the summary and a card without scores; once the evaluation has run, regenerate the
card with its metrics so every number on the card comes from a file a real run wrote:

    python -m training.card /root/work/grpo \
        --metrics test=results/RUN-ON-TEST/metrics.json --metrics hard=results/RUN-ON-HARD/metrics.json

Each ``--metrics`` is ``SPLIT=PATH`` (or a bare path, named after its folder) to an ``eval.run``
``metrics.json``: a JSON object of numbers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from training.log import PLOT_NAME

SUMMARY_NAME = "training_summary.json"
CARD_NAME = "README.md"

# Hyperparameters worth a row on the card, when the run's arguments have them.
CARD_HPARAMS = (
    "learning_rate",
    "lr_scheduler_type",
    "warmup_steps",
    "num_train_epochs",
    "max_steps",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "num_generations",
    "max_completion_length",
    "max_length",
    "temperature",
    "beta",
    "loss_type",
    "num_iterations",
    "reward_weights",
    "weight_decay",
    "max_grad_norm",
    "optim",
    "bf16",
    "seed",
)
# The evaluation numbers shown, in order, when a metrics file has them (else every number it has).
CARD_METRICS = ("mean_score", "mean_score_stderr", "valid_schedules", "n", "format_errors", "overlaps", "unsorted", "non_existing")
LORA_HPARAMS = ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "use_rslora", "load_in_4bit")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _shown(key: str, value: Any) -> bool:
    """Rows worth showing: set, and not a default that says nothing (max_steps -1, a False flag)."""
    if value in (None, "") or (key == "max_steps" and value == -1):
        return False
    return not (key in LORA_HPARAMS and value is False)


def _metrics_table(metrics: dict[str, dict]) -> list[str]:
    """Markdown for {split: {name: number}}: one row per split, the CARD_METRICS columns present."""
    present = {k for values in metrics.values() for k, v in values.items() if isinstance(v, (int, float))}
    names = [k for k in CARD_METRICS if k in present] or sorted(present)
    lines = ["| split | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for split, values in metrics.items():
        lines.append(f"| {split} | " + " | ".join(_fmt(values.get(n, "")) for n in names) + " |")
    return lines


def _start_text(summary: dict, args: dict) -> str:
    """Where a continued run started: the start's record kept beside the weights, else the adapter's path."""
    start = args.get("init_adapter")
    if not start:
        return ""
    sha = summary.get("init_adapter_sha256")
    weights = f" (weights sha256 `{sha[:8]}…`)" if sha else ""
    records = summary.get("start_records") or []
    if not records:
        return f", starting from the adapter `{start}`{weights}"
    *earlier, record = records
    text = (f", continuing the {record['stage'].upper()} LoRA{weights} whose training record is in `{record['folder']}/` "
            f"({_record_text(record)})")
    if earlier:
        text += "; it continued " + ", which continued ".join(
            f"the {r['stage'].upper()} of `{r['folder']}/` ({_record_text(r)})" for r in reversed(earlier))
    return text


def _record_text(record: dict) -> str:
    return f"{record['steps']} steps, {_duration(record['wall_s'])} on {record['device']}"


def _data_text(data: dict, args: dict) -> str:
    sizes = f"{data.get('problems', '?')} problems ({data.get('events_min', '?')}-{data.get('events_max', '?')} events, mean {data.get('events_mean', '?')})"
    if data.get("source") == "train":
        return f"the canonical train split (anakin87/events-scheduling): {sizes}"
    diverse = "names from the diverse training pool (`scheduler.names`) mixed with the canonical ones"
    qualified = f"{diverse}, 15% of the pool's names with a trailing qualifier such as \"(Zoom)\""
    names = {"diverse": diverse, "qualified": qualified,
             "coined": f"{qualified} and 15% with a made-up first word such as \"Brenvik the beds\""}.get(
        args.get("name_source", "canonical"), "the canonical event names")
    return (
        f"{sizes} from the project's generator, {args.get('hard_fraction', 0):.0%} of hard sizes "
        f"(10-16 events), {names}, generator seed {args.get('generator_seed', '?')}"
    )


def render_card(summary: dict, metrics: dict[str, dict] | None = None, sources: dict[str, str] | None = None) -> str:
    """The card's Markdown (YAML front matter for the Hub, then data, setup, hyperparameters, time, scores)."""
    stage = summary.get("stage", "grpo")
    args = {**summary.get("script_args", {}), **summary.get("model_args", {}), **summary.get("training_args", {}),
            **summary.get("adapter_lora", {})}
    base = summary.get("base_model", "unknown")
    data = summary.get("data", {})
    front = [
        "---",
        "library_name: peft",
        "license: apache-2.0",
        f"base_model: {summary.get('base_model_id', base)}",
        "pipeline_tag: text-generation",
        "tags:",
        "- trl",
        f"- {stage}",
        "- lora",
        "- event-scheduling",
        "---",
    ]
    body = [
        f"# {summary.get('name', 'event-scheduler')} ({stage.upper()} LoRA adapter)",
        "",
        "A LoRA adapter that makes the base model write an optimal event schedule: given events with start/end times",
        "and priorities (weight 2), it reasons briefly in `<think>` and answers in the `<schedule>` format of the",
        "Events Scheduling task.",
        "",
        "## Training",
        "",
        f"- Stage: {stage}" + _start_text(summary, args),
        f"- Base model: `{base}`",
        f"- Data: {_data_text(data, args)}; no problem of the test splits (canonical, hard and names; checked).",
    ]
    if not args.get("use_peft", True):
        body.append(f"- Full fine-tune (every weight; master weights in {args.get('dtype', 'float32')}, bf16 autocast).")
    extraction = summary.get("extraction")
    if extraction:
        if extraction.get("budget_mb"):
            form = (f"a LoRA of {extraction.get('adapter_bytes', 0) / 1e6:.1f} MB with each matrix's own rank "
                    f"(median {extraction['rank_median']}, least {extraction['rank_min']}; the most energy per byte "
                    f"within {extraction['budget_mb']:g} MB)")
        else:
            form = f"a rank-{extraction['rank']} LoRA"
        body.append(
            f"- Shipped as {form} extracted from the full fine-tune's weight change "
            f"(`training/extract_lora.py`, truncated SVD of each matrix): {extraction['energy_kept_median']:.0%} of a "
            f"matrix's change kept at the median, {extraction['energy_kept_min']:.0%} at the least; the scores below "
            "were measured on the extracted adapter."
        )
    if stage == "sft":
        body.append(
            "- Targets: the solver's optimal schedule with a short reasoning (`scheduler.reference_answer`, think "
            f"format `{data.get('think_format', 'v2')}`); loss on the completion only."
        )
    else:
        body.append(f"- Rewards: {', '.join(summary.get('reward_funcs', []))} (mode `{args.get('reward_mode', 'default')}`).")
    if summary.get("resumed_from"):
        body.append(f"- Resumed from `{summary['resumed_from']}` (one run, continued)")
    body += [
        f"- Steps: {summary.get('global_step', '?')}"
        + (f" (stopped by the time budget at step {summary['stopped_by_time_budget_at']})" if summary.get("stopped_by_time_budget_at") else ""),
        f"- Training wall time: {_duration(summary.get('train_wall_time_s', 0))} on {summary.get('device', 'unknown device')}"
        f" ({summary.get('world_size', 1)} process(es))",
        f"- Libraries: {', '.join(f'{k} {v}' for k, v in summary.get('versions', {}).items())}",
        "",
        "### Hyperparameters",
        "",
        "| name | value |",
        "|---|---|",
    ]
    shown = CARD_HPARAMS + (LORA_HPARAMS if args.get("use_peft", True) else ())  # ModelConfig's lora_* are unused otherwise
    body += [f"| {k} | {_fmt(args[k])} |" for k in shown if _shown(k, args.get(k))]
    if summary.get("plot"):
        body += ["", "### Curves", "", f"Per logged step (`python -m training.log`): ![the training curves]({summary['plot']})"]
    body += ["", "## Evaluation", ""]
    if metrics:
        body += _metrics_table(metrics)
        if sources:
            body += ["", "From " + ", ".join(f"`{path}` ({split})" for split, path in sources.items()) + "."]
    else:
        body.append("Not evaluated yet: run the project's evaluation (`eval/run.py`) on this adapter, then")
        body.append("`python -m training.card OUTPUT_DIR --metrics RESULTS.json` to put its numbers here.")
    body += [
        "",
        "## Use",
        "",
        "```python",
        "from peft import PeftModel",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "",
        f'base = AutoModelForCausalLM.from_pretrained("{summary.get("base_model_id", base)}", use_safetensors=True)',
        'model = PeftModel.from_pretrained(base, "PATH_TO_THIS_FOLDER")',
        "```",
        "",
        "The prompt is the project's `scheduler.build_messages(problem)` (system + user), through the chat template.",
        "",
    ]
    think = data.get("think_format", "")
    if stage == "sft" and think.startswith("dp"):
        body.insert(-1, f"The `{think}` think writes the whole dynamic programme, one line per event: give it room "
                        "(`max_new_tokens=4096` holds a 16-event day, long names included; `python -m scheduler problem.txt --think "
                        f"{think}` prints the solver's own answer in this format).")
    if extraction:
        body.insert(-4, "model = model.merge_and_unload()  # required for this adapter: see below")
        body += [
            "Merge before generating, as the project's loader does: the adapter changes the input embedding, which",
            "this model ties to its output head, and only the merged weight carries that change to the head.",
            "Unmerged (peft's own forward, a LoRA server), the output is not the fine-tune's.",
            "",
        ]
    return "\n".join(front + [""] + body)


def read_metrics(specs: list[str]) -> tuple[dict[str, dict], dict[str, str]]:
    """``SPLIT=PATH`` (or ``PATH``) arguments -> ({split: metrics}, {split: path})."""
    metrics, sources = {}, {}
    for spec in specs:
        split, sep, path = spec.rpartition("=")
        if not sep:
            split, path = Path(spec).parent.name or spec, spec
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{path} must hold a JSON object of metrics.")
        metrics[split], sources[split] = data, path
    return metrics, sources


def write_card(output_dir: str, metrics: list[str] | None = None) -> Path:
    """(Re)write ``README.md`` in ``output_dir`` from its summary and any ``SPLIT=metrics.json`` files."""
    out = Path(output_dir)
    summary = json.loads((out / SUMMARY_NAME).read_text(encoding="utf-8"))
    summary["name"] = out.resolve().name  # the card names the folder it describes (a shipped copy has its own name)
    if (out / "extraction.json").is_file():  # written by training.extract_lora
        summary["extraction"] = json.loads((out / "extraction.json").read_text(encoding="utf-8"))
    if (out / "adapter_config.json").is_file():  # the LoRA rows come from the weights' own config: a continued
        # adapter keeps its rank whatever the recipe's lora_* say
        config = json.loads((out / "adapter_config.json").read_text(encoding="utf-8"))
        summary["adapter_lora"] = {"lora_r": config.get("r"), "lora_alpha": config.get("lora_alpha"),
                                   "lora_dropout": config.get("lora_dropout"),
                                   "lora_target_modules": sorted(config.get("target_modules") or [])}
    if (out / PLOT_NAME).is_file():  # written by training.log
        summary["plot"] = PLOT_NAME
    # a continued run's starts, kept beside it oldest first (e.g. 1-sft/, 2-grpo/): the last one is its own start
    summary["start_records"] = []
    for start in sorted(out.glob(f"*/{SUMMARY_NAME}")):
        record = json.loads(start.read_text(encoding="utf-8"))
        summary["start_records"].append({"folder": start.parent.name, "stage": record.get("stage", "sft"),
                                         "steps": record.get("global_step", "?"),
                                         "wall_s": record.get("train_wall_time_s", 0),
                                         "device": record.get("device", "unknown device")})
    values, sources = read_metrics(metrics or [])
    card = out / CARD_NAME
    card.write_text(render_card(summary, values or None, sources or None), encoding="utf-8")
    return card


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the model card of a trained adapter.")
    parser.add_argument("output_dir", help="the training output dir (holds training_summary.json)")
    parser.add_argument("--metrics", action="append", default=[], metavar="SPLIT=PATH",
                        help="an eval.run metrics.json to include (repeat for several splits)")
    args = parser.parse_args(argv)
    try:
        print(write_card(args.output_dir, args.metrics))
    except (OSError, ValueError) as err:  # a missing or malformed summary or metrics file
        parser.error(str(err))


if __name__ == "__main__":
    main()
