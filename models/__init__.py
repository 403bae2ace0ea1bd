"""Models: the embedded base (provisioned from PyPI), specs and presets, loading, generation backends.

One loading path for the app, eval and training. torch and transformers are imported only when a
model is actually loaded, so importing this package is cheap.
"""

from models.errors import ModelLoadError
from models.generation import (
    Backend,
    GenerationResult,
    SamplingSettings,
    TransformersBackend,
    VLLMBackend,
    choose_backend,
    load_backend,
    vllm_available,
)
from models.loading import LoadedModel, load_model, load_tokenizer, resolve_model_path, validate_adapter
from models.provision import ensure_smollm2
from models.specs import PRESETS, ModelSpec, Preset, resolve_preset

__all__ = [
    "Backend", "GenerationResult", "LoadedModel", "ModelLoadError", "ModelSpec", "PRESETS", "Preset",
    "SamplingSettings", "TransformersBackend", "VLLMBackend", "choose_backend", "ensure_smollm2", "load_backend",
    "load_model", "load_tokenizer", "resolve_model_path", "resolve_preset", "validate_adapter", "vllm_available",
]
