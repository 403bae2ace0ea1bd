"""The leaderboard tab's table and chart, built from ``eval.leaderboard`` (results/ + published rows).

Numbers stay numbers (so the table sorts numerically); only the display order of columns and a
rounded copy of the scores are decided here.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from eval.leaderboard import NUMERIC, PUBLISHED_SOURCE, leaderboard

ALL_SPLITS = "all splits"
COLUMNS = [
    "model", "adapter", "size", "split", "valid", "mean_score", "stderr", "settings", "n", "format_errors",
    "less_than_2_events", "non_existing", "unsorted", "overlaps", "temperature", "samples", "date", "source",
]


# What a reader needs first; the rest is one tick away ("More columns").
DEFAULT_COLUMNS = ["model", "adapter", "split", "valid", "mean_score", "stderr", "settings"]
EXTRA_COLUMNS = ["size", "n", "format_errors", "less_than_2_events", "non_existing", "unsorted", "overlaps",
                 "temperature", "samples", "date", "source"]


def settings_label(temperature: float, samples: float, source: str) -> str:
    """How the run sampled, in words: ``greedy`` or ``T=1.0, 1 sample``; published rows say so."""
    if temperature is None or (isinstance(temperature, float) and math.isnan(temperature)):
        how = "?"
    else:
        how = "greedy" if temperature == 0 else f"T={temperature:g}"
    if samples and not (isinstance(samples, float) and math.isnan(samples)) and int(samples) > 1:
        how += f", {int(samples)} samples"
    return how + (" (published)" if source == PUBLISHED_SOURCE else "")


def load_table(results_dir: str = "results") -> pd.DataFrame:
    """Every finished run plus the published rows, in display order, best score first per split."""
    frame = leaderboard(results_dir)
    # the shipped checkpoint's runs, recognised by the sha256 of the weights they evaluated
    frame["adapter"] = [f"{a} (shipped)" if shipped is True else a for a, shipped in zip(frame["adapter"], frame["shipped"])]
    frame["settings"] = [settings_label(t, n, s) for t, n, s in zip(frame["temperature"], frame["samples"], frame["source"])]
    frame = frame[[c for c in COLUMNS if c in frame.columns]].copy()
    for column in ("mean_score", "stderr"):
        frame[column] = frame[column].round(2)
    for column in frame.columns:
        if column not in NUMERIC:
            frame[column] = frame[column].fillna("").astype(str)
    return frame


# Short headers that wrap between words in the table (the data keeps eval's column names).
HEADERS = {
    "mean_score": "mean score", "stderr": "± stderr", "format_errors": "format errors",
    "less_than_2_events": "< 2 events", "non_existing": "non-existing", "temperature": "temp.",
}


def for_display(frame: pd.DataFrame, extra: list[str] | None = None) -> pd.DataFrame:
    """The default columns plus the ``extra`` ones picked, in the table's order, with short headers."""
    wanted = set(DEFAULT_COLUMNS) | set(extra or [])
    return frame[[c for c in frame.columns if c in wanted]].rename(columns=HEADERS)


# Widths of the shown columns (px): names get room, numbers little; others share the rest.
WIDTHS = {"model": 260, "adapter": 220, "split": 70, "valid": 70, "mean score": 95, "± stderr": 85, "settings": 150}


def column_widths(frame: pd.DataFrame) -> list[str]:
    return [f"{WIDTHS.get(c, 90)}px" for c in frame.columns]


def datatypes(frame: pd.DataFrame) -> list[str]:
    """``number`` for every numeric column, so sorting is numeric (FIELD-NOTES)."""
    numeric = set(NUMERIC) | {HEADERS.get(c, c) for c in NUMERIC}
    return ["number" if c in numeric else "str" for c in frame.columns]


def split_choices(frame: pd.DataFrame) -> list[str]:
    return [ALL_SPLITS, *sorted(s for s in frame["split"].unique() if s)]


def filter_split(frame: pd.DataFrame, split: str | None) -> pd.DataFrame:
    if not split or split == ALL_SPLITS:
        return frame
    return frame[frame["split"] == split].reset_index(drop=True)


def _label(row: pd.Series) -> str:
    name = row["model"] + (f" + {row['adapter']}" if row["adapter"] else "")
    temperature = row["temperature"]
    how = "greedy" if temperature == 0 else (f"T={temperature:g}" if not math.isnan(temperature) else "")
    published = " (published)" if row["source"] == PUBLISHED_SOURCE else ""
    return f"{name} · {how}{published}"


BAR_PX = 30
COLOURS = {"measured here": "#1c7ed6", "published": "#adb5bd"}


def score_chart(frame: pd.DataFrame) -> go.Figure:
    """Mean score (x100) per run with its standard error, one chart per split (splits are not comparable)."""
    if frame.empty:
        fig = go.Figure()
        fig.add_annotation(text="No finished runs yet: python -m eval.run ...", showarrow=False)
        fig.update_layout(height=240, xaxis_visible=False, yaxis_visible=False)
        return fig
    data = frame.copy()
    data["run"] = data.apply(_label, axis=1)
    data["kind"] = data["source"].map(lambda s: "published" if s == PUBLISHED_SOURCE else "measured here")
    splits = list(dict.fromkeys(sorted(data["split"], key=lambda s: (s != "test", s))))
    counts = [int((data["split"] == split).sum()) for split in splits]
    fig = make_subplots(rows=len(splits), cols=1, shared_xaxes=True, row_heights=counts, vertical_spacing=0.25 / len(splits),
                        subplot_titles=[f"split: {split}" for split in splits])
    shown: set[str] = set()
    for row, split in enumerate(splits, start=1):
        part = data[data["split"] == split].sort_values("mean_score", ascending=True, kind="stable")  # best on top
        for kind, colour in COLOURS.items():
            bars = part[part["kind"] == kind]
            if bars.empty:
                continue
            fig.add_trace(go.Bar(
                x=bars["mean_score"], y=bars["run"], orientation="h", name=kind, legendgroup=kind,
                showlegend=kind not in shown, marker_color=colour,
                error_x={"type": "data", "array": bars["stderr"].fillna(0), "color": "#495057"},
                text=[f"{v:.1f}" for v in bars["mean_score"]], textposition="inside", insidetextanchor="start",
                textfont_color="white",
                customdata=bars[["valid", "n"]].fillna(0).astype(int).to_numpy(),
                hovertemplate="%{y}<br>mean %{x:.2f}, %{customdata[0]}/%{customdata[1]} valid<extra></extra>",
            ), row=row, col=1)
            shown.add(kind)
        fig.update_yaxes(categoryorder="array", categoryarray=list(part["run"]), automargin=True, row=row, col=1)
    fig.update_xaxes(range=[0, 105], gridcolor="#eef0f2")
    fig.update_xaxes(title_text="mean score (x100)", row=len(splits), col=1)
    fig.update_layout(
        height=120 + BAR_PX * sum(counts) + 40 * len(splits), barmode="overlay", plot_bgcolor="white",
        margin={"l": 10, "r": 30, "t": 50, "b": 10},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "title": None},
    )
    return fig
