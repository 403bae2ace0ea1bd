"""Test-only pieces for running the training scripts on a tiny random model."""


def length_reward(completions, **kwargs) -> list[float]:
    """A reward that varies between random completions (the core's rewards are all 0 for a random model,
    which gives zero advantages and no gradient): the fraction of characters that are letters."""
    texts = [c[0]["content"] if isinstance(c, list) else str(c) for c in completions]
    return [sum(ch.isalpha() for ch in t) / max(len(t), 1) for t in texts]


def fake_fine_tune(base, out, rank: int, seed: int = 0, embed_rank: int | None = None):
    """``base`` with a rank-``rank`` change to every matrix (``embed_rank`` to the embedding) and a change to every
    norm, saved to ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 2:
                r = embed_rank if embed_rank is not None and "embed_tokens" in name else rank
                p += 0.05 * torch.randn(p.shape[0], r, generator=g) @ torch.randn(r, p.shape[1], generator=g)
            else:
                p += 0.1 * torch.randn(p.shape, generator=g)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    return model
