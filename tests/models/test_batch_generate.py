"""models.batch_generate on tiny real models: every method gives plain generate's tokens (greedy, fp32)."""

import pytest
import torch
from transformers import GenerationConfig

from models.batch_generate import METHODS, cut_at_eos, generate_ids, left_pad


def greedy(tok, n=20):
    return GenerationConfig(max_new_tokens=n, do_sample=False, eos_token_id=tok.eos_token_id,
                            pad_token_id=tok.pad_token_id)


def test_cut_at_eos_keeps_the_first_eos_and_drops_the_rest():
    assert cut_at_eos([5, 6, 2, 0, 0], [2]) == [5, 6, 2]
    assert cut_at_eos([5, 6, 7], [2, 9]) == [5, 6, 7]
    assert cut_at_eos([], [2]) == []


def test_left_pad_right_aligns_in_a_bucket_multiple():
    ids, mask = left_pad([[1, 2, 3], [4]], pad_id=0, bucket=4)
    assert ids.tolist() == [[0, 1, 2, 3], [0, 0, 0, 4]]
    assert mask.tolist() == [[0, 1, 1, 1], [0, 0, 0, 1]]
    ids, _ = left_pad([[1] * 5], pad_id=0, bucket=4)
    assert ids.shape == (1, 8)
    ids, mask = left_pad([[1, 2]], pad_id=0, bucket=4, min_width=9)  # a known longest prompt: one shape
    assert ids.shape == (1, 12) and mask.sum() == 2


def test_static_cache_with_bucket_padding_equals_plain_generate(loaded, prompts):
    config = greedy(loaded.tokenizer)
    plain = generate_ids(loaded.model, prompts, config, method="plain")
    assert len({tuple(p) for p in plain}) > 1  # answers depend on the prompt
    for bucket in (1, 64, 256):  # extra left padding changes nothing
        assert generate_ids(loaded.model, prompts, config, method="static", bucket=bucket) == plain
    assert generate_ids(loaded.model, prompts, config, method="static", bucket=64, min_width=1500) == plain
    # The config passed in is not modified (the backend reuses it).
    assert config.cache_implementation is None


def test_one_prompt_alone_equals_its_row_in_a_batch(loaded, prompts):
    config = greedy(loaded.tokenizer)
    batched = generate_ids(loaded.model, prompts, config, method="static")
    assert [generate_ids(loaded.model, [p], config, method="static")[0] for p in prompts] == batched


def test_unknown_method_and_empty_input(loaded):
    with pytest.raises(ValueError, match="static"):
        generate_ids(loaded.model, [[1]], greedy(loaded.tokenizer), method="fastest")
    assert generate_ids(loaded.model, [], greedy(loaded.tokenizer)) == []
    assert set(METHODS) == {"plain", "static", "loop", "continuous"}


@pytest.mark.parametrize("method", ["static", "loop"])
def test_sampling_is_seeded(loaded, prompts, method):
    tok = loaded.tokenizer
    config = GenerationConfig(max_new_tokens=12, do_sample=True, temperature=1.0, top_k=0,
                              eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        runs.append(generate_ids(loaded.model, prompts, config, method=method))
    assert runs[0] == runs[1]
