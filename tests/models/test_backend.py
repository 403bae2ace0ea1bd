"""The backend interface (models.backend) stands alone: no import cycle between the backends."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def fresh_import(code: str) -> subprocess.CompletedProcess:
    """``code`` in a new interpreter (a clean ``sys.modules``), from the repository root."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", ["models.heuristics", "models.backend", "models"])
def test_the_interface_and_the_heuristics_do_not_import_the_model_backends(module):
    done = fresh_import(
        f"import sys, {module}\n"
        "loaded = sorted(m for m in ('models.generation', 'models.loading', 'torch', 'transformers') if m in sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    assert done.returncode == 0, done.stderr


def test_the_heuristics_then_the_backends_import_in_either_order():
    for first, second in (("models.heuristics", "models.generation"), ("models.generation", "models.heuristics")):
        done = fresh_import(
            f"import {first}, {second}\n"
            "from models.generation import load_backend\n"
            "from models.specs import ModelSpec\n"
            "from models.backend import Backend\n"
            "assert isinstance(load_backend(ModelSpec('heuristic:greedy')), Backend)\n"
        )
        assert done.returncode == 0, done.stderr


def test_one_interface_everywhere():
    import models
    import models.backend as backend
    import models.generation as generation
    from models.heuristics import HeuristicBackend

    for name in ("Backend", "SamplingSettings", "GenerationResult", "Messages"):
        assert getattr(generation, name) is getattr(backend, name)  # still importable from models.generation
    assert issubclass(HeuristicBackend, backend.Backend)
    assert issubclass(generation.TransformersBackend, backend.Backend)
    assert issubclass(generation.VLLMBackend, backend.Backend)
    # The package's names load on first use, from their modules.
    assert models.SamplingSettings is backend.SamplingSettings and models.load_backend is generation.load_backend
    from models.loading import load_causal_lm

    assert models.load_causal_lm is load_causal_lm
    assert set(models.__all__) <= set(dir(models))
    with pytest.raises(AttributeError):
        models.no_such_name  # noqa: B018
