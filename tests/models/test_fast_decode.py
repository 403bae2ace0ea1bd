"""The CPU fast path (models.fast_decode) gives exactly plain ``generate``'s greedy tokens, on tiny real models."""

import pytest

from models.backend import SamplingSettings
from models.batch_generate import cut_at_eos
from models.fast_decode import GreedyDecoder, hint_lookup, prompt_lookup
from models.generation import TransformersBackend
from tests.models.test_generation import backend, conversations  # noqa: F401  (the same tiny llama and qwen2 models)


@pytest.fixture(scope="module")
def fast_backend(backend):
    assert isinstance(backend, TransformersBackend) and backend.fast is not None  # on by default on a CPU
    return backend


def test_prompt_lookup_proposes_what_followed_the_last_ngram():
    assert prompt_lookup([5, 6, 7, 8, 9, 5, 6], max_ngram=2, num_tokens=3) == [7, 8, 9]
    assert prompt_lookup([1, 2, 3, 4], max_ngram=3, num_tokens=3) == []  # 4 never occurred before
    # The latest earlier occurrence wins, and the draft is cut at num_tokens.
    assert prompt_lookup([1, 2, 9, 1, 2, 7, 7, 1, 2], max_ngram=2, num_tokens=1) == [7]


@pytest.mark.parametrize("lookup", [0, 4, 8])
def test_decoder_tokens_equal_generate(fast_backend, conversations, lookup):
    """Token for token, with and without the prefix cache and prompt-lookup drafts, up to the limit or EOS."""
    import torch

    settings = SamplingSettings(max_new_tokens=60)
    config = fast_backend._generation_config(settings)
    prefix = fast_backend.shared_prefix_ids()
    assert len(prefix) > 20
    for cached in (False, True):
        decoder = GreedyDecoder(fast_backend.model, fast_backend.eos_ids, lookup_tokens=lookup)
        if cached:
            decoder.cache_prefix(prefix)
        for messages in conversations:
            enc = fast_backend._encode([messages])
            ids = enc["input_ids"][0].tolist()
            with torch.inference_mode():
                out = fast_backend.model.generate(**enc, generation_config=config)
            want = cut_at_eos(out[0, len(ids):].tolist(), fast_backend.eos_ids)
            got = [t for step in decoder.decode(ids, settings.max_new_tokens) for t in step]
            assert got == want
        # The cached prefix is really used: only each problem's own tokens were prefilled.
        prompt_total = sum(len(fast_backend._encode([m])["input_ids"][0]) for m in conversations)
        assert decoder.stats["prefilled"] == prompt_total - (len(prefix) * len(conversations) if cached else 0)


def test_fast_stream_text_equals_generate_stream(fast_backend, conversations):
    settings = SamplingSettings(max_new_tokens=80)
    for messages in conversations[:2]:
        fast = list(fast_backend.stream(messages, settings))
        slow = list(fast_backend._stream_generate(messages, settings))
        assert fast and all(b.startswith(a) for a, b in zip(fast, fast[1:]))
        assert fast[-1] == slow[-1] == fast_backend.generate([messages], settings)[0].text


def test_drafts_on_repetitive_text_keep_the_greedy_tokens(fast_backend):
    """A prompt that repeats itself: the model (random, tiny) continues it; whatever it chooses, the
    decoder's tokens equal step-by-step greedy decoding with no drafts."""
    messages = [{"role": "user", "content": "a b c d e f g " * 20}]
    ids = fast_backend._encode([messages])["input_ids"][0].tolist()
    plain = GreedyDecoder(fast_backend.model, fast_backend.eos_ids, lookup_tokens=0)
    drafted = GreedyDecoder(fast_backend.model, fast_backend.eos_ids, lookup_tokens=6)
    want = [t for step in plain.decode(ids, 50) for t in step]
    got = [t for step in drafted.decode(ids, 50) for t in step]
    assert got == want
    assert drafted.stats["forwards"] <= plain.stats["forwards"]


