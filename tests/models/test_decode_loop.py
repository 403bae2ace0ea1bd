"""models.decode_loop on a tiny real model (GQA: 4 query heads, 2 key/value heads), on the CPU, fp32:
the loop decodes as ``generate`` does, token for token, and its attention is SDPA's."""

import warnings

import pytest
import torch
from transformers import AttentionInterface, GenerationConfig

from models import decode_loop
from models.batch_generate import generate_ids
from models.decode_loop import ATTENTION, grouped_decode_attention, logits_processors, pick_tokens, unsupported


def greedy(tok, n=40, eos=None):
    return GenerationConfig(max_new_tokens=n, do_sample=False, eos_token_id=eos if eos is not None else tok.eos_token_id,
                            pad_token_id=tok.pad_token_id)


def test_grouped_attention_equals_sdpa_with_repeated_keys():
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    torch.manual_seed(0)
    module = torch.nn.Module()
    module.num_key_value_groups, module.is_causal = 3, True
    query, key, value = torch.randn(5, 9, 1, 16), torch.randn(5, 3, 40, 16), torch.randn(5, 3, 40, 16)
    valid = torch.rand(5, 1, 1, 40) > 0.3
    valid[:, :, :, -1] = True
    for mask in (valid, torch.zeros(valid.shape).masked_fill(~valid, torch.finfo(torch.float32).min)):
        ours, _ = grouped_decode_attention(module, query, key, value, mask, scaling=0.25)
        theirs, _ = sdpa_attention_forward(module, query, key, value, mask, scaling=0.25)
        assert ours.shape == theirs.shape == (5, 1, 9, 16)
        torch.testing.assert_close(ours, theirs)


def test_loop_equals_plain_generate_and_uses_the_grouped_path(loaded, prompts, monkeypatch):
    calls = []

    def spy(module, query, *args, **kwargs):
        calls.append((query.shape[2], kwargs.get("attention_mask", args[2] if len(args) > 2 else None).ndim))
        return grouped_decode_attention(module, query, *args, **kwargs)

    decode_loop.register()
    AttentionInterface.register(ATTENTION, spy)
    try:
        config = greedy(loaded.tokenizer)
        plain = generate_ids(loaded.model, prompts, config, method="plain")
        assert len({tuple(p) for p in plain}) > 1
        for width in (0, 700):  # extra left padding changes nothing
            assert generate_ids(loaded.model, prompts, config, method="loop", min_width=width) == plain
    finally:
        AttentionInterface.register(ATTENTION, grouped_decode_attention)
    # Decode steps only (prefill runs as SDPA): one token per row, a 4D mask, every layer, every step.
    assert calls and {c for c in calls} == {(1, 4)}
    assert len(calls) == 2 * 2 * 39  # 2 calls x 2 layers x 39 decode steps after the prefill's token
    assert loaded.model.config._attn_implementation == "sdpa"  # put back for training and everyone else


def test_rows_stop_at_their_own_eos_and_the_loop_stops_when_all_have(loaded, prompts):
    tok = loaded.tokenizer
    free = generate_ids(loaded.model, prompts, greedy(tok), method="plain")
    first = free[0]
    k = next(i for i in range(3, len(first)) if first[i] not in first[:i])  # a token new at step k of row 0
    config = greedy(tok, n=120, eos=[tok.eos_token_id, first[k]])  # row 0 stops there, others run on
    loop = generate_ids(loaded.model, prompts, config, method="loop")
    assert loop == generate_ids(loaded.model, prompts, config, method="plain")
    assert len(loop[0]) == k + 1 and loop[0][-1] == first[k]
    # Every row's 4th token as an end-of-sequence: all rows stop early, and so does the loop (no error, no pad).
    config = greedy(tok, n=120, eos=[tok.eos_token_id] + [row[3] for row in free])
    loop = generate_ids(loaded.model, prompts, config, method="loop")
    assert loop == generate_ids(loaded.model, prompts, config, method="plain")
    assert max(len(r) for r in loop) <= 4


def test_one_prompt_alone_and_reused_loops(loaded, prompts):
    config = greedy(loaded.tokenizer, n=16)
    batched = generate_ids(loaded.model, prompts, config, method="loop")
    assert [generate_ids(loaded.model, [p], config, method="loop")[0] for p in prompts] == batched
    assert generate_ids(loaded.model, prompts, config, method="loop") == batched  # the cached loop, reset
    # A smaller batch (an eval's last) runs in the 4-row loop, its spare rows filled and dropped: no new loop.
    shapes = set(decode_loop._loops[loaded.model]["eager"])  # a CPU's loops step eagerly
    assert generate_ids(loaded.model, prompts[1:], config, method="loop") == batched[1:]
    assert generate_ids(loaded.model, prompts[2:], config, method="loop") == batched[2:]
    assert set(decode_loop._loops[loaded.model]["eager"]) == shapes
    # Prompts padded much wider than before (over 1,024 more positions) get a loop of their own.
    assert generate_ids(loaded.model, prompts, config, method="loop", min_width=2200) == batched
    assert len(decode_loop._loops[loaded.model]["eager"]) == len(shapes) + 1


