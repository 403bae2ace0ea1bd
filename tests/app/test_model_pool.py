"""The app's model pool under concurrent first use: both lanes start loading at the same moment."""

import threading

import torch

from models.specs import ModelSpec
from models.tiny import build_tiny_model
from space.lanes import ModelPool


def test_models_requested_at_once_all_load_whole(tiny_llama, tmp_path):
    """transformers' from_pretrained is not thread-safe: two loads at once failed ("Cannot copy out of
    meta tensor") or left weights missing, until the pool loaded one model at a time."""
    specs = [ModelSpec(str(tiny_llama)), ModelSpec(str(build_tiny_model(tmp_path / "tiny-qwen2", arch="qwen2")))]
    expected = {spec: ModelPool(backend="transformers", device="cpu").get(spec) for spec in specs}
    ids = torch.tensor([[1, 2, 3, 4]])
    for _ in range(2):
        pool, failures, got = ModelPool(backend="transformers", device="cpu"), [], {}

        def load(spec):
            try:
                got[spec] = pool.get(spec)
            except Exception as err:  # recorded, so the assertion below shows what went wrong
                failures.append(f"{type(err).__name__}: {err}")

        threads = [threading.Thread(target=load, args=(spec,)) for spec in specs * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        for spec in specs:
            with torch.no_grad():
                assert torch.equal(got[spec].loaded.model(ids).logits, expected[spec].loaded.model(ids).logits)
