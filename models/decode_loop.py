"""Our own batched decode loop: the ``loop`` method of ``models.batch_generate`` (batched eval, GRPO rollouts).

Why not ``generate`` with a static cache: profiled on the H100 at batch 100
(``benchmarks/gpu_decode_profile.py``), its compiled decode step spent ~4.8 ms building the causal +
padding mask over the whole cache and ~3.9 ms in attention over keys and values that SDPA first copies
three times (``repeat_kv``: SDPA takes grouped-query attention only without a mask), against ~0.75 ms
reading the weights. Here:

- the mask is one ``[batch, 1, 1, cache]`` tensor kept across steps (one column set per step) and passed
  to the model as a 4D mask, which transformers uses as it is: no mask is built inside the step;
- attention for the one new token treats the query heads that share a key/value head as that head's
  queries (``[batch, kv_heads, group, dim]``), so each cached key and value is read once, by SDPA;
- prefill is ``generate``'s own (same positions, same mask); sampling and stopping run outside the
  captured step, which is the model's forward for one token plus the last logits. On a GPU that step is
  replayed from one CUDA graph (``step_mode``: or compiled by inductor, as GRPO's rollouts take it); on a CPU
  it runs eagerly (and the tests compare it with ``generate`` token for token in fp32, greedy and seeded
  samples);
- sampling goes through transformers' own logits processors, built from the ``GenerationConfig`` in
  ``generate``'s order.

A loop keeps its static cache and captured step for the next call with the same batch and cache size
(eval calls it once per batch; GRPO once per generation round), so capturing or compiling is paid once.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from typing import Any, Sequence

ATTENTION = "scheduler_grouped_decode"
CHECK_EVERY = 16  # decode steps between checks that every row has stopped (each check waits for the GPU)
_registered = False
_lock = threading.Lock()


def grouped_decode_attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None,
                             is_causal=None, **kwargs):
    """SDPA for one new token per row with grouped query heads; anything else goes to transformers' SDPA."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    kv_heads = key.shape[1]
    if (query.shape[2] != 1 or attention_mask is None or attention_mask.ndim != 4 or dropout
            or kwargs.get("position_bias") is not None or query.shape[1] % kv_heads):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    batch, heads, _, dim = query.shape
    grouped = query.reshape(batch, kv_heads, heads // kv_heads, dim)  # a group's heads = its queries
    out = torch.nn.functional.scaled_dot_product_attention(grouped, key, value, attn_mask=attention_mask,
                                                           scale=scaling)
    return out.reshape(batch, 1, heads, dim), None  # (batch, query length, heads, dim), as SDPA's path returns


def register() -> None:
    """Make ``ATTENTION`` an attention implementation transformers knows (its masks: SDPA's)."""
    global _registered
    if _registered:
        return
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTENTION, grouped_decode_attention)
    AttentionMaskInterface.register(ATTENTION, sdpa_mask)
    _registered = True


@contextlib.contextmanager
def attention_implementation(config: Any, name: str):
    """``config`` uses attention ``name`` inside the block, and its own again after (training is untouched)."""
    previous = config._attn_implementation
    config._attn_implementation = name
    try:
        yield
    finally:
        config._attn_implementation = previous


# ---------------------------------------------------------------------------------------------- sampling

# The GenerationConfig fields this loop implements (the rest of ``to_diff_dict()`` sends a call to ``generate``):
# stopping and padding, and the settings whose logits processors ``logits_processors`` builds.
IMPLEMENTED = frozenset({
    "max_new_tokens", "do_sample", "temperature", "top_k", "top_p", "min_p", "repetition_penalty",
    "eos_token_id", "pad_token_id", "bos_token_id",
    # How generate would run or what it would return besides the ids: moot for the loop, which always caches.
    "cache_implementation", "disable_compile", "transformers_version", "_from_model_config", "use_cache",
    "output_attentions", "output_hidden_states", "output_scores", "output_logits", "return_dict_in_generate",
})