def sampled(tok, n=12, **settings):
    return GenerationConfig(max_new_tokens=n, do_sample=True, eos_token_id=tok.eos_token_id,
                            pad_token_id=tok.pad_token_id, **settings)


@pytest.mark.parametrize("settings", [
    {"temperature": 1.0, "top_k": 0},
    {"temperature": 0.7, "top_k": 0},
    {"temperature": 1.3, "top_k": 5},
    {"temperature": 1.0, "top_p": 0.8, "top_k": 0},
    {"temperature": 0.9, "min_p": 0.05, "top_k": 0},
    {"temperature": 1.0, "top_k": 0, "repetition_penalty": 1.3},
], ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_seeded_samples_equal_generates_setting_by_setting(loaded, prompts, settings):
    """The loop draws as generate does: the same processed logits, the same random draws, the same tokens."""
    config = sampled(loaded.tokenizer, n=24, **settings)
    torch.manual_seed(3)
    plain = generate_ids(loaded.model, prompts, config, method="plain")
    torch.manual_seed(3)
    assert generate_ids(loaded.model, prompts, config, method="loop") == plain
    torch.manual_seed(4)
    assert generate_ids(loaded.model, prompts, config, method="loop") != plain  # the seed matters


def test_greedy_with_a_repetition_penalty_equals_generate(loaded, prompts):
    config = greedy(loaded.tokenizer, n=30)
    config.update(repetition_penalty=1.5)
    penalised = generate_ids(loaded.model, prompts, config, method="loop")
    assert penalised == generate_ids(loaded.model, prompts, config, method="plain")
    assert penalised != generate_ids(loaded.model, prompts, greedy(loaded.tokenizer, n=30), method="loop")


def test_top_k_1_is_greedy(loaded, prompts):
    tok = loaded.tokenizer
    assert generate_ids(loaded.model, prompts, sampled(tok, top_k=1), method="loop") == generate_ids(
        loaded.model, prompts, greedy(tok, n=12), method="loop")


def test_pick_tokens_uses_the_processed_logits():
    torch.manual_seed(0)
    logits = torch.tensor([[0.0, 1.0, 3.0, 2.9], [5.0, 0.0, 0.0, 0.0]])
    seen = torch.zeros((2, 1), dtype=torch.long)
    assert pick_tokens(seen, logits, GenerationConfig(do_sample=False)).tolist() == [2, 0]
    for kwargs in ({"top_p": 1e-6}, {"top_k": 1}, {"min_p": 0.99}, {"temperature": 1e-4}):
        cfg = GenerationConfig(do_sample=True, **{"top_k": 0, **kwargs})
        assert [pick_tokens(seen, logits, cfg).tolist() for _ in range(20)] == [[2, 0]] * 20, kwargs
    cfg = GenerationConfig(do_sample=True, top_k=2, temperature=1.0)  # only tokens 2 and 3 can be drawn in row 0
    assert {pick_tokens(seen, logits, cfg)[0].item() for _ in range(200)} == {2, 3}
    # A repetition penalty lowers what the row has seen: token 2 (seen) loses to token 3 when greedy.
    cfg = GenerationConfig(do_sample=False, repetition_penalty=2.0)
    assert pick_tokens(torch.tensor([[2], [1]]), logits, cfg).tolist() == [3, 0]


def test_processors_follow_generates_order_and_skip_no_ops():
    names = lambda cfg: [type(p).__name__ for p in logits_processors(cfg)]  # noqa: E731
    assert names(GenerationConfig(do_sample=False, temperature=0.5, top_k=3)) == []  # greedy: no warpers
    assert names(GenerationConfig(do_sample=True, temperature=1.0, top_k=0, top_p=1.0)) == []
    assert names(GenerationConfig(do_sample=True, repetition_penalty=1.1, temperature=0.7, top_k=5, top_p=0.9,
                                  min_p=0.1)) == ["RepetitionPenaltyLogitsProcessor", "TemperatureLogitsWarper",
                                                  "TopKLogitsWarper", "TopPLogitsWarper", "MinPLogitsWarper"]


def test_settings_it_does_not_implement_fall_back_to_plain_with_a_warning(loaded, prompts):
    tok = loaded.tokenizer
    config = greedy(tok, n=10)
    assert unsupported(config) == []
    config.update(repetition_penalty=1.3, top_k=4, min_p=0.2, cache_implementation="static")
    assert unsupported(config) == []
    config = greedy(tok, n=10)
    config.update(no_repeat_ngram_size=2)
    assert unsupported(config) == ["no_repeat_ngram_size=2"]
    assert unsupported(GenerationConfig(max_length=50)) == ["max_length=50", "max_new_tokens=None"]
    # generate fills an unset top_k with its own default (50): the loop does not guess it.
    assert unsupported(sampled(tok)) == ["top_k=None (set it; 0 turns top-k off)"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = generate_ids(loaded.model, prompts, config, method="loop")
    assert any("no_repeat_ngram_size" in str(w.message) and "'plain'" in str(w.message) for w in caught)
    assert out == generate_ids(loaded.model, prompts, config, method="plain")


def test_step_mode_is_eager_on_a_cpu_and_checked_on_a_gpu(monkeypatch):
    monkeypatch.setenv("SCHEDULER_DECODE_STEP", "graph")
    assert decode_loop.step_mode("cpu") == "eager"
    assert decode_loop.step_mode("cuda:0") == "graph"
    monkeypatch.delenv("SCHEDULER_DECODE_STEP")
    assert decode_loop.step_mode("cuda") == decode_loop.DEFAULT_STEP_MODE
    assert decode_loop.DEFAULT_STEP_MODE == "graph"
    monkeypatch.setenv("SCHEDULER_DECODE_STEP", "eager")
    assert decode_loop.step_mode("cuda", "inductor") == "inductor"  # a caller's own mode (GRPO's rollout_step) wins
    assert decode_loop.step_mode("cpu", "inductor") == "eager"
    monkeypatch.setenv("SCHEDULER_DECODE_STEP", "fast")
    with pytest.raises(ValueError, match="decode step must be one of"):
        decode_loop.step_mode("cuda")


class EagerGraph(decode_loop.GraphStep):
    """GraphStep's protocol without a GPU: the warm-ups run the step for real, side effects and all, the capture
    runs nothing, and each replay runs the step on the captured inputs."""

    def _warm_up(self):
        for _ in range(self.warmups):
            self.fn(*self.inputs)

    def _capture(self):
        return None

    def _replay(self):
        self.output = self.fn(*self.inputs)


def test_a_captured_step_decodes_as_generate_from_its_first_call(loaded, prompts, monkeypatch):
    # The warm-ups advance the static cache's own position counter: a capture in mid-decode shifted every later
    # key and value by two (H200, session 8: 0 of 100 valid on the first call, the same scores from the second on).
    monkeypatch.setattr(decode_loop, "GraphStep", EagerGraph)
    monkeypatch.setattr(decode_loop, "step_mode", lambda device, mode=None: "graph")
    monkeypatch.setattr(decode_loop, "_loops", type(decode_loop._loops)())  # no loop made before this test
    config = greedy(loaded.tokenizer)
    plain = generate_ids(loaded.model, prompts, config, method="plain")
    assert generate_ids(loaded.model, prompts, config, method="loop") == plain
    (loop,) = decode_loop._loops[loaded.model]["graph"].values()
    assert isinstance(loop.step, EagerGraph) and loop.step.captured
    assert generate_ids(loaded.model, prompts, config, method="loop") == plain


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU (benchmarks/decode_compile.py measures it)")
def test_graph_step_replays_what_the_eager_step_computes():
    step = decode_loop.GraphStep(lambda x, y: (x * 2 + y).float())
    for value in (1.0, 3.0, -2.0):
        x = torch.full((4,), value, device="cuda")
        assert torch.equal(step(x, x), torch.full((4,), 3 * value, device="cuda"))


def norm_types(model) -> set[str]:
    return {type(m).__name__ for m in model.modules() if type(m).__name__.endswith("RMSNorm")}


def test_fused_norms_give_the_models_logits_and_put_its_own_norms_back(loaded, prompts):
    model = loaded.model
    before = {name: m for name, m in model.named_modules()}
    ids = torch.tensor([[5, 9, 11, 3, 7]])
    with torch.no_grad():
        want = model(input_ids=ids).logits
        with decode_loop.fused_norms(model) as swapped:
            assert swapped == 2 * model.config.num_hidden_layers + 1
            assert norm_types(model) == {"RMSNorm"}  # torch.nn.RMSNorm, one kernel
            assert all(m.weight is before[name].weight for name, m in model.named_modules()
                       if type(m).__name__ == "RMSNorm")  # the model's own weights, not copies
            got = model(input_ids=ids).logits
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)  # fp32: the same norm up to rounding
    assert {name: m for name, m in model.named_modules()} == before


def test_the_graph_fused_step_is_captured_with_fused_norms(loaded, prompts, monkeypatch):
    seen = []

    class Spy(EagerGraph):
        def _warm_up(self):
            seen.append(norm_types(loaded.model))
            super()._warm_up()

    monkeypatch.setattr(decode_loop, "GraphStep", Spy)
    monkeypatch.setattr(decode_loop, "step_mode", lambda device, mode=None: "graph-fused")
    monkeypatch.setattr(decode_loop, "_loops", type(decode_loop._loops)())
    config = greedy(loaded.tokenizer)
    assert generate_ids(loaded.model, prompts, config, method="loop") == generate_ids(
        loaded.model, prompts, config, method="plain")
    assert seen == [{"RMSNorm"}]  # captured with torch's norm ...
    assert norm_types(loaded.model) == {"LlamaRMSNorm"}  # ... and the model keeps its own
