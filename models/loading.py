"""The one loading path for the app, eval and training: tokenizers and causal LMs, safely and with clear errors.

- ``load_causal_lm``: a causal LM from a resolved folder or hub id; every project model is loaded
  through it (``load_model`` below for the app and eval, ``training.common.load_model`` for SFT and GRPO,
  ``training.extract_lora``).
- ``load_tokenizer``: the tokenizer, with a pad token and a chat template (checked).
- ``load_model``: a ``ModelSpec`` (model + optional adapter) ready to generate.

Safety: weights load from safetensors only (``use_safetensors=True``; a folder holding its weights only
as pickle is refused before anything is read) and no repository code runs unless a caller passes
``trust_remote_code=True`` on purpose. Precision (``load_model``): bf16 on a GPU, fp32 on a CPU.
Tokenizers pad on the left, as batched generation (and GRPO's rollouts) need, unless the caller asks
for the right (SFT).

A LoRA adapter (a folder saved by peft: ``adapter_config.json`` + ``adapter_model.safetensors``) is
loaded with ``PeftModel.from_pretrained`` on the fp32 base and merged, then cast: the merged weights
are rounded once, as a bf16 base would be, and generation runs at plain-model speed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.errors import ModelLoadError
from models.provision import ALIAS as SMOLLM2_ALIAS
from models.provision import ensure_smollm2
from models.specs import ModelSpec

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
# Weight files in pickle formats (torch.load can run code); training_args.bin and optimizer.pt are not weights.
PICKLE_WEIGHT_PREFIXES = ("pytorch_model", "model")
PICKLE_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt")
_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def resolve_model_path(model: str) -> str:
    """A local folder for the alias or an existing path; a hub id unchanged; anything else is an error."""
    if model.lower() == SMOLLM2_ALIAS:
        return str(ensure_smollm2())
    path = Path(model).expanduser()
    if path.is_dir():
        check_model_folder(path, model)
        return str(path)
    looks_like_path = model.startswith((".", "/", "~")) or model.count("/") > 1 or path.exists()
    if looks_like_path or not _HUB_ID_RE.match(model):
        raise ModelLoadError(
            f"The model {model!r} is neither a model folder here nor a Hugging Face Hub id (like "
            f"'Qwen/Qwen2.5-Coder-7B-Instruct'); '{SMOLLM2_ALIAS}' is the embedded base model."
        )
    return model


def check_model_folder(path: Path, model: str | None = None) -> None:
    """Refuse a folder that is not a transformers checkpoint or holds its weights only as pickle."""
    model = model or str(path)
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"The folder {model} has no config.json; it is not a transformers model checkpoint.")
    pickled = sorted(
        p.name for p in path.iterdir() if p.name.startswith(PICKLE_WEIGHT_PREFIXES) and p.suffix in PICKLE_WEIGHT_SUFFIXES
    )
    if pickled and not any(path.glob("*.safetensors")):
        raise ModelLoadError(
            f"The folder {model} holds its weights only as {', '.join(pickled[:3])} (pickle, which can run code "
            "when loaded); only safetensors weights are loaded. Convert them once where you trust the file: "
            "save_pretrained writes safetensors."
        )


def validate_adapter(adapter: str | os.PathLike) -> Path:
    """The adapter folder, checked: both peft files present, weights as safetensors."""
    path = Path(adapter).expanduser()
    if path.is_file():
        raise ModelLoadError(
            f"The adapter {adapter} is a file; give the folder peft's save_pretrained wrote "
            f"({' and '.join(ADAPTER_FILES)} inside)."
        )
    if not path.is_dir():
        raise ModelLoadError(f"The adapter folder {adapter} does not exist; give the folder a peft save_pretrained wrote.")
    missing = [name for name in ADAPTER_FILES if not (path / name).is_file()]
    if missing:
        hint = " (a .bin adapter is not loaded: safetensors only)" if (path / "adapter_model.bin").exists() else ""
        raise ModelLoadError(
            f"The adapter folder {adapter} is missing {', '.join(missing)}{hint}; it is not a LoRA adapter saved by peft."
        )
    try:
        json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"The adapter's adapter_config.json in {adapter} is not valid JSON ({err}).") from err
    return path


def pick_device(device: str | None = None) -> str:
    import torch

    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def default_dtype(device: str):
    import torch

    return torch.bfloat16 if device.startswith("cuda") else torch.float32


DTYPES = ("auto", "fast", "float32", "bfloat16")


def cpu_has_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU multiplies bf16 natively (AVX-512 BF16 or AMX): then bf16 forwards are the faster ones."""
    try:
        flags = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def resolve_dtype(name: str | None, device: str):
    """A torch dtype for ``name`` on ``device``: "auto" (or None) is ``default_dtype`` (fp32 on a CPU: what eval's
    CPU figures are measured in); "fast" is bf16 on a GPU or on a CPU with native bf16, else fp32 (the app's:
    on the 2-core dev machine a 24-token forward took 70 ms in bf16 against 124 ms in fp32)."""
    import torch

    name = name or "auto"
    if name not in DTYPES:
        raise ModelLoadError(f"dtype must be one of {', '.join(DTYPES)}, not {name!r}.")
    if name == "auto":
        return default_dtype(device)
    if name == "fast":
        return torch.bfloat16 if device.startswith("cuda") or cpu_has_bf16() else torch.float32
    return getattr(torch, name)


