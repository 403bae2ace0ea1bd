"""Which models the Space compares: flags over SCHEDULER_* variables over the preset."""

import pytest

from models.errors import ModelLoadError
from models.specs import PRESETS
from space.config import parse_config


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("PRESET", "BASE_MODEL", "BASE_ADAPTER", "TUNED_MODEL", "TUNED_ADAPTER", "HOST", "PORT",
                 "MAX_NEW_TOKENS", "BASE_MAX_NEW_TOKENS", "BACKEND", "RESULTS_DIR", "QUEUE_SIZE", "DEVICE", "DTYPE"):
        monkeypatch.delenv(f"SCHEDULER_{name}", raising=False)


def test_default_is_the_embedded_pair():
    config = parse_config([])
    assert config.preset == "smollm2-135m"
    assert config.base.spec == PRESETS["smollm2-135m"].base
    assert config.backend == "transformers" and config.host is None and config.port is None
    tuned = PRESETS["smollm2-135m"].tuned
    if tuned is None:  # the adapter is not in this checkout: the lane says why
        assert config.tuned.spec is None and "not in this checkout" in config.tuned.missing
    else:
        assert config.tuned.spec == tuned


def test_preset_flag_and_env(monkeypatch):
    assert parse_config(["--preset", "qwen-7b"]).base.spec.model == "Qwen/Qwen2.5-Coder-7B-Instruct"
    monkeypatch.setenv("SCHEDULER_PRESET", "qwen-7b")
    monkeypatch.setenv("SCHEDULER_PORT", "7999")
    config = parse_config([])
    assert config.preset == "qwen-7b" and config.port == 7999
    assert config.tuned.spec.model == "anakin87/qwen-scheduler-7b-grpo"
    # A flag wins over its variable.
    assert parse_config(["--preset", "smollm2-135m", "--port", "7001"]).port == 7001


def test_explicit_models(tmp_path):
    config = parse_config(["--base-model", "m1", "--tuned-model", "m2", "--tuned-adapter", str(tmp_path),
                           "--host", "0.0.0.0", "--max-new-tokens", "64"])
    assert (config.base.spec.model, config.base.spec.adapter) == ("m1", None)
    assert (config.tuned.spec.model, config.tuned.spec.adapter) == ("m2", str(tmp_path))
    assert config.preset is None and config.host == "0.0.0.0" and config.max_new_tokens == 64
    assert config.base.concurrency_id != config.tuned.concurrency_id
    # An adapter alone applies to the base model.
    config = parse_config(["--tuned-adapter", str(tmp_path)])
    assert config.tuned.spec.model == PRESETS["smollm2-135m"].base.model
    only_tuned = parse_config(["--tuned-model", "m2"])
    assert only_tuned.base.spec is None and "No base model" in only_tuned.base.missing


def test_bad_values_are_sentences(monkeypatch):
    monkeypatch.setenv("SCHEDULER_PRESET", "nope")
    with pytest.raises(ModelLoadError, match="Unknown preset 'nope'"):
        parse_config([])
    monkeypatch.delenv("SCHEDULER_PRESET")
    monkeypatch.setenv("SCHEDULER_MAX_NEW_TOKENS", "lots")
    with pytest.raises(ModelLoadError, match="whole number"):
        parse_config([])


def test_the_weights_precision_is_fast_unless_asked(monkeypatch):
    assert parse_config([]).dtype == "fast"  # bf16 where the hardware multiplies it natively (models.loading)
    assert parse_config(["--dtype", "float32"]).dtype == "float32"
    monkeypatch.setenv("SCHEDULER_DTYPE", "auto")
    assert parse_config([]).dtype == "auto"
    monkeypatch.setenv("SCHEDULER_DTYPE", "int4")
    with pytest.raises(ModelLoadError, match="SCHEDULER_DTYPE must be one of auto, fast, float32, bfloat16"):
        parse_config([])


def test_the_base_lane_has_its_own_smaller_cap(monkeypatch):
    config = parse_config([])
    assert config.max_new_tokens == 4096 and config.base_max_new_tokens == 128
    assert parse_config(["--base-max-new-tokens", "512"]).base_max_new_tokens == 512
    monkeypatch.setenv("SCHEDULER_MAX_NEW_TOKENS", "24")  # never above the general cap (the tests' server)
    assert parse_config([]).base_max_new_tokens == 24


def test_the_default_cap_fits_the_longest_hard_answer_of_the_shipped_model():
    """The committed hard-split runs of the shipped checkpoint: none of its answers that end may need more than the
    app's cap. An answer that ran into eval's own cap (it repeats itself) is invalid at any cap, so it does not count."""
    import json
    from pathlib import Path

    from eval.leaderboard import leaderboard

    root = Path(__file__).resolve().parents[2] / "results"
    frame = leaderboard(root, include_published=False)
    runs = frame[(frame["shipped"] == True) & (frame["split"] == "hard") & (frame["temperature"] == 0)]  # noqa: E712
    assert len(runs)
    ended, runaway = [], []
    for run in runs["run"]:
        cap = json.loads((root / run / "config.json").read_text())["sampling"]["max_new_tokens"]
        for line in open(root / run / "samples.jsonl"):
            sample = json.loads(line)
            (ended if sample["n_tokens"] < cap else runaway).append(sample)
    assert all(s["verdict"] == "format_error" for s in runaway) and len(runaway) <= 0.05 * (len(ended) + len(runaway))
    assert 1024 < max(s["n_tokens"] for s in ended) <= parse_config([]).max_new_tokens


def test_a_longer_cap_than_the_sliders_stays_reachable():
    """The default cap (4,096: the shipped think on a long day) leaves room above it; a cap above the sliders' top
    becomes their top instead of being clipped."""
    import gradio as gr

    import app

    def sliders(argv):
        demo = app.build_demo(parse_config(argv))
        return {block.elem_id: block for block in demo.blocks.values() if isinstance(block, gr.Slider)}

    default = sliders([])
    assert default["tuned-tokens"].maximum == 8192 and default["tuned-tokens"].value == 4096
    longer = sliders(["--max-new-tokens", "10000"])
    assert longer["tuned-tokens"].maximum == 10000 and longer["tuned-tokens"].value == 10000
    assert longer["base-tokens"].maximum == 10000
