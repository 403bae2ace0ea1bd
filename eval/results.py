"""Result files people can trust, written so that a killed run loses and duplicates nothing.

A run lives in ``results/<run>/``:

- ``config.json``: what ran (model, adapter, split, sampling settings, batch size, library versions,
  git commit, chat-template hash, device, dates); written atomically.
- ``samples.jsonl``: one line per (prompt index, sample number), appended a batch at a time with a
  single write + flush + fsync. On restart the completed keys are read back and skipped; a last line
  cut short by a kill is dropped (the file is truncated to the last whole line) and generated again.
- ``metrics.json``: derived from ``samples.jsonl`` only, so a resumed run gives the same numbers.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any, Iterable

from scheduler import SchedulerError

REPO_ROOT = Path(__file__).resolve().parent.parent
Key = tuple[int, int]  # (prompt index, sample number)


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write JSON to a temp file beside ``path`` and rename it over: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False, default=str)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path: str | os.PathLike) -> dict | None:
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise SchedulerError(f"{path} is not valid JSON ({err}); delete it or pick another run name.") from err


class SampleLog:
    """The append-only ``samples.jsonl`` of a run, keyed by (index, sample)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def load(self) -> dict[Key, dict]:
        """The completed records; drops a last line cut short by a kill (and truncates it away)."""
        records: dict[Key, dict] = {}
        if not self.path.is_file():
            return records
        data = self.path.read_bytes()
        good_end = 0
        offset = 0
        lines = data.split(b"\n")
        for number, raw in enumerate(lines, start=1):
            is_last = number == len(lines)
            end = offset + len(raw) + (0 if is_last else 1)
            if raw.strip():
                try:
                    if is_last:  # no newline after it: the write was cut short
                        raise ValueError("unterminated line")
                    record = json.loads(raw)
                    key = (int(record["index"]), int(record["sample"]))
                except (ValueError, KeyError, TypeError):
                    if is_last or not any(x.strip() for x in lines[number:]):
                        break  # a torn tail: generate those samples again
                    raise SchedulerError(
                        f"Line {number} of {self.path} is corrupt and is not the last one; "
                        "the file was edited by hand. Delete the run folder to start over."
                    ) from None
                records.setdefault(key, record)
            offset = end
            good_end = end
        if good_end < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good_end)
        return records

    def append(self, records: Iterable[dict]) -> None:
        """Append whole lines in one write, then flush and fsync: a batch lands entirely or not at all."""
        payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_sha256(folder: str | os.PathLike | None) -> str | None:
    """One hash for the safetensors weights in ``folder`` (a model or an adapter), or None for what is not a
    local folder (a hub id, a heuristic). One file: its own sha256, the same as ``sha256sum``; several (a
    sharded model): the sha256 of their sorted ``name:hash`` lines."""
    if not folder or not Path(folder).is_dir():
        return None
    files = sorted(Path(folder).glob("*.safetensors"))
    if not files:
        return None
    if len(files) == 1:
        return file_sha256(files[0])
    lines = "".join(f"{f.name}:{file_sha256(f)}\n" for f in files)
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def prompt_hash(messages: list[dict]) -> str:
    """sha256 of the chat messages sent (before the model's template): same hash, same question."""
    return hashlib.sha256(json.dumps(messages, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def slug(text: str) -> str:
    """A folder-safe name: letters, digits, dots and dashes."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower() or "run"


def git_state(repo: Path = REPO_ROOT) -> dict:
    """The commit the code ran from and whether tracked files had uncommitted changes."""
    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("torch", "transformers", "peft", "accelerate", "vllm", "tokenizers"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def device_description() -> str:
    """The accelerator by name, else the CPU: enough to know which timings compare."""
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    return f"cpu ({os.cpu_count()} cores, {platform.machine()})"