def _unavailable(model: str, err: Exception) -> ModelLoadError:
    """The message for a model that could not be loaded, local folder or hub id."""
    if Path(model).is_dir():
        return ModelLoadError(f"Could not load the model in {model}: {type(err).__name__}: {err}")
    why = "HF_HUB_OFFLINE is set" if hub_offline() else f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    return ModelLoadError(
        f"The model {model!r} is not available locally and could not be fetched from the Hugging Face Hub ({why}). "
        f"Download it where the hub is reachable (hf download {model}) and pass the local folder."
    )


PADDING_SIDES = ("left", "right")


def load_tokenizer(model_path: str, trust_remote_code: bool = False, padding_side: str = "left") -> Any:
    """The model's tokenizer with a pad token and a chat template, padding on ``padding_side``.

    Left (the default) for generation: batched eval and app requests, GRPO's rollouts. SFT pads on
    the right. A tokenizer without a chat template is refused: every prompt here is a chat.
    """
    from transformers import AutoTokenizer

    if padding_side not in PADDING_SIDES:
        raise ValueError(f"padding_side must be 'left' or 'right', not {padding_side!r}.")
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            model_path, padding_side=padding_side, trust_remote_code=trust_remote_code
        )
    except Exception as err:  # OSError, hub errors, bad files: all mean "cannot load this model"
        raise _unavailable(model_path, err) from err
    tokenizer.padding_side = padding_side  # a saved tokenizer_config may say otherwise
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not tokenizer.chat_template:
        raise ModelLoadError(f"The tokenizer of {model_path} has no chat template; a chat (instruct) model is needed.")
    return tokenizer


def chat_template_hash(tokenizer: Any) -> str:
    """sha256 of the chat template: two runs with the same hash saw the same prompts."""
    return hashlib.sha256((tokenizer.chat_template or "").encode("utf-8")).hexdigest()


