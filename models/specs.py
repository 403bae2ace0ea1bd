"""What to load: a model (hub id, local path or alias), an optional LoRA adapter, and presets.

A ``ModelSpec`` is only a description; ``models.loading`` and ``models.generation`` turn it into
weights. Presets pair a base model with its tuned version, for the app's side-by-side view and for
``eval.run --preset``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from models.errors import ModelLoadError
from models.provision import ALIAS as SMOLLM2_ALIAS
from scheduler.reference import DEFAULT_THINK, THINK_FORMATS

REPO_ROOT = Path(__file__).resolve().parent.parent
HEURISTIC_PREFIX = "heuristic:"


@dataclass(frozen=True)
class ModelSpec:
    """A model to run: ``model`` is a hub id, a local folder, ``smollm2-135m-instruct`` (the embedded
    base) or ``heuristic:NAME`` (a rule, no LLM); ``adapter`` is a local LoRA folder saved by peft; ``think`` the
    think format the model was trained to write (``scheduler.reference.THINK_FORMATS``), by default the one its
    training record says (``think_format``): the app's CPU decoder drafts tokens from the solver's answer in that
    format, and a draft in another one is only slower."""

    model: str
    adapter: str | None = None
    label: str | None = None
    think: str | None = None

    @property
    def think_format(self) -> str:
        """``think`` if set, else the format the adapter's (or a local model's) training record names, else the
        project's default."""
        return self.think or trained_think(self.adapter) or trained_think(self.model) or DEFAULT_THINK

    @property
    def name(self) -> str:
        """A short human name: the label, else the model (and adapter) folder names."""
        if self.label:
            return self.label
        base = Path(self.model).name if Path(self.model).exists() else self.model
        return f"{base} + {Path(self.adapter).name}" if self.adapter else base

    @property
    def is_heuristic(self) -> bool:
        return self.model.startswith(HEURISTIC_PREFIX)


def trained_think(folder: str | None) -> str | None:
    """The think format a checkpoint folder was trained on: its ``training_summary.json``'s, else (a GRPO stage, which
    trains on no targets) that of the newest earlier stage kept beside it (``1-sft/``, ``2-grpo/``, …); None when the
    folder is not local or no record names a format this checkout knows."""
    if not folder or not Path(folder).is_dir():
        return None
    root = Path(folder)
    for record in [root / "training_summary.json", *sorted(root.glob("*/training_summary.json"), reverse=True)]:
        try:
            think = json.loads(record.read_text(encoding="utf-8")).get("data", {}).get("think_format")
        except (OSError, ValueError, AttributeError):  # absent or unreadable: the next record may say
            continue
        if think in THINK_FORMATS:  # a format this checkout cannot write drafts in is no hint at all
            return think
    return None


@dataclass(frozen=True)
class Preset:
    """A base model and its tuned counterpart.

    ``tuned`` is None while the tuned model is a local adapter that has not been shipped yet;
    ``missing`` then says so in a sentence callers can show as is.
    """

    name: str
    size: str
    base: ModelSpec
    tuned_candidate: ModelSpec

    @property
    def tuned(self) -> ModelSpec | None:
        adapter = self.tuned_candidate.adapter
        if adapter is not None and not Path(adapter).is_dir():
            return None
        return self.tuned_candidate

    @property
    def missing(self) -> str | None:
        if self.tuned is not None:
            return None
        return (
            f"The tuned {self.name} adapter is not in this checkout yet ({self.tuned_candidate.adapter} does not exist); "
            "only the base model can run."
        )

    def side(self, which: str) -> ModelSpec:
        """``base`` or ``tuned``; a missing tuned model is a ModelLoadError with the reason."""
        if which == "base":
            return self.base
        if which == "tuned":
            if self.tuned is None:
                raise ModelLoadError(self.missing)
            return self.tuned
        raise ModelLoadError(f"A preset side is 'base' or 'tuned', not {which!r}.")


SMOLLM2_ADAPTER = REPO_ROOT / "checkpoints" / "smollm2-135m-scheduler"

PRESETS: dict[str, Preset] = {
    "smollm2-135m": Preset(
        name="smollm2-135m",
        size="135M",
        base=ModelSpec(SMOLLM2_ALIAS, label="SmolLM2-135M-Instruct"),
        tuned_candidate=ModelSpec(SMOLLM2_ALIAS, adapter=str(SMOLLM2_ADAPTER), label="smollm2-135m-scheduler"),
    ),
    "qwen-7b": Preset(
        name="qwen-7b",
        size="7B",
        base=ModelSpec("Qwen/Qwen2.5-Coder-7B-Instruct", label="Qwen2.5-Coder-7B-Instruct"),
        # Published as full (merged) weights, not as an adapter.
        tuned_candidate=ModelSpec("anakin87/qwen-scheduler-7b-grpo", label="qwen-scheduler-7b-grpo"),
    ),
}


def resolve_preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name is a ModelLoadError listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ModelLoadError(f"Unknown preset {name!r}; choose from {', '.join(sorted(PRESETS))}.") from None
