"""Generation backends behind one interface, used by the app (streaming) and eval (batches).

- ``TransformersBackend``: bf16 on a GPU, fp32 on a CPU unless ``dtype`` says otherwise (the app asks for
  "fast": bf16 also on a CPU with native bf16). Batches go through ``models.batch_generate``:
  ``models.decode_loop``, our decode loop (its step one CUDA graph on a GPU, eager on a CPU), unless
  ``method`` says ``plain`` (``generate``, the reference). Greedy streaming on a CPU (the demo) uses
  ``models.fast_decode`` (prefix cache + prompt lookup); other streaming, ``generate`` in a thread.
- ``VLLMBackend``: where ``vllm`` imports, with CUDA (the default there) or the ``vllm-cpu`` build (only when
  asked for: ``--backend vllm``). A plain LoRA adapter is served with a ``LoRARequest`` on an engine shared
  with its base model; an adapter with embedding LoRA or ``modules_to_save`` (one extracted from a full
  fine-tune) as a merged copy, made once.
- ``HeuristicBackend`` (``models.heuristics``): rules that need no model, for baselines.

The interface they implement (``Backend``, ``SamplingSettings``, ``GenerationResult``) is
``models.backend``. Both model backends load the same peft adapter folders (``adapter_config.json`` +
``adapter_model.safetensors``). Every call takes ``SamplingSettings``; the backends apply exactly
those (a model's own ``generation_config`` defaults such as top_k or repetition_penalty are not
used), so what a run records is what ran.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import threading
from typing import Any, Iterator, Sequence

# The interface (models.backend), imported from there by every backend; still importable from here.
from models.backend import Backend, GenerationResult, Messages, SamplingSettings
from models.errors import ModelLoadError
from models.specs import ModelSpec

BACKENDS = ("auto", "transformers", "vllm")


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class TransformersBackend(Backend):
    name = "transformers"

    def __init__(self, spec: ModelSpec, device: str | None = None, trust_remote_code: bool = False,
                 fast: bool = True, method: str = "loop", dtype: str | None = None):
        from transformers import GenerationConfig

        from models.batch_generate import METHODS
        from models.loading import load_model

        if method not in METHODS:
            raise ModelLoadError(f"Unknown generation method {method!r}; choose from {', '.join(METHODS)}.")
        super().__init__(spec)
        self.loaded = load_model(spec, device=device, dtype=dtype, trust_remote_code=trust_remote_code)
        self.model, self.tokenizer = self.loaded.model, self.loaded.tokenizer
        self.default_batch_size = 64 if self.loaded.device.startswith("cuda") else 8
        own = self.model.generation_config
        eos = own.eos_token_id if isinstance(own.eos_token_id, list) else [own.eos_token_id]
        eos = [t for t in dict.fromkeys(eos + [self.tokenizer.eos_token_id]) if t is not None]
        self.eos_ids = set(eos)
        # Only the token ids survive from the model's defaults; SamplingSettings decide the rest.
        self.model.generation_config = GenerationConfig(
            eos_token_id=eos, pad_token_id=self.tokenizer.pad_token_id, bos_token_id=own.bos_token_id
        )
        # On a CPU, greedy streaming goes through the lean decoder (models.fast_decode): the demo pair's
        # answers came 1.4-3.9x faster than with generate, token for token the same (benchmarks/RESULTS.md,
        # issue 6). The shared prompt prefix's KV cache is computed here, once, so a request prefills only
        # its own problem (first token 0.5 s instead of 1.25 s).
        self.method = method
        self.fast = None
        if fast and self.loaded.device == "cpu":
            from models.fast_decode import GreedyDecoder

            # Drafts of 24 tokens that grow to 96 when taken whole: a forward over 48 costs ~2.4x one over a single
            # token on the 2-core CPU, and the session-7 model follows its hint for long runs; against 12 growing to
            # 48, test #0-#3 took 15% less time in the tuned lane and 14% less in the base lane, the same tokens
            # (benchmarks/draft_sizes.py; benchmarks/RESULTS.md, "The Space in a browser, session 7").
            self.fast = GreedyDecoder(self.model, self.eos_ids, lookup_tokens=24, max_draft=96)
            self.fast.cache_prefix(self.shared_prefix_ids())

    def info(self) -> dict:
        info = {"backend": self.name, **self.loaded.info(), "method": self.method}
        if self.method == "loop":
            from models.decode_loop import step_mode

            info["decode_step"] = step_mode(self.loaded.device)  # graph, inductor or eager: tokens may differ in bf16
        return info

    def _generation_config(self, settings: SamplingSettings):
        config = copy.deepcopy(self.model.generation_config)
        config.update(max_new_tokens=settings.max_new_tokens, do_sample=not settings.greedy)
        if not settings.greedy:
            # top_k=0 turns off transformers' default top-k of 50: plain temperature + top-p, as vLLM samples.
            config.update(temperature=settings.temperature, top_p=settings.top_p, top_k=0)
        return config

    def _encode(self, conversations: Sequence[Messages]):
        texts = [self.tokenizer.apply_chat_template(list(c), tokenize=False, add_generation_prompt=True)
                 for c in conversations]
        # The chat template already writes any special tokens the model expects.
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        return enc.to(self.model.device)

    def shared_prefix_ids(self) -> list[int]:
        """The tokens every scheduling prompt starts with (system prompt + user template), less one.

        Found as the common start of two prompts that differ only in the problem; the last common token
        is dropped because a tokenizer may merge it with what follows.
        """
        from scheduler import build_messages

        a, b = (self._encode([build_messages(text)])["input_ids"][0].tolist() for text in ("A", "Z"))
        n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        return a[: max(0, n - 1)]

    def generate(self, conversations, settings, batch_size=None):
        import torch

        from models.batch_generate import generate_ids

        out: list[GenerationResult] = []
        config = self._generation_config(settings)
        if not settings.greedy:
            torch.manual_seed(settings.seed)
        for chunk in _chunks(list(conversations), batch_size or self.default_batch_size):
            prompts = [self._encode([c])["input_ids"][0].tolist() for c in chunk]
            for ids in generate_ids(self.model, prompts, config, method=self.method,
                                    pad_id=self.tokenizer.pad_token_id):
                text = self.tokenizer.decode(ids, skip_special_tokens=True)
                out.append(GenerationResult(text, len(ids)))
        return out

    def _fast_inputs(self, messages, hint):
        """The prompt's token ids and the hint's (None without one), as the lean decoder takes them."""
        ids = self._encode([messages])["input_ids"][0].tolist()
        return ids, (self.tokenizer(hint, add_special_tokens=False)["input_ids"] if hint else None)

    def answer(self, messages, settings, hint=None):
        """One greedy reply on a CPU through the lean decoder, drafting from ``hint`` (eval.run --hint); else
        ``generate``. The tokens are the greedy ones either way; the count includes the EOS, as ``generate``'s."""
        if self.fast is None or not settings.greedy:
            return super().answer(messages, settings, hint)
        ids, hint_ids = self._fast_inputs(messages, hint)
        tokens = [t for step in self.fast.decode(ids, settings.max_new_tokens, hint_ids=hint_ids) for t in step]
        text = self.tokenizer.decode([t for t in tokens if t not in self.eos_ids], skip_special_tokens=True)
        return GenerationResult(text, len(tokens))

    def stream(self, messages, settings, hint=None):
        """The reply as it grows: the lean decoder for greedy decoding on a CPU (with ``hint`` drafts), else
        ``generate``."""
        if self.fast is not None and settings.greedy:
            return self._stream_fast(messages, settings, hint)
        return self._stream_generate(messages, settings)

    def _stream_fast(self, messages, settings, hint=None):
        """Greedy tokens from ``GreedyDecoder``, decoded to text as they come; closing stops it."""
        ids, hint_ids = self._fast_inputs(messages, hint)
        tokens: list[int] = []
        shown = ""
        for step in self.fast.decode(ids, settings.max_new_tokens, hint_ids=hint_ids):
            tokens.extend(t for t in step if t not in self.eos_ids)
            text = self.tokenizer.decode(tokens, skip_special_tokens=True)
            # A token may end inside a multi-byte character: wait for the rest rather than show "\ufffd".
            if text != shown and not text.endswith("\ufffd"):
                shown = text
                yield text
        final = self.tokenizer.decode(tokens, skip_special_tokens=True)
        if final != shown:
            yield final

    def _stream_generate(self, messages, settings):
        """Generation runs in a thread feeding a TextIteratorStreamer; closing the iterator stops it."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        stop = threading.Event()

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return torch.full((input_ids.shape[0],), stop.is_set(), dtype=torch.bool, device=input_ids.device)

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        enc = self._encode([messages])
        errors: list[BaseException] = []

        def run() -> None:
            try:
                if not settings.greedy:
                    torch.manual_seed(settings.seed)
                with torch.inference_mode():
                    self.model.generate(**enc, generation_config=self._generation_config(settings), streamer=streamer,
                                        stopping_criteria=StoppingCriteriaList([_Stop()]))
            except BaseException as err:  # surfaced in the caller's thread below
                errors.append(err)
                streamer.end()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        text = ""
        try:
            for piece in streamer:
                text += piece
                yield text
        finally:
            stop.set()
            thread.join()
        if errors:
            raise errors[0]


def vllm_cpu_build() -> bool:
    """The installed vLLM is the CPU build (the ``vllm-cpu`` distribution, ``requirements-vllm.txt``)."""
    import importlib.metadata as md

    try:
        md.distribution("vllm-cpu")
    except md.PackageNotFoundError:
        return False
    return True


def vllm_available(device: str | None = None) -> bool:
    """vLLM can serve here: the package imports and either a CUDA device is present (``device`` None or
    "cuda") or the installed build is vLLM's CPU build (``device`` None or "cpu")."""
    if importlib.util.find_spec("vllm") is None:
        return False
    if device in (None, "cpu") and vllm_cpu_build():
        return True
    import torch

    return device in (None, "cuda") and torch.cuda.is_available()