def load_causal_lm(
    model_path: str,
    dtype: Any,
    *,
    attn_implementation: str | None = None,
    revision: str | None = None,
    quantization_config: Any = None,
    device_map: Any = None,
    trust_remote_code: bool = False,
) -> Any:
    """The causal LM in ``model_path`` (a folder or hub id, as ``resolve_model_path`` returns it).

    Safetensors only: a folder whose weights exist only as pickle is refused before anything is read,
    and ``use_safetensors=True`` makes transformers refuse pickle weights anywhere else. ``dtype``: a
    torch dtype or "auto". The keyword arguments go to ``from_pretrained`` as given (None: its default);
    ``device_map`` None loads on the CPU. Any failure is a ``ModelLoadError`` that says why.
    """
    from transformers import AutoModelForCausalLM

    path = Path(model_path).expanduser()
    if path.is_dir():
        check_model_folder(path, model_path)
    optional = {"attn_implementation": attn_implementation, "revision": revision,
                "quantization_config": quantization_config}
    try:
        return AutoModelForCausalLM.from_pretrained(
            model_path,
            dtype=dtype,
            device_map=device_map,
            use_safetensors=True,
            trust_remote_code=trust_remote_code,
            **{k: v for k, v in optional.items() if v is not None},
        )
    except Exception as err:
        raise _unavailable(model_path, err) from err


@dataclass
class LoadedModel:
    """A ready-to-generate model with what a run records about it."""

    model: Any
    tokenizer: Any
    spec: ModelSpec
    model_path: str
    device: str
    dtype: str

    def info(self) -> dict:
        return {
            "model": self.spec.model,
            "model_path": self.model_path,
            "adapter": self.spec.adapter,
            "device": self.device,
            "dtype": self.dtype,
            "n_parameters": sum(p.numel() for p in self.model.parameters()),
            "chat_template_sha256": chat_template_hash(self.tokenizer),
        }


def load_model(
    spec: ModelSpec,
    device: str | None = None,
    dtype: Any = None,
    trust_remote_code: bool = False,
) -> LoadedModel:
    """Tokenizer + causal LM (+ merged LoRA adapter) for ``spec``, in eval mode on ``device``."""
    import torch

    if spec.is_heuristic:
        raise ModelLoadError(f"{spec.model} is a rule, not a model; use models.generation.load_backend for it.")
    adapter = validate_adapter(spec.adapter) if spec.adapter else None
    model_path = resolve_model_path(spec.model)
    device = pick_device(device)
    dtype = resolve_dtype(dtype, device) if dtype is None or isinstance(dtype, str) else dtype
    tokenizer = load_tokenizer(model_path, trust_remote_code)
    model = load_causal_lm(
        model_path,
        # An adapter merges in fp32, then the result is cast once.
        torch.float32 if adapter else dtype,
        device_map=None if adapter else device,  # straight onto the GPU when nothing merges first
        trust_remote_code=trust_remote_code,
    )
    if adapter is not None:
        from peft import PeftModel

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model = PeftModel.from_pretrained(model, str(adapter), is_trainable=False)
        except Exception as err:  # shape mismatch (adapter of another base), bad tensors
            raise ModelLoadError(
                f"The adapter {spec.adapter} does not fit the model {spec.model} ({type(err).__name__}: {err})."
            ) from err
        # peft only warns when the file lacks weights for the adapter's layers (e.g. keys saved under other
        # names): the model would silently run as the base. Refuse instead.
        missing = [str(w.message) for w in caught if "missing adapter keys" in str(w.message)]
        if missing:
            raise ModelLoadError(
                f"The adapter {spec.adapter} does not fit the model {spec.model}: its file lacks weights the "
                f"adapter's config promises ({missing[0][:300]})."
            )
        with warnings.catch_warnings():
            # An adapter extracted from a full fine-tune (training.extract_lora) has LoRA factors on the input
            # embedding, which SmolLM2 ties to its output head: merging updates the one shared matrix, as the
            # fine-tune did (tests/training/test_extract_lora.py checks the logits), so peft's caution does not apply.
            warnings.filterwarnings("ignore", message=".*tie_word_embeddings.*")
            model = model.merge_and_unload()
    model.to(device=device, dtype=dtype)
    model.eval()
    return LoadedModel(model, tokenizer, spec, model_path, device, str(dtype).replace("torch.", ""))
