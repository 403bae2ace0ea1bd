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
    # By default only what a reader needs; the rest is picked under "More columns".
    assert list(shown.columns) == ["model", "adapter", "split", "valid", "mean score", "± stderr", "settings"]
    assert set(shown["settings"]) == {"greedy", "T=1 (published)"}
    every = board.for_display(table, board.EXTRA_COLUMNS)
    types = dict(zip(every.columns, board.datatypes(every)))
    assert types["mean score"] == types["valid"] == types["< 2 events"] == "number"
    assert types["model"] == types["source"] == types["settings"] == "str"
    assert len(board.column_widths(shown)) == len(shown.columns)


def test_split_filter_and_chart(results):
    table = board.load_table(str(results))
    assert board.split_choices(table) == [board.ALL_SPLITS, "hard", "test"]
    hard = board.filter_split(table, "hard")
    assert list(hard["split"]) == ["hard"] and len(board.filter_split(table, board.ALL_SPLITS)) == len(table)
    fig = board.score_chart(board.filter_split(table, "test"))
    labels = [y for trace in fig.data for y in trace.y]
    assert len(labels) == 4 and sum("(published)" in label for label in labels) == 3
    assert fig.layout.height > 0
    # All splits: one chart per split, each ranking only its own runs.
    both = board.score_chart(table)
    axes = {trace.yaxis for trace in both.data}
    assert len(axes) == 2 and [a.text for a in both.layout.annotations] == ["split: test", "split: hard"]
    for axis in axes:
        rows = [y for trace in both.data if trace.yaxis == axis for y in trace.y]
        assert len(rows) in (1, 4)  # hard: the one measured run; test: measured + 3 published
    empty = board.score_chart(hard.iloc[0:0])
    assert empty.layout.height > 0 and "No finished runs" in empty.layout.annotations[0].text
