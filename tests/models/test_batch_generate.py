"""models.batch_generate on tiny real models: the loop gives plain generate's tokens (greedy and seeded, fp32)."""

import warnings

import pytest
import torch
from transformers import GenerationConfig

from models.batch_generate import METHODS, cut_at_eos, eos_ids, generate_ids, left_pad


def greedy(tok, n=20):
    return GenerationConfig(max_new_tokens=n, do_sample=False, eos_token_id=tok.eos_token_id,
                            pad_token_id=tok.pad_token_id)


def test_cut_at_eos_keeps_the_first_eos_and_drops_the_rest():
    assert cut_at_eos([5, 6, 2, 0, 0], [2]) == [5, 6, 2]
    assert cut_at_eos([5, 6, 7], [2, 9]) == [5, 6, 7]
    assert cut_at_eos([], [2]) == []
    assert eos_ids(GenerationConfig(eos_token_id=[2, None, 7])) == [2, 7]
    assert eos_ids(GenerationConfig(eos_token_id=4)) == [4]


def test_left_pad_right_aligns_in_the_longest_width():
    ids, mask = left_pad([[1, 2, 3], [4]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    ids, mask = left_pad([[1, 2]], pad_id=0, min_width=9)  # a known longest prompt: one shape
    assert ids.shape == (1, 9) and mask.sum() == 2


def test_the_loop_equals_plain_generate_with_any_left_padding(loaded, prompts):
    config = greedy(loaded.tokenizer)
    plain = generate_ids(loaded.model, prompts, config, method="plain")
    assert len({tuple(p) for p in plain}) > 1  # answers depend on the prompt
    for width in (0, 1500):  # extra left padding changes nothing
        assert generate_ids(loaded.model, prompts, config, method="loop", min_width=width) == plain
        assert generate_ids(loaded.model, prompts, config, method="plain", min_width=width) == plain
    # The config passed in is not modified (the backend reuses it).
    assert config.cache_implementation is None and config.top_k is None


def test_the_loop_decodes_in_the_models_dtype_under_a_callers_autocast(loaded, prompts):
    """GRPO's training step runs its rollouts inside bf16 autocast; an fp32 model's keys leave the rotary
    embedding in fp32 while its values come out of the projection in bf16, which one static cache cannot hold."""
    config = greedy(loaded.tokenizer)
    alone = generate_ids(loaded.model, prompts, config, method="loop")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert generate_ids(loaded.model, prompts, config, method="loop") == alone


def test_one_prompt_alone_equals_its_row_in_a_batch(loaded, prompts):
    config = greedy(loaded.tokenizer)
    batched = generate_ids(loaded.model, prompts, config)
    assert [generate_ids(loaded.model, [p], config)[0] for p in prompts] == batched


def test_unset_settings_come_from_the_models_generation_config_as_in_generate(loaded, prompts):
    tok = loaded.tokenizer
    config = GenerationConfig(max_new_tokens=16, do_sample=True, eos_token_id=tok.eos_token_id,
                              pad_token_id=tok.pad_token_id)  # no top_k: the model's own applies
    own = loaded.model.generation_config
    saved = own.top_k, own.temperature
    own.top_k, own.temperature = 3, 0.8
    try:
        torch.manual_seed(5)
        plain = generate_ids(loaded.model, prompts, config, method="plain")
        torch.manual_seed(5)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the loop itself, not its fallback to plain
            assert generate_ids(loaded.model, prompts, config, method="loop") == plain
    finally:
        own.top_k, own.temperature = saved


def test_unknown_method_and_empty_input(loaded):
    with pytest.raises(ValueError, match="loop, plain"):
        generate_ids(loaded.model, [[1]], greedy(loaded.tokenizer), method="static")
    assert generate_ids(loaded.model, [], greedy(loaded.tokenizer)) == []
    assert METHODS == ("loop", "plain")


@pytest.mark.parametrize("method", METHODS)
def test_sampling_is_seeded(loaded, prompts, method):
    tok = loaded.tokenizer
    config = GenerationConfig(max_new_tokens=12, do_sample=True, temperature=1.0, top_k=0,
                              eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        runs.append(generate_ids(loaded.model, prompts, config, method=method))
    assert runs[0] == runs[1]