def unsupported(config: Any) -> list[str]:
    """The settings of ``config`` (those it sets away from transformers' defaults) this loop does not implement."""
    skipped = [f"{name}={value!r}" for name, value in config.to_diff_dict().items() if name not in IMPLEMENTED]
    if not config.max_new_tokens:  # a length budget given only as max_length (prompt included)
        skipped.append(f"max_new_tokens={config.max_new_tokens!r}")
    if config.do_sample and config.top_k is None:  # generate fills an unset top_k with a global default of its own
        skipped.append("top_k=None (set it; 0 turns top-k off)")
    return skipped


def logits_processors(config: Any):
    """transformers' own processors for ``config``, in ``generate``'s order: the repetition penalty, then (when
    sampling) temperature, top-k, top-p and min-p."""
    from transformers import (LogitsProcessorList, MinPLogitsWarper, RepetitionPenaltyLogitsProcessor,
                              TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper)

    processors = LogitsProcessorList()
    if config.repetition_penalty not in (None, 1.0):
        processors.append(RepetitionPenaltyLogitsProcessor(penalty=config.repetition_penalty))
    if config.do_sample:
        if config.temperature not in (None, 1.0):
            processors.append(TemperatureLogitsWarper(config.temperature))
        if config.top_k:
            processors.append(TopKLogitsWarper(top_k=config.top_k))
        if config.top_p is not None and config.top_p < 1.0:
            processors.append(TopPLogitsWarper(top_p=config.top_p))
        if config.min_p is not None:
            processors.append(MinPLogitsWarper(min_p=config.min_p))
    return processors


def pick_tokens(sequences, logits, config: Any, processors=None):
    """Next token per row from fp32 logits after ``sequences`` (prompt and tokens so far, as ``generate`` passes
    them to its processors): the processed logits' argmax, or a draw from their softmax."""
    import torch

    if processors is None:
        processors = logits_processors(config)
    scores = processors(sequences, logits) if processors else logits
    if not config.do_sample:
        return scores.argmax(-1)
    return torch.multinomial(scores.softmax(-1), 1).squeeze(-1)


# ------------------------------------------------------------------------------------------------ loop

# How a GPU runs the step: "graph" captures the eager step in one CUDA graph (no compiler: ~1-2 s to capture; the
# default: eval and the app pay it once per process), "graph-fused" the same with every RMSNorm captured as torch's
# one-kernel ``rms_norm`` (``fused_norms``: 1.21x faster a step on random weights, tokens may differ in bf16),
# "inductor" compiles it with torch.compile's reduce-overhead mode (fused kernels, 1.4x faster a step, ~30-38 s to
# compile on a fresh machine: GRPO's rollouts, hundreds of calls in one process, take it through ``rollout_step``).
# benchmarks/decode_compile.py measures them.
STEP_MODES = ("graph", "graph-fused", "inductor", "eager")
DEFAULT_STEP_MODE = "graph"


def rms_norm_modules(model: Any) -> list[tuple[str, Any]]:
    """(name, module) of every RMSNorm of ``model``: a module class named ``*RMSNorm`` with a ``weight`` parameter
    and ``variance_epsilon``, as transformers' Llama and Qwen2 norms are."""
    import torch

    return [(name, module) for name, module in model.named_modules()
            if type(module).__name__.endswith("RMSNorm") and hasattr(module, "variance_epsilon")
            and isinstance(getattr(module, "weight", None), torch.nn.Parameter)]


@contextlib.contextmanager
def fused_norms(model: Any):
    """Every RMSNorm of ``model`` (a module class named ``*RMSNorm`` with ``weight`` and ``variance_epsilon``, as
    transformers' Llama and Qwen2 norms are) swapped for ``torch.nn.RMSNorm`` on the same weight while the block
    runs, then put back: one fused kernel where transformers' norm launches eight. Yields how many were swapped.

    Meant around a CUDA graph's capture: the graph keeps the fused kernels, the model keeps its own modules (for
    prefill, training and every other caller). torch's kernel applies the weight inside, rounding once fewer than
    transformers' norm in bf16; in fp32 the two agree to rounding."""
    import torch

    swapped = rms_norm_modules(model)
    for name, module in swapped:
        fused = torch.nn.RMSNorm(tuple(module.weight.shape), eps=module.variance_epsilon, device="meta")
        fused.weight = module.weight
        model.set_submodule(name, fused)
    try:
        yield len(swapped)
    finally:
        for name, module in swapped:
            model.set_submodule(name, module)


