"""The run table of docs/training.md says what the committed results say: every figure is read from a run's metrics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eval.results import read_json

ROOT = Path(__file__).resolve().parent.parent
HEADING = "## Every run of the model issue, in one table"
# the table's columns after the run: split and decoding of the run folder each figure comes from
COLUMNS = {5: "test-greedy", 6: "hard-greedy", 7: "names-greedy", 8: "test-t1x4"}


def table_rows() -> list[list[str]]:
    """The cells of the table under HEADING, one list per run row."""
    text = (ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    assert HEADING in text, "docs/training.md lost its run table"
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in rows]


def expected(run: str, column: str) -> str:
    """The figure as the table writes it, from results/RUN-COLUMN/metrics.json, or '–' when there is no such run."""
    path = ROOT / "results" / f"{run}-{column}" / "metrics.json"
    if not path.is_file():
        return "–"
    metrics = read_json(path)
    total = f"/{metrics['n']}" if column.endswith("t1x4") else ""
    return f"{metrics['valid']}{total} / {metrics['mean_score']:.2f}"


def test_the_table_lists_runs() -> None:
    rows = table_rows()
    assert len(rows) >= 20
    assert all(re.fullmatch(r"`[\w.-]+`", row[1]) for row in rows)


@pytest.mark.parametrize("row", table_rows(), ids=lambda row: row[1].strip("`"))
def test_every_figure_is_the_committed_runs(row: list[str]) -> None:
    run = row[1].strip("`")
    figures = {column: row[index] for index, column in COLUMNS.items()}
    assert figures == {column: expected(run, column) for column in COLUMNS.values()}
    assert any(figure != "–" for figure in figures.values()), f"{run} has no committed run"
