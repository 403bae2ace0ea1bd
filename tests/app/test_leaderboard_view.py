"""The leaderboard tab's table and chart over a real eval.run result plus the published rows."""

import subprocess
import sys
from pathlib import Path

import pytest

from space import leaderboard as board

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    for split in ("test", "hard"):
        subprocess.run([sys.executable, "-m", "eval.run", "--model", "heuristic:priorities", "--split", split,
                        "--limit", "4", "--results-dir", str(out)], cwd=ROOT, check=True, capture_output=True, timeout=300)
    return out


def test_table_keeps_numbers_numeric_and_marks_published(results):
    table = board.load_table(str(results))
    assert set(table["split"]) == {"test", "hard"}
    assert table["mean_score"].dtype.kind == "f" and table["valid"].dtype.kind in "if"
    assert (table["source"] == "measured").sum() == 2 and table["source"].str.startswith("published").sum() == 3
    shown = board.for_display(table)
    types = dict(zip(shown.columns, board.datatypes(shown)))
    assert types["mean score"] == types["valid"] == types["< 2 events"] == "number"
    assert types["model"] == types["source"] == "str"


def test_split_filter_and_chart(results):
    table = board.load_table(str(results))
    assert board.split_choices(table) == [board.ALL_SPLITS, "hard", "test"]
    hard = board.filter_split(table, "hard")
    assert list(hard["split"]) == ["hard"] and len(board.filter_split(table, board.ALL_SPLITS)) == len(table)
    fig = board.score_chart(board.filter_split(table, "test"))
    labels = [y for trace in fig.data for y in trace.y]
    assert len(labels) == 4 and sum("(published)" in label for label in labels) == 3
    assert fig.layout.height > 0
    empty = board.score_chart(hard.iloc[0:0])
    assert empty.layout.height > 0 and "No finished runs" in empty.layout.annotations[0].text