def adapter_needs_merge(adapter: str | Any) -> list[str]:
    """Why vLLM's ``LoRARequest`` cannot serve this peft adapter as it is meant (empty: it can).

    vLLM applies LoRA to linear layers only. An adapter extracted from a full fine-tune
    (``training.extract_lora``) also has LoRA factors on ``embed_tokens`` (tied to the output head in
    SmolLM2: only merging changes the head too) and whole modules in ``modules_to_save`` (the norms);
    it is the fine-tune only when merged, so such an adapter is served as a merged copy."""
    from pathlib import Path

    config = json.loads((Path(adapter) / "adapter_config.json").read_text(encoding="utf-8"))
    targets = config.get("target_modules") or []
    reasons = []
    if isinstance(targets, str):  # a regex over module names
        if re.search(r"embed_tokens|lm_head|wte|embed_in", targets):
            reasons.append(f"target_modules (a pattern) reaches the embedding or head: {targets!r}")
    else:
        embedding = sorted(t for t in targets if t in ("embed_tokens", "lm_head", "wte", "embed_in")
                           or t.endswith((".embed_tokens", ".lm_head")))
        if embedding:
            reasons.append(f"LoRA on {', '.join(embedding)}")
    if config.get("modules_to_save"):
        reasons.append(f"modules_to_save: {', '.join(config['modules_to_save'])}")
    if config.get("trainable_token_indices"):
        reasons.append("trainable_token_indices")
    return reasons


