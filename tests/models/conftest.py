"""Tiny random models built from a config (no download), shared by the models and eval tests."""

import pytest

from models.tiny import build_tiny_model


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-llama", arch="llama")


@pytest.fixture(scope="session")
def tiny_qwen2(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-qwen2", arch="qwen2")


@pytest.fixture(scope="module")
def loaded(tiny_llama):
    """The tiny Llama loaded as the app and eval load models (CPU, fp32)."""
    from models.loading import load_model
    from models.specs import ModelSpec

    return load_model(ModelSpec(str(tiny_llama)), device="cpu")


@pytest.fixture(scope="module")
def prompts(loaded):
    """The first four canonical test prompts, as the chat template renders them, in token ids."""
    from scheduler import build_messages, load_split

    tok = loaded.tokenizer
    texts = [tok.apply_chat_template(build_messages(r["prompt"]), tokenize=False, add_generation_prompt=True)
             for r in load_split("test")[:4]]
    return [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
