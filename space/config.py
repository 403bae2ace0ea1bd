"""Which two models the Space compares, and where it listens: flags, then environment, then the preset.

    python app.py                                   # the embedded smollm2-135m pair, on CPU
    python app.py --preset qwen-7b                  # Qwen2.5-Coder-7B-Instruct vs qwen-scheduler-7b-grpo
    python app.py --base-model DIR --tuned-model DIR --tuned-adapter DIR
    SCHEDULER_PRESET=qwen-7b python app.py          # the same through the environment (e.g. Space secrets)

Every flag has an environment variable (``SCHEDULER_`` + the flag in capitals); a flag wins over its
variable. ``--host``/``--port`` left unset fall back to Gradio's own ``GRADIO_SERVER_NAME`` /
``GRADIO_SERVER_PORT``, which Hugging Face Spaces set.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

from models.errors import ModelLoadError
from models.loading import DTYPES
from models.specs import PRESETS, ModelSpec, resolve_preset

DEFAULT_PRESET = "smollm2-135m"
BASE_MAX_NEW_TOKENS = 128
# The tuned model's dpset think writes the whole programme: on the hard split (10-16 events) its longest answer takes
# 2,256 tokens (results/sft-lora-dpset-n22k-g4-hard-greedy), and a full day of names in scripts that take more tokens
# (the names-hard split) has reference answers up to 3,047 (benchmarks/results/think_lengths_s23.json); the cap only
# ends an answer that would go on.
MAX_NEW_TOKENS = 4096


@dataclass(frozen=True)
class Side:
    """One lane's model: a spec to load lazily, or the sentence saying why there is none."""

    role: str  # "base" or "tuned"
    spec: ModelSpec | None
    missing: str | None = None

    @property
    def label(self) -> str:
        return self.spec.name if self.spec else f"{self.role} model (not available)"

    @property
    def concurrency_id(self) -> str:
        """One Gradio queue per distinct model, so two users never run one model at once."""
        if self.spec is None:
            return f"missing-{self.role}"
        return f"model:{self.spec.model}|{self.spec.adapter or ''}"


@dataclass(frozen=True)
class AppConfig:
    """Everything the app needs to start; built by ``parse_config``."""

    base: Side
    tuned: Side
    preset: str | None = DEFAULT_PRESET
    host: str | None = None
    port: int | None = None
    backend: str = "transformers"
    device: str | None = None
    dtype: str = "fast"
    max_new_tokens: int = MAX_NEW_TOKENS
    base_max_new_tokens: int = BASE_MAX_NEW_TOKENS
    results_dir: str = "results"
    queue_size: int = 16
    notes: list[str] = field(default_factory=list)


def _env(name: str) -> str | None:
    value = os.environ.get(f"SCHEDULER_{name.upper().replace('-', '_')}")
    return value.strip() if value and value.strip() else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="Compare a base model and its fine-tuned version on event scheduling (a Gradio Space).",
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), help=f"model pair (default {DEFAULT_PRESET})")
    parser.add_argument("--base-model", help="hub id, local folder or smollm2-135m-instruct")
    parser.add_argument("--base-adapter", help="LoRA adapter folder applied to the base model")
    parser.add_argument("--tuned-model", help="hub id or local folder of the tuned model (default: the base model)")
    parser.add_argument("--tuned-adapter", help="LoRA adapter folder of the tuned model")
    parser.add_argument("--host", help="address to listen on (default: GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--backend", choices=["auto", "transformers", "vllm"], help="generation backend (default transformers: it streams; vllm answers all at once)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when present)")
    parser.add_argument("--dtype", choices=DTYPES,
                        help="weights' precision (default fast: bf16 on a GPU or on a CPU with native bf16: canonical "
                             "test #0 in 7.5 s against 9.6 s in fp32 on the 2-core machine; auto: fp32 on a CPU, as "
                             "eval measures there)")
    parser.add_argument("--max-new-tokens", type=int, help=f"default generation length in the UI (default {MAX_NEW_TOKENS})")
    parser.add_argument("--base-max-new-tokens", type=int,
                        help=f"the base lane's default cap (default {BASE_MAX_NEW_TOKENS}, at most --max-new-tokens): "
                             "a base model that never writes the format would ramble to the full length")
    parser.add_argument("--results-dir", help="evaluation runs shown on the leaderboard (default results)")
    parser.add_argument("--queue-size", type=int, help="requests waiting in the queue before new ones are refused")
    return parser


def _pick(args: argparse.Namespace, name: str) -> str | None:
    value = getattr(args, name.replace("-", "_"))
    return value if value not in (None, "") else _env(name)


def parse_config(argv: list[str] | None = None) -> AppConfig:
    """Flags > ``SCHEDULER_*`` environment > preset. Bad values are a ``ModelLoadError`` with a sentence."""
    args = build_parser().parse_args(argv)
    preset_name = _pick(args, "preset")
    base_model, base_adapter = _pick(args, "base-model"), _pick(args, "base-adapter")
    tuned_model, tuned_adapter = _pick(args, "tuned-model"), _pick(args, "tuned-adapter")
    explicit = any((base_model, tuned_model))
    if preset_name is None and not explicit:
        preset_name = DEFAULT_PRESET
    preset = resolve_preset(preset_name) if preset_name else None

    if base_model or base_adapter:
        model = base_model or (preset.base.model if preset else None)
        if model is None:
            raise ModelLoadError("--base-adapter needs --base-model (or a --preset whose base model it fits).")
        base = Side("base", ModelSpec(model, base_adapter))
    elif preset is not None:
        base = Side("base", preset.base)
    else:  # only --tuned-model given: compare it with nothing rather than guess
        base = Side("base", None, "No base model was given; pass --base-model or --preset.")

    if tuned_model or tuned_adapter:
        model = tuned_model or (base.spec.model if base.spec else None)
        if model is None:
            raise ModelLoadError("--tuned-adapter needs --tuned-model or a base model to apply it to.")
        tuned = Side("tuned", ModelSpec(model, tuned_adapter))
    elif preset is not None:
        tuned = Side("tuned", preset.tuned, preset.missing)
    else:
        tuned = Side("tuned", None, "No tuned model was given; pass --tuned-model and/or --tuned-adapter.")

    def number(name: str, default: int) -> int:
        value = _pick(args, name)
        try:
            return int(value) if value is not None else default
        except ValueError:
            raise ModelLoadError(f"SCHEDULER_{name.upper().replace('-', '_')} must be a whole number, not {value!r}.") from None

    def dtype() -> str:
        value = _pick(args, "dtype") or "fast"
        if value not in DTYPES:
            raise ModelLoadError(f"SCHEDULER_DTYPE must be one of {', '.join(DTYPES)}, not {value!r}.")
        return value

    overridden = any((base_model, base_adapter, tuned_model, tuned_adapter))
    return AppConfig(
        base=base,
        tuned=tuned,
        preset=preset.name if preset and not overridden else None,
        host=_pick(args, "host"),
        port=number("port", 0) or None,
        backend=_pick(args, "backend") or "transformers",
        device=_pick(args, "device"),
        dtype=dtype(),
        max_new_tokens=(max_tokens := number("max-new-tokens", MAX_NEW_TOKENS)),
        base_max_new_tokens=min(max_tokens, number("base-max-new-tokens", BASE_MAX_NEW_TOKENS)),
        results_dir=_pick(args, "results-dir") or "results",
        queue_size=number("queue-size", 16),
    )