def test_sampling_still_uses_generate(fast_backend, conversations):
    hot = SamplingSettings(temperature=1.5, max_new_tokens=12, seed=3)
    assert list(fast_backend.stream(conversations[0], hot))[-1] == list(fast_backend._stream_generate(conversations[0], hot))[-1]


def test_hint_lookup_follows_the_hint_near_the_cursor():
    hint = [1, 2, 3, 4, 9, 1, 2, 5, 6]
    # "1 2" occurs twice in the hint: the occurrence whose end is nearest the cursor wins.
    assert hint_lookup([7, 1, 2], hint, cursor=0, num_tokens=2) == ([3, 4], 2)
    assert hint_lookup([7, 1, 2], hint, cursor=8, num_tokens=2) == ([5, 6], 7)
    # A longer n-gram beats a nearer shorter one; nothing matching gives no draft and keeps the cursor.
    assert hint_lookup([9, 1, 2], hint, cursor=0, max_ngram=3, num_tokens=1) == ([5], 7)
    assert hint_lookup([8, 8], hint, cursor=4) == ([], 4)


def test_hint_drafts_keep_the_greedy_tokens(fast_backend, conversations):
    """With the model's own answer as the hint, most tokens come in long drafts; with a hint it never
    follows, drafts fail. Either way the tokens are exactly greedy decoding's."""
    ids = fast_backend._encode([conversations[0]])["input_ids"][0].tolist()
    plain = GreedyDecoder(fast_backend.model, fast_backend.eos_ids, lookup_tokens=0)
    want = [t for step in plain.decode(ids, 60) for t in step]
    for hint in (want, list(reversed(want)), [3, 4, 5] * 30):
        decoder = GreedyDecoder(fast_backend.model, fast_backend.eos_ids, lookup_tokens=8)
        got = [t for step in decoder.decode(ids, 60, hint_ids=hint) for t in step]
        assert got == want
        if hint is want:
            assert decoder.stats["hint_drafts"] > 0 and decoder.stats["forwards"] <= len(want) // 4


def test_whole_drafts_grow_up_to_max_draft_and_keep_the_greedy_tokens(fast_backend, conversations):
    """The model's own answer as the hint: every draft is taken whole, so growing drafts (4, 8, 16, 32) need fewer
    forward passes than fixed ones of 4, with the same tokens; a hint it never follows gives the same tokens too."""
    ids = fast_backend._encode([conversations[0]])["input_ids"][0].tolist()
    plain = GreedyDecoder(fast_backend.model, fast_backend.eos_ids, lookup_tokens=0)
    want = [t for step in plain.decode(ids, 120) for t in step]
    fixed = GreedyDecoder(fast_backend.model, fast_backend.eos_ids, lookup_tokens=4)
    growing = GreedyDecoder(fast_backend.model, fast_backend.eos_ids, lookup_tokens=4, max_draft=32)
    steps = list(growing.decode(ids, 120, hint_ids=want))
    assert [t for step in fixed.decode(ids, 120, hint_ids=want) for t in step] == want
    assert [t for step in steps for t in step] == want
    assert growing.stats["forwards"] < fixed.stats["forwards"]
    assert max(len(step) for step in steps) > 5  # a draft longer than lookup_tokens was taken
    wrong = GreedyDecoder(fast_backend.model, fast_backend.eos_ids, lookup_tokens=4, max_draft=32)
    assert [t for step in wrong.decode(ids, 120, hint_ids=list(reversed(want))) for t in step] == want


def test_stream_with_a_hint_gives_the_same_text(fast_backend, conversations):
    settings = SamplingSettings(max_new_tokens=40)
    text = fast_backend.generate([conversations[1]], settings)[0].text
    assert list(fast_backend.stream(conversations[1], settings, hint=text))[-1] == text
    assert list(fast_backend.stream(conversations[1], settings, hint="<think>unrelated</think>"))[-1] == text
