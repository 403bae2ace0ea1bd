"""A lean greedy decoder for one conversation at a time: the CPU demo's fast path.

Why not ``model.generate``: its own per-step overhead is small on the 2-core CPU (the lean loop alone
is 2 % faster), but it cannot do the two things that pay here:

- **Prefix cache**: every prompt of the app starts with the same system prompt and user template
  (~400 tokens); their KV cache is computed once per model and copied for each request, so only
  the problem's own tokens are prefilled.
- **Prompt lookup** (speculative decoding with n-grams of the context as the draft): an answer copies
  event names and times from the prompt, so the tokens that followed the last n-gram's earlier
  occurrence are proposed and verified in one forward pass; the longest prefix that matches the
  model's own argmax is kept. Greedy decoding stays greedy: every kept token is the model's argmax.
- **Hint drafts**: a caller may pass a text the answer is likely to resemble (the app passes the
  solver's reference answer, the very format the tuned model was trained to write). Drafts then come
  from the hint first, read forward from where the last accepted draft ended, and from the context
  otherwise. The hint only proposes; the model verifies every token, so what comes out is still the
  model's own greedy answer, token for token (a model that ignores the hint pays for a few wrong drafts).
- **Growing drafts** (``max_draft``): a draft taken whole doubles the next one, up to ``max_draft``; a forward
  over 48 tokens costs ~2.4x one over a single token on the 2-core CPU, and a tuned model follows its hint for
  long runs (the tuned lane 25-36% faster in the page; benchmarks/RESULTS.md, "Longer drafts").

Outputs are the same greedy tokens as ``generate`` up to floating-point ties (a forward pass over
several tokens rounds differently from one over a single token); the tests and
``benchmarks/cpu_generation.py`` check token-for-token equality on real problems.
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Iterator, Sequence


def prompt_lookup(context: Sequence[int], max_ngram: int = 4, num_tokens: int = 12, min_ngram: int = 1) -> list[int]:
    """Draft tokens: what followed the latest earlier occurrence of the context's last n-gram.

    Longest n-gram first (more specific); the most recent earlier match wins (answers repeat what they
    just wrote more often than what the prompt said first). Empty when no n-gram of at least
    ``min_ngram`` tokens matches.
    """
    n_ctx = len(context)
    for n in range(min(max_ngram, n_ctx - 1), max(1, min_ngram) - 1, -1):
        tail = list(context[n_ctx - n :])
        for start in range(n_ctx - n - 1, -1, -1):
            if list(context[start : start + n]) == tail:
                follow = list(context[start + n : start + n + num_tokens])
                if follow:
                    return follow
    return []


def hint_lookup(context: Sequence[int], hint: Sequence[int], cursor: int, max_ngram: int = 4,
                num_tokens: int = 12, min_ngram: int = 2) -> tuple[list[int], int]:
    """(draft, where it starts in ``hint``): what follows the context's last n-gram in the hint.

    The longest n-gram that occurs in the hint wins; among its occurrences, the one whose end is nearest
    ``cursor`` (where the last accepted hint draft ended), the later one on a tie. An answer mostly moves
    forward through its hint, but after it departs from it (another decision, another total) it may
    rejoin it further on or repeat a phrase from before: searching only forward lost the thread on
    real answers. ``([], cursor)`` when nothing matches.
    """
    n_ctx = len(context)
    for n in range(min(max_ngram, n_ctx), max(1, min_ngram) - 1, -1):
        tail = list(context[n_ctx - n :])
        best = None
        for start in range(len(hint) - n):
            if list(hint[start : start + n]) == tail:
                distance = abs(start + n - cursor)
                if best is None or distance <= best[0]:
                    best = (distance, start + n)
        if best is not None:
            return list(hint[best[1] : best[1] + num_tokens]), best[1]
    return [], cursor


class GreedyDecoder:
    """Greedy decoding of one sequence with a cached shared prefix and optional prompt lookup.

    Thread-safe for concurrent ``decode`` calls: each call works on its own copy of the prefix cache.
    """

    # Defaults chosen by replaying real answers of the embedded pair (benchmarks/RESULTS.md, issue 6): a
    # one-token match guesses wrong too often, and a wrong draft is not free (a forward over 2+ tokens
    # costs ~1.5x one over a single token on the 2-core CPU), so drafts need a 2-gram match.
    # Hint drafts stay on while they gain at least one token per draft on average, judged after this many
    # (the base model of the demo ignores the solver's answer: hint drafts slowed it down by up to 25%).
    HINT_PROBATION = 8

    def __init__(self, model: Any, eos_ids: set[int], lookup_tokens: int = 12, max_ngram: int = 4, min_ngram: int = 2,
                 max_draft: int | None = None):
        self.model = model
        self.eos_ids = set(eos_ids)
        self.lookup_tokens = lookup_tokens
        # A draft the model took whole doubles the next one, up to max_draft; any miss goes back to lookup_tokens.
        self.max_draft = max(lookup_tokens, max_draft if max_draft is not None else lookup_tokens)
        self.max_ngram = max_ngram
        self.min_ngram = min_ngram
        self._prefix_ids: list[int] = []
        self._prefix_cache = None
        self._lock = threading.Lock()
        self.stats = {"forwards": 0, "tokens": 0, "prefilled": 0, "hint_drafts": 0}

    def cache_prefix(self, prefix_ids: Sequence[int]) -> None:
        """Compute and keep the KV cache of ``prefix_ids`` (the shared start of every prompt)."""
        import torch

        ids = list(prefix_ids)
        if not ids:
            return
        with torch.inference_mode():
            out = self.model(torch.tensor([ids], device=self.model.device), use_cache=True, logits_to_keep=1)
        with self._lock:
            self._prefix_ids, self._prefix_cache = ids, out.past_key_values

    def _start(self, ids: list[int]):
        """(cache, tokens still to prefill): the prefix cache when the prompt starts with it."""
        with self._lock:
            prefix, cache = self._prefix_ids, self._prefix_cache
        if cache is not None and len(ids) > len(prefix) and ids[: len(prefix)] == prefix:
            return copy.deepcopy(cache), ids[len(prefix) :]
        return None, ids

    def decode(self, prompt_ids: Sequence[int], max_new_tokens: int,
               stop: threading.Event | None = None, hint_ids: Sequence[int] | None = None) -> Iterator[list[int]]:
        """Yield the new tokens of each step (one or more) until EOS, ``max_new_tokens`` or ``stop``.

        The EOS token, when reached, is the last token yielded, as ``generate`` returns it.
        ``hint_ids``: tokens the answer is likely to follow (see the module docstring); drafts only.
        """
        import torch

        ids = list(prompt_ids)
        device = self.model.device
        cache, todo = self._start(ids)
        with torch.inference_mode():
            out = self.model(torch.tensor([todo], device=device), past_key_values=cache, use_cache=True, logits_to_keep=1)
            self.stats["prefilled"] += len(todo)
            cache = out.past_key_values
            token = int(out.logits[0, -1].argmax())
            context = ids + [token]
            produced = 1
            hint, cursor = list(hint_ids or []), 0
            hint_tries = hint_gain = 0  # hint drafts tried, and the draft tokens the model agreed with
            span = self.lookup_tokens  # the next draft's length
            yield [token]
            while token not in self.eos_ids and produced < max_new_tokens and not (stop and stop.is_set()):
                room = max_new_tokens - produced - 1
                draft, from_hint = [], None
                if self.lookup_tokens and room > 0:
                    if hint and hint_tries >= self.HINT_PROBATION and hint_gain < hint_tries:
                        hint = []  # a model that does not write like its hint: wrong drafts only cost time
                    if hint:
                        draft, from_hint = hint_lookup(context[len(ids):], hint, cursor, self.max_ngram,
                                                       min(span, room), self.min_ngram)
                    if not draft:
                        from_hint = None
                        draft = prompt_lookup(context, self.max_ngram, min(span, room), self.min_ngram)
                feed = [token] + draft
                out = self.model(torch.tensor([feed], device=device), past_key_values=cache, use_cache=True,
                                 logits_to_keep=len(feed))
                self.stats["forwards"] += 1
                best = out.logits[0].argmax(-1).tolist()  # the model's choice after each fed token
                accepted: list[int] = []
                for i, choice in enumerate(best):
                    accepted.append(choice)
                    if choice in self.eos_ids or i == len(draft) or draft[i] != choice:
                        break
                # The cache now holds every fed token; keep those whose successor was accepted.
                kept = len(context) + len(accepted) - 1
                extra = cache.get_seq_length() - kept
                if extra > 0:
                    cache.crop(-extra)  # a negative count drops that many tokens from the end
                if from_hint is not None:
                    self.stats["hint_drafts"] += 1
                    hint_tries += 1
                    hint_gain += len(accepted) - 1
                    if len(accepted) > 1:  # the model agreed with some of it: read on from there
                        cursor = from_hint + len(accepted) - 1
                whole = bool(draft) and len(accepted) == len(draft) + 1 and accepted[-1] not in self.eos_ids
                span = min(2 * span, self.max_draft) if whole else self.lookup_tokens
                context.extend(accepted)
                produced += len(accepted)
                token = accepted[-1]
                self.stats["tokens"] += len(accepted)
                yield accepted
