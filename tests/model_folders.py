"""Broken copies of a tiny model folder, shared by the loading tests of models/ and training/."""

import json
import shutil
from pathlib import Path


def pickle_only_copy(model: Path, folder: Path) -> Path:
    """A copy whose weights exist only as pytorch_model.bin (pickle), as an old checkpoint has them."""
    import torch
    from safetensors.torch import load_file

    shutil.copytree(model, folder)
    torch.save(load_file(str(folder / "model.safetensors")), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    return folder


def without_chat_template(model: Path, folder: Path) -> Path:
    """A copy whose tokenizer has no chat template (a base, not an instruct model)."""
    shutil.copytree(model, folder)
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder
