import re
from pathlib import Path

import pytest

from scheduler import SYSTEM_PROMPT, USER_TEMPLATE, Problem, build_messages, load_split

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "data" / "prompts.md"  # the published prompts, vendored with the dataset (same source, Apache-2.0)
SHARED = ROOT.parent / "shared" / "data" / "prompts.md"


def test_prompts_match_the_published_ones_byte_for_byte():
    blocks = re.findall(r"```text\n(.*?)```", VENDORED.read_text(encoding="utf-8"), re.S)
    assert SYSTEM_PROMPT + "\n" == blocks[0]
    assert USER_TEMPLATE == blocks[1]


@pytest.mark.skipif(not SHARED.exists(), reason="../shared is not beside the checkout (the vendored copy is checked above)")
def test_the_vendored_prompts_are_the_shared_ones():
    assert VENDORED.read_bytes() == SHARED.read_bytes()


def test_messages_from_problem_and_from_prompt_agree():
    row = load_split("test")[0]
    by_text = build_messages(row["prompt"])
    by_problem = build_messages(Problem.from_row(row))
    assert by_text == by_problem
    assert [m["role"] for m in by_text] == ["system", "user"]
    assert by_text[1]["content"].endswith(row["prompt"]) and by_text[1]["content"].startswith("Task: create")
