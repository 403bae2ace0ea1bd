import pytest

from models.tiny import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A tiny random Llama with an offline ChatML tokenizer, saved as a local checkpoint (safetensors)."""
    return str(build_tiny_model(tmp_path_factory.mktemp("tiny-llama") / "model", arch="llama"))


def cpu_args(model: str, out, **overrides) -> list[str]:
    """Command-line overrides that make a recipe run in seconds on a CPU with the tiny model."""
    args = {
        "model_name_or_path": model,
        "dtype": "float32",
        "bf16": "false",
        "output_dir": str(out),
        "lora_r": "8",
        "lora_alpha": "16",
        "dataset_num_proc": None,
        "max_train_minutes": None,
        "report_to": "none",
        "seed": "7",
    }
    args.update(overrides)
    argv = []
    for key, value in args.items():
        if value is None:
            continue
        argv.append(f"--{key}")
        argv += value if isinstance(value, list) else [str(value)]
    return argv