def step_mode(device: Any, mode: str | None = None) -> str:
    """The step mode on ``device``: eager off a GPU; else ``mode`` (a caller's own, e.g. GRPO's ``rollout_step``),
    else ``SCHEDULER_DECODE_STEP``, else the default."""
    if not str(device).startswith("cuda"):
        return "eager"
    mode = mode or os.environ.get("SCHEDULER_DECODE_STEP") or DEFAULT_STEP_MODE
    if mode not in STEP_MODES:
        raise ValueError(f"The decode step must be one of {', '.join(STEP_MODES)} (SCHEDULER_DECODE_STEP or "
                         f"rollout_step), not {mode!r}.")
    return mode


class GraphStep:
    """A function of tensors replayed from one CUDA graph: captured at the first call (after two warm-up runs on
    a side stream, as CUDA graphs need), then each call copies its arguments into the captured inputs and
    replays. The returned tensor is the graph's own output, overwritten by the next call.

    The warm-ups really run: whatever ``fn`` changes in place besides its output, they change too (twice), and
    the capture runs nothing. ``DecodeLoop`` therefore captures on a cache it then resets."""

    warmups = 2

    def __init__(self, fn):
        self.fn, self.graph, self.inputs, self.output, self.captured = fn, None, None, None, False

    def __call__(self, *args):
        if not self.captured:
            self.inputs = [a.clone() for a in args]
            self._warm_up()
            self.output = self._capture()
            self.captured = True
        else:
            for static, arg in zip(self.inputs, args):
                static.copy_(arg)
        self._replay()
        return self.output

    def _warm_up(self) -> None:
        import torch

        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(self.warmups):
                self.fn(*self.inputs)
        torch.cuda.current_stream().wait_stream(stream)

    def _capture(self):
        import torch

        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            return self.fn(*self.inputs)

    def _replay(self) -> None:
        self.graph.replay()