SERVE_LORA = ("request", "merge")


def adapter_merge_reasons(adapter: str | Any, device: str, serve_lora: str | None = None) -> list[str]:
    """Why ``VLLMBackend`` serves this adapter as a merged copy; empty: with a ``LoRARequest``.

    An adapter vLLM's LoRA cannot apply as meant (``adapter_needs_merge``) is always merged. A plain LoRA goes
    through ``LoRARequest`` on a GPU and is merged on a CPU (``serve_lora`` None), or as ``serve_lora`` says: on
    vLLM's CPU build the LoRA kernels are slow enough that the shipped r128 LoRA's 100 test prompts stopped on
    the engine's RPC timeout (``execute_model``, session 16), where a merged copy serves at the base model's speed."""
    if serve_lora not in (None, *SERVE_LORA):
        raise ValueError(f"serve_lora must be one of {', '.join(SERVE_LORA)} (or None), not {serve_lora!r}.")
    reasons = adapter_needs_merge(adapter)
    if reasons or serve_lora == "request" or (serve_lora is None and device != "cpu"):
        return reasons
    return ["asked for a merged copy" if serve_lora == "merge" else "vLLM's CPU build (its LoRA kernels are slow)"]


def merged_adapter_folder(spec: ModelSpec, model_path: str) -> "Path":
    """A merged copy of ``spec`` (base + adapter) that vLLM loads as a plain model; made once.

    Merged as the transformers backend merges (``models.loading.load_model``, fp32 on the CPU), saved
    with its tokenizer into ``<cache>/merged/<adapter weights sha256>-<base path hash>``; built in a
    temporary folder and renamed into place, so a killed merge leaves nothing half-written."""
    import hashlib
    import os
    import tempfile
    from pathlib import Path

    import torch

    from eval.results import weights_sha256
    from models.loading import load_model
    from models.provision import _locked, cache_dir

    sha = weights_sha256(spec.adapter)
    base = hashlib.sha256(str(Path(model_path).expanduser().resolve() if Path(model_path).is_dir()
                              else model_path).encode("utf-8")).hexdigest()[:12]
    root = cache_dir() / "merged"
    target = root / f"{sha}-{base}"
    done = target / "merged.json"
    if done.is_file():
        return target
    with _locked(root):
        if done.is_file():
            return target
        loaded = load_model(spec, device="cpu", dtype=torch.float32)
        with tempfile.TemporaryDirectory(prefix=".merge-", dir=root) as tmp:
            build = Path(tmp) / "model"
            loaded.model.save_pretrained(build, safe_serialization=True)
            loaded.tokenizer.save_pretrained(build)
            (build / "merged.json").write_text(json.dumps(
                {"model": spec.model, "model_path": model_path, "adapter": str(spec.adapter),
                 "adapter_weights_sha256": sha, "dtype": "float32", "merged_by": "models.loading.load_model"},
                indent=2) + "\n", encoding="utf-8")
            if target.exists():  # an incomplete copy (no merged.json)
                import shutil

                shutil.rmtree(target)
            os.replace(build, target)
    return target


