"""Test-only pieces for running the training scripts on a tiny random model."""


def length_reward(completions, **kwargs) -> list[float]:
    """A reward that varies between random completions (the core's rewards are all 0 for a random model,
    which gives zero advantages and no gradient): the fraction of characters that are letters."""
    texts = [c[0]["content"] if isinstance(c, list) else str(c) for c in completions]
    return [sum(ch.isalpha() for ch in t) / max(len(t), 1) for t in texts]
