"""Training loads through models.loading, as the app and eval do: padding sides, safetensors only, clear errors."""

import json
import shutil

import pytest
import torch

from models.errors import ModelLoadError
from tests.model_folders import pickle_only_copy, without_chat_template
from tests.training.conftest import cpu_args
from training import grpo, sft
from training.common import load_model, model_load_kwargs

SFT_RECIPE = "recipes/SmolLM2-135M-Instruct/sft/config.yaml"
GRPO_RECIPE = "recipes/SmolLM2-135M-Instruct/grpo/config.yaml"
PICKLE_ONLY = r"only as pytorch_model\.bin \(pickle.*only safetensors weights are loaded"


def parse(script, recipe: str, model: str, out, **overrides):
    """(script_args, training_args, model_args) as the script parses its recipe, for the tiny model."""
    return script.make_parser().parse_args_and_config(["--config", recipe] + cpu_args(model, out, **overrides))


class TrainerBuilt(Exception):
    """Raised by a stand-in trainer: the script got as far as building it."""


def sft_until_the_trainer(model: str, out, monkeypatch) -> dict:
    """Run training/sft.py up to its SFTTrainer and return what the trainer was given."""
    import trl

    seen: dict = {}

    def trainer(*, model, processing_class, **kwargs):
        seen.update(model=model, tokenizer=processing_class)
        raise TrainerBuilt

    monkeypatch.setattr(trl, "SFTTrainer", trainer)
    with pytest.raises(TrainerBuilt):
        sft.main(["--config", SFT_RECIPE] + cpu_args(model, out, num_train_problems="4", max_length="4096",
                                                      hard_fraction="0"))
    return seen


def test_sft_tokenizer_pads_on_the_right(tiny_model, tmp_path, monkeypatch):
    seen = sft_until_the_trainer(tiny_model, tmp_path, monkeypatch)
    tok = seen["tokenizer"]
    assert tok.padding_side == "right"  # the tiny model's saved tokenizer pads on the left: this was asked for
    assert tok.pad_token is not None and tok.chat_template
    assert seen["model"].dtype == torch.float32 and not hasattr(seen["model"], "peft_config")  # the base; TRL adds LoRA


def test_grpo_tokenizer_pads_on_the_left(tiny_model, tmp_path):
    saved_right = tmp_path / "saved-right"  # a base whose saved tokenizer pads on the right (as SFT saves it)
    shutil.copytree(tiny_model, saved_right)
    config = json.loads((saved_right / "tokenizer_config.json").read_text())
    (saved_right / "tokenizer_config.json").write_text(json.dumps({**config, "padding_side": "right"}))
    script_args, training_args, model_args = parse(grpo, GRPO_RECIPE, str(saved_right), tmp_path / "out")
    model, peft_config, tok = grpo.build_model(script_args, training_args, model_args, str(saved_right))
    assert tok.padding_side == "left"  # rollouts generate from left-padded prompts
    assert tok.pad_token_id is not None
    assert peft_config is not None and model.dtype == torch.float32


def test_training_refuses_weights_only_as_pickle(tiny_model, tmp_path, monkeypatch):
    folder = pickle_only_copy(tiny_model, tmp_path / "pickled")
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran"))
    _, _, model_args = parse(grpo, GRPO_RECIPE, str(folder), tmp_path / "out")
    with pytest.raises(ModelLoadError, match=PICKLE_ONLY):  # the loader itself, handed the folder
        load_model(str(folder), model_args)
    for script, recipe in ((sft, SFT_RECIPE), (grpo, GRPO_RECIPE)):  # the scripts, before any training
        with pytest.raises(ModelLoadError, match=PICKLE_ONLY):
            script.main(["--config", recipe] + cpu_args(str(folder), tmp_path / script.__name__))


def test_training_refuses_a_tokenizer_without_chat_template(tiny_model, tmp_path, monkeypatch):
    folder = without_chat_template(tiny_model, tmp_path / "no-template")
    script_args, training_args, model_args = parse(grpo, GRPO_RECIPE, str(folder), tmp_path / "out")
    with pytest.raises(ModelLoadError, match="has no chat template; a chat .instruct. model is needed"):
        grpo.build_model(script_args, training_args, model_args, str(folder))
    with pytest.raises(ModelLoadError, match="has no chat template"):
        sft_until_the_trainer(str(folder), tmp_path / "sft", monkeypatch)


def test_model_config_becomes_the_loading_arguments(tiny_model):
    from trl import ModelConfig

    args = ModelConfig(dtype="bfloat16", attn_implementation="eager", model_revision="main")
    assert model_load_kwargs(args) == {"dtype": torch.bfloat16, "attn_implementation": "eager", "revision": "main"}
    model = load_model(tiny_model, args)
    assert model.dtype == torch.bfloat16 and model.config._attn_implementation == "eager"
    assert model_load_kwargs(ModelConfig(dtype="auto"))["dtype"] == "auto"
    quantized = model_load_kwargs(ModelConfig(dtype="bfloat16", load_in_4bit=True))
    assert quantized["quantization_config"].load_in_4bit
    assert quantized["device_map"] == {"": 0}  # placed at load time, one copy per process
    assert model_load_kwargs(ModelConfig(load_in_8bit=True))["quantization_config"].load_in_8bit
    with pytest.raises(ValueError, match="Unknown dtype"):
        model_load_kwargs(ModelConfig(dtype="float64x"))