# One engine per served model folder, shared by the base and its LoRA adapters: {path: (LLM, lora enabled)}.
_VLLM_ENGINES: dict[str, tuple[Any, bool]] = {}
_VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


CPU_MEMORY_FRACTION = 0.5  # vLLM-CPU's share of the machine's memory (its ``gpu_memory_utilization``)


class VLLMBackend(Backend):
    """vLLM's offline ``LLM`` engine, on a CUDA GPU or (the ``vllm-cpu`` build) on the CPU.

    A plain LoRA adapter (linear layers only) is served with a ``LoRARequest`` on the base model's
    engine on a GPU, and merged on a CPU (``adapter_merge_reasons``; ``serve_lora`` overrides it). An adapter
    vLLM's LoRA cannot apply as meant (``adapter_needs_merge``: embedding LoRA, ``modules_to_save``) is
    always merged once into a cached copy and that is served, without LoRA.
    ``dtype``: bfloat16 by default (on a CPU too: vLLM's CPU kernels are bf16-first); "float32" on a CPU
    gives the transformers backend's precision."""

    name = "vllm"
    default_batch_size = 512  # vLLM schedules its own batches; this only sets how often eval saves

    def __init__(self, spec: ModelSpec, trust_remote_code: bool = False, dtype: str | None = None,
                 device: str | None = None, serve_lora: str | None = None, **engine_kwargs: Any):
        from models.loading import resolve_model_path, validate_adapter

        super().__init__(spec)
        if device is None:
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.dtype = dtype or "bfloat16"
        self.model_path = resolve_model_path(spec.model)
        self.served_path = self.model_path
        self.lora_request = None
        self.merged_because: list[str] = []
        rank = 0
        if spec.adapter:
            adapter = validate_adapter(spec.adapter)
            self.merged_because = adapter_merge_reasons(adapter, device, serve_lora)
            if self.merged_because:
                self.served_path = str(merged_adapter_folder(spec, self.model_path))
            else:
                rank = int(json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8")).get("r", 16))
                from vllm.lora.request import LoRARequest

                self.lora_request = LoRARequest(adapter.name, 1, str(adapter))  # (name, id, path)
        self.llm = self._engine(rank, trust_remote_code, engine_kwargs)

    def _engine(self, rank: int, trust_remote_code: bool, engine_kwargs: dict):
        key = f"{self.served_path}|{self.dtype}"
        cached = _VLLM_ENGINES.get(key)
        if cached is not None and (cached[1] or not rank):
            return cached[0]
        from vllm import LLM

        kwargs: dict[str, Any] = {"model": self.served_path, "dtype": self.dtype, "trust_remote_code": trust_remote_code,
                                  "load_format": "safetensors", **engine_kwargs}  # never a pickled .bin
        if self.device == "cpu":
            # On the CPU backend this fraction reserves CPU memory (KV cache included) and vLLM refuses to start
            # when less is free than it asks: its 0.92 default failed beside a page cache of 4 GB on the 24 GB
            # machine. Half holds a 135M model's KV cache for 100 answers of 2,048 tokens (~6 GB) with room.
            kwargs.setdefault("gpu_memory_utilization", CPU_MEMORY_FRACTION)
        if rank:
            max_rank = next((r for r in _VLLM_LORA_RANKS if r >= rank), rank)
            kwargs.update(enable_lora=True, max_lora_rank=max_rank, max_loras=1)
        try:
            llm = LLM(**kwargs)
        except Exception as err:
            raise ModelLoadError(f"vLLM could not load {self.spec.model} ({type(err).__name__}: {err}).") from err
        _VLLM_ENGINES[key] = (llm, bool(rank))
        return llm

    def info(self) -> dict:
        tokenizer = self.llm.get_tokenizer()
        from models.loading import chat_template_hash

        return {"backend": self.name, "model": self.spec.model, "model_path": self.model_path,
                "adapter": self.spec.adapter, "served_path": self.served_path,
                "adapter_served_as": ("merged copy" if self.merged_because else "LoRARequest") if self.spec.adapter else None,
                "device": self.device, "dtype": self.dtype, "chat_template_sha256": chat_template_hash(tokenizer)}

    def generate(self, conversations, settings, batch_size=None):
        from vllm import SamplingParams

        params = SamplingParams(n=1, temperature=settings.temperature, top_p=settings.top_p,
                                max_tokens=settings.max_new_tokens, seed=None if settings.greedy else settings.seed)
        outputs = self.llm.chat([list(c) for c in conversations], params, use_tqdm=False,
                                lora_request=self.lora_request, add_generation_prompt=True)
        return [GenerationResult(o.outputs[0].text, len(o.outputs[0].token_ids)) for o in outputs]


def choose_backend(spec: ModelSpec, prefer: str = "auto", device: str | None = None) -> str:
    """Which backend ``load_backend`` will use: ``heuristic``, ``vllm`` or ``transformers``.

    ``auto`` picks vLLM only with a CUDA GPU: on a CPU the transformers backend (and its lean streaming
    decoder) stays the default even where vllm-cpu is installed (docs/models-and-eval.md, "vLLM on a CPU",
    has the measurement). ``vllm`` asks for it: a GPU, or the CPU build of vLLM on a CPU."""
    if prefer not in BACKENDS:
        raise ModelLoadError(f"Unknown backend {prefer!r}; choose from {', '.join(BACKENDS)}.")
    if spec.is_heuristic:
        return "heuristic"
    if prefer == "vllm":
        if not vllm_available(device):
            raise ModelLoadError("The vLLM backend needs the vllm package and a CUDA GPU (or, on a CPU, the vllm-cpu "
                                 "build: pip install -r requirements-vllm.txt); use --backend transformers.")
        return "vllm"
    if prefer == "auto" and device in (None, "cuda") and importlib.util.find_spec("vllm") is not None:
        import torch

        if torch.cuda.is_available():
            return "vllm"
    return "transformers"


def load_backend(spec: ModelSpec, prefer: str = "auto", device: str | None = None,
                 trust_remote_code: bool = False, method: str = "loop", dtype: str | None = None) -> Backend:
    """The backend for ``spec``: a rule for ``heuristic:NAME``, else vLLM where it can run
    (``prefer="auto"``) and transformers otherwise. ``dtype``: ``models.loading.DTYPES`` (transformers; vLLM
    keeps its own bf16)."""
    kind = choose_backend(spec, prefer, device)
    if kind == "heuristic":
        from models.heuristics import HeuristicBackend

        return HeuristicBackend(spec)
    if kind == "vllm":
        return VLLMBackend(spec, trust_remote_code=trust_remote_code, device=device)
    return TransformersBackend(spec, device=device, trust_remote_code=trust_remote_code, method=method, dtype=dtype)