class DecodeLoop:
    """A static cache of ``batch`` rows x ``cache_len`` positions and the step that decodes into it."""

    def __init__(self, model: Any, batch: int, cache_len: int, mode: str = "eager"):
        import torch
        from transformers import StaticCache

        self.model, self.batch, self.cache_len = model, batch, cache_len
        self.config = model.config
        self.cache = StaticCache(config=self.config, max_cache_len=cache_len)
        self.device = model.device
        # True where a row may attend: its prompt's real tokens, then every generated position so far.
        self.valid = torch.zeros((batch, 1, 1, cache_len), dtype=torch.bool, device=self.device)
        if mode == "inductor":
            self.step = torch.compile(self._step, mode="reduce-overhead", dynamic=False)
        elif mode in ("graph", "graph-fused"):
            self.step = GraphStep(self._step)
        else:
            self.step = self._step
        self.fuse_norms = mode == "graph-fused"

    def _step(self, token, position, cache_position, valid):
        import torch

        dtype = self.model.get_input_embeddings().weight.dtype
        bias = torch.zeros(valid.shape, dtype=dtype, device=valid.device).masked_fill(~valid, torch.finfo(dtype).min)
        out = self.model(input_ids=token, position_ids=position, cache_position=cache_position, attention_mask=bias,
                         past_key_values=self.cache, use_cache=True, logits_to_keep=1)
        return out.logits[:, -1].float()

    def _capture(self) -> None:
        """Capture the graph step on a dummy token, before any prompt is in the cache (``run`` resets it after).

        transformers' static cache writes each step's key and value where its own position counter says (it
        ignores ``cache_position``) and advances it in place, so the capture's two warm-ups advance it by two:
        captured in the middle of a decode, they would shift every later key and value by two positions."""
        import torch

        token = torch.zeros((self.batch, 1), dtype=torch.long, device=self.device)
        with torch.no_grad():
            # the cache's tensors exist from its first update on: the capture must see them
            self.model(input_ids=token, position_ids=token, past_key_values=self.cache, use_cache=True, logits_to_keep=1)
            fuse = fused_norms(self.model) if self.fuse_norms else contextlib.nullcontext()
            with attention_implementation(self.config, ATTENTION), fuse:
                self.step(token, token, torch.zeros(1, dtype=torch.long, device=self.device), self.valid)

    def run(self, input_ids, mask, config: Any, eos: Sequence[int], pad_id: int, max_new_tokens: int):
        """Token ids ``[batch, n]`` (n ≤ ``max_new_tokens``) after the left-padded prompts; finished rows
        continue with ``pad_id``, as ``generate`` pads them."""
        import torch

        batch, width = input_ids.shape
        processors = logits_processors(config)
        # Prompt and tokens so far, for processors that read them (the repetition penalty), as generate has them.
        sequences = torch.cat([input_ids, torch.full((batch, max_new_tokens), pad_id, dtype=torch.long,
                                                     device=self.device)], dim=1)
        if isinstance(self.step, GraphStep) and not self.step.captured:
            self._capture()
        self.cache.reset()
        self.valid.zero_()
        self.valid[:, 0, 0, :width] = mask.bool()
        positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 1)  # generate's position ids
        eos_t = torch.as_tensor(list(eos), dtype=torch.long, device=self.device)
        done = torch.zeros(batch, dtype=torch.bool, device=self.device)
        with torch.no_grad():
            logits = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                                cache_position=torch.arange(width, device=self.device), past_key_values=self.cache,
                                use_cache=True, logits_to_keep=1).logits[:, -1].float()
            position = positions[:, -1:].clone()
            n = 0
            with attention_implementation(self.config, ATTENTION):
                while True:
                    token = pick_tokens(sequences[:, :width + n], logits, config, processors).masked_fill(done, pad_id)
                    sequences[:, width + n] = token
                    done |= torch.isin(token, eos_t)
                    n += 1
                    if n == max_new_tokens or (n % CHECK_EVERY == 0 and bool(done.all())):
                        break
                    t = width + n - 1  # the cache position of the token fed now
                    self.valid[:, 0, 0, t] = True
                    position = position + 1
                    logits = self.step(token[:, None], position, torch.tensor([t], device=self.device), self.valid)
        return sequences[:, width:width + n]


_loops: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def loop_for(model: Any, batch: int, cache_len: int, step: str | None = None) -> DecodeLoop:
    """A loop of the model with room for ``batch`` rows and ``cache_len`` positions, its step in mode ``step``
    (``step_mode``): an existing one with up to twice the rows and up to 1,024 more positions (an eval's last,
    smaller batch or a batch of shorter prompts then costs no new capture or compile), else a new one."""
    register()
    mode = step_mode(model.device, step)
    with _lock:
        loops = _loops.setdefault(model, {}).setdefault(mode, {})
        fits = [(c, b) for (b, c) in loops if batch <= b <= 2 * batch and cache_len <= c <= cache_len + 1024]
        key = tuple(reversed(min(fits))) if fits else (batch, cache_len)
        if key not in loops:
            loops[key] = DecodeLoop(model, batch, cache_len, mode=mode)
        return loops[key]


def decode(model: Any, input_ids, mask, config: Any, eos: Sequence[int], pad_id: int, cache_multiple: int = 64,
           step: str | None = None):
    """Generated ids ``[batch, n]`` for left-padded prompts (``config``: a ``GenerationConfig``; ``step``: the
    step mode, see ``step_mode``)."""
    import torch

    max_new = int(config.max_new_tokens)
    cache_len = -(-(input_ids.shape[1] + max_new) // cache_multiple) * cache_multiple
    batch = input_ids.shape[0]
    loop = loop_for(model, batch, cache_len, step)
    if loop.batch > batch:  # fill the loop's rows with copies of the first prompt, dropped after
        extra = loop.batch - batch
        input_ids = torch.cat([input_ids, input_ids[:1].expand(extra, -1)])
        mask = torch.cat([mask, mask[:1].expand(extra, -1)])
    return loop.run(input_ids, mask, config, eos, pad_id, max_new)[:batch]
