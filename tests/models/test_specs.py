"""Which think format a model spec drafts its hints in: set, or read from the checkpoint's training records."""

import json
from pathlib import Path

from models.specs import PRESETS, ModelSpec, trained_think
from scheduler.reference import DEFAULT_THINK


def record(folder, **data):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "training_summary.json").write_text(json.dumps({"stage": "sft", "data": data}))


def test_the_shipped_preset_drafts_in_the_think_its_checkpoint_was_trained_on():
    preset = PRESETS["smollm2-135m"]
    summary = json.loads((Path(preset.tuned.adapter) / "training_summary.json").read_text())
    assert preset.tuned.think_format == summary["data"]["think_format"]
    assert preset.base.think_format == DEFAULT_THINK  # the embedded base has no training record


def test_a_grpo_stage_takes_the_newest_earlier_stage_that_names_a_format(tmp_path):
    (tmp_path / "training_summary.json").write_text(json.dumps({"stage": "grpo", "data": {"problems": 6400}}))
    record(tmp_path / "1-sft", think_format="recap")
    assert trained_think(str(tmp_path)) == "recap"
    record(tmp_path / "3-sft", think_format="dpset")
    (tmp_path / "2-grpo").mkdir()
    (tmp_path / "2-grpo" / "training_summary.json").write_text("{not json")
    assert trained_think(str(tmp_path)) == "dpset"
    assert ModelSpec("smollm2-135m-instruct", adapter=str(tmp_path)).think_format == "dpset"
    assert ModelSpec("smollm2-135m-instruct", adapter=str(tmp_path), think="scan").think_format == "scan"


def test_no_record_or_an_unknown_format_falls_back_to_the_default(tmp_path):
    assert trained_think(None) is None and trained_think(str(tmp_path / "absent")) is None
    assert trained_think("HuggingFaceTB/SmolLM2-135M-Instruct") is None
    record(tmp_path, think_format="a-format-from-a-later-version")
    assert trained_think(str(tmp_path)) is None
    assert ModelSpec(str(tmp_path)).think_format == DEFAULT_THINK
