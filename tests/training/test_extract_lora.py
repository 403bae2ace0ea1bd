"""training/extract_lora.py on tiny models: a full fine-tune whose change is low-rank comes back exactly."""

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from models.loading import load_model
from models.specs import ModelSpec
from models.tiny import build_tiny_model
from tests.training.helpers import fake_fine_tune
from training.extract_lora import budget_ranks, extract, low_rank, main


def test_low_rank_is_the_best_factorisation():
    g = torch.Generator().manual_seed(1)
    delta = torch.randn(30, 4, generator=g) @ torch.randn(4, 20, generator=g)
    b, a, kept = low_rank(delta, 4)
    assert b.shape == (30, 4) and a.shape == (4, 20) and kept == pytest.approx(1.0)
    assert torch.allclose(b @ a, delta, atol=1e-4)
    _, _, kept2 = low_rank(delta, 2)
    assert 0.0 < kept2 < 1.0


@pytest.mark.parametrize("arch", ["llama", "qwen2"])  # tied embeddings (SmolLM2's case) and an untied head
def test_an_extracted_adapter_reproduces_the_fine_tune(arch, tmp_path):
    base = build_tiny_model(tmp_path / "base", arch=arch)
    tuned = fake_fine_tune(base, tmp_path / "tuned", rank=3)
    report = extract(str(base), str(tmp_path / "tuned"), rank=3, out=tmp_path / "lora", device="cpu")
    assert report["energy_kept_min"] == pytest.approx(1.0, abs=1e-3)
    assert json.loads((tmp_path / "lora" / "extraction.json").read_text())["rank"] == 3
    merged = load_model(ModelSpec(str(base), str(tmp_path / "lora")), device="cpu").model
    plain = load_model(ModelSpec(str(base)), device="cpu").model
    ids = torch.randint(0, 400, (2, 24), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want, got, before = tuned(ids).logits, merged(ids).logits, plain(ids).logits
    err = float((got - want).norm() / want.norm())
    assert err < 0.03  # the adapter is stored in bf16
    assert err < 0.2 * float((before - want).norm() / want.norm())  # far closer to the fine-tune than the base is


def test_a_lower_rank_loses_some_of_the_change(tmp_path):
    base = build_tiny_model(tmp_path / "base")
    fake_fine_tune(base, tmp_path / "tuned", rank=6)
    report = extract(str(base), str(tmp_path / "tuned"), rank=2, out=tmp_path / "lora", device="cpu")
    assert report["energy_kept_min"] < 0.9


def test_the_embedding_can_have_a_rank_of_its_own(tmp_path):
    """A change of rank 8 to the embedding and 2 elsewhere: rank 2 loses the embedding's (and the report names it),
    rank 2 with embed_rank 8 keeps all of it and reproduces the fine-tune once merged."""
    base = build_tiny_model(tmp_path / "base")
    tuned = fake_fine_tune(base, tmp_path / "tuned", rank=2, embed_rank=8)
    same = extract(str(base), str(tmp_path / "tuned"), rank=2, out=tmp_path / "r2", device="cpu")
    assert same["embed_rank"] == 2 and same["energy_kept_min"] < 0.9
    assert next(iter(same["energy_kept_least"])) == "model.embed_tokens.weight"
    own = extract(str(base), str(tmp_path / "tuned"), rank=2, out=tmp_path / "r2e8", device="cpu", embed_rank=8)
    assert own["embed_rank"] == 8 and own["energy_kept_min"] == pytest.approx(1.0, abs=1e-3)
    assert own["adapter_bytes"] > same["adapter_bytes"]
    merged = load_model(ModelSpec(str(base), str(tmp_path / "r2e8")), device="cpu").model
    ids = torch.randint(0, 400, (2, 24), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want, got = tuned(ids).logits, merged(ids).logits
    assert float((got - want).norm() / want.norm()) < 0.03


def test_the_cli_refuses_a_bad_rank(tmp_path, capsys):
    assert main(["--tuned", str(tmp_path), "--rank", "0", "--out", str(tmp_path / "x")]) == 2
    assert "--rank" in capsys.readouterr().err
    assert main(["--tuned", str(tmp_path), "--rank", "4", "--embed_rank", "0", "--out", str(tmp_path / "x")]) == 2


def test_an_extracted_adapter_is_the_fine_tune_only_once_merged(tmp_path):
    """With tied embeddings the embedding's LoRA reaches the output head only through the merged weight, which
    is why the loader (and the card) merge: peft's unmerged forward gives other logits."""
    from peft import PeftModel

    base = build_tiny_model(tmp_path / "base")
    tuned = fake_fine_tune(base, tmp_path / "tuned", rank=3)
    extract(str(base), str(tmp_path / "tuned"), rank=3, out=tmp_path / "lora", device="cpu")
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), str(tmp_path / "lora"))
    ids = torch.randint(0, 400, (2, 24), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, unmerged = tuned(ids).logits, model(ids).logits
        merged = model.merge_and_unload()(ids).logits
    assert float((merged - want).norm() / want.norm()) < 0.03
    assert float((unmerged - want).norm() / want.norm()) > 0.1


def test_budget_ranks_keep_the_most_share_per_byte():
    """Two matrices of equal size: one whose change is rank 1, one spread evenly over 4 directions. Three ranks
    beyond the first go to the spread one; a budget too small for rank 1 everywhere is refused."""
    spectra = {"a": torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64),
               "b": torch.tensor([1.0, 1.0, 1.0, 1.0], dtype=torch.float64)}
    sizes = {"a": (4, 6), "b": (4, 6)}
    assert budget_ranks(spectra, sizes, budget_bytes=5 * 10 * 2) == {"a": 1, "b": 4}
    assert budget_ranks(spectra, sizes, budget_bytes=3 * 10 * 2) == {"a": 1, "b": 2}
    with pytest.raises(ValueError, match="less than the floor"):
        budget_ranks(spectra, sizes, budget_bytes=10)


def test_a_floor_keeps_a_dear_matrix_from_starving():
    """A wide matrix (an embedding's shape) costs many times a small one per rank: by share per byte it gets rank 1;
    its floor holds it up, and what is left goes by share per byte."""
    spectra = {"emb": torch.tensor([1.0] * 4, dtype=torch.float64), "a": torch.tensor([1.0] * 4, dtype=torch.float64)}
    sizes = {"emb": (4, 96), "a": (4, 6)}
    assert budget_ranks(spectra, sizes, budget_bytes=(100 + 4 * 10) * 2) == {"emb": 1, "a": 4}
    assert budget_ranks(spectra, sizes, budget_bytes=(200 + 4 * 10) * 2, floors={"emb": 2}) == {"emb": 2, "a": 4}


def test_a_budget_gives_the_embedding_the_rank_its_change_needs(tmp_path):
    """A change of rank 8 to the embedding and 2 elsewhere; a budget that fits just those ranks (and not rank 8
    everywhere) keeps all of it, within the budget, and the merged adapter is the fine-tune."""
    base = build_tiny_model(tmp_path / "base")
    tuned = fake_fine_tune(base, tmp_path / "tuned", rank=2, embed_rank=8)
    sizes = {name: tuple(p.shape) for name, p in tuned.named_parameters() if p.ndim == 2 and "lm_head" not in name}
    need = sum((8 if "embed_tokens" in name else 2) * (m + n) * 2 for name, (m, n) in sizes.items())
    report = extract(str(base), str(tmp_path / "tuned"), rank=1, out=tmp_path / "b", device="cpu",
                     budget_mb=need * 1.02 / 1e6)
    assert report["energy_kept_min"] == pytest.approx(1.0, abs=1e-3)
    assert report["ranks_by_module"]["embed_tokens"] >= 8 and report["rank_min"] >= 2
    uniform = extract(str(base), str(tmp_path / "tuned"), rank=8, out=tmp_path / "r8", device="cpu")
    assert report["adapter_bytes"] < uniform["adapter_bytes"]
    merged = load_model(ModelSpec(str(base), str(tmp_path / "b")), device="cpu").model
    ids = torch.randint(0, 400, (2, 24), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        want, got = tuned(ids).logits, merged(ids).logits
    assert float((got - want).norm() / want.norm()) < 0.03


def test_the_cli_refuses_a_budget_too_small(tmp_path, capsys):
    base = build_tiny_model(tmp_path / "base")
    fake_fine_tune(base, tmp_path / "tuned", rank=2)
    assert main(["--base", str(base), "--tuned", str(tmp_path / "tuned"), "--budget_mb", "0.0001",
                 "--out", str(tmp_path / "x")]) == 2
    assert "less than the floor" in capsys.readouterr().err
    assert main(["--tuned", str(tmp_path), "--budget_mb", "-1", "--out", str(tmp_path / "x")]) == 2
