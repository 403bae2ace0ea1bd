"""The leaderboard tab's table and chart, built from ``eval.leaderboard`` (results/ + published rows).

Numbers stay numbers (so the table sorts numerically); only the display order of columns and a
rounded copy of the scores are decided here.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from eval.leaderboard import NUMERIC, PUBLISHED_SOURCE, leaderboard

ALL_SPLITS = "all splits"
COLUMNS = [
    "model", "adapter", "size", "split", "mean_score", "stderr", "valid", "n", "format_errors",
    "less_than_2_events", "non_existing", "unsorted", "overlaps", "temperature", "samples", "date", "source",
]


def load_table(results_dir: str = "results") -> pd.DataFrame:
    """Every finished run plus the published rows, in display order, best score first per split."""
    frame = leaderboard(results_dir)
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


def for_display(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns=HEADERS)


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
    return f"{name} · {row['split']} · {how}{published}"


def score_chart(frame: pd.DataFrame) -> go.Figure:
    """Mean score (x100) per run with its standard error; published rows in their own colour."""
    if frame.empty:
        fig = go.Figure()
        fig.add_annotation(text="No finished runs yet: python -m eval.run ...", showarrow=False)
        fig.update_layout(height=240, xaxis_visible=False, yaxis_visible=False)
        return fig
    data = frame.copy()
    data["run"] = data.apply(_label, axis=1)
    data["kind"] = data["source"].map(lambda s: "published" if s == PUBLISHED_SOURCE else "measured here")
    data = data.sort_values("mean_score", ascending=False, kind="stable")
    fig = px.bar(
        data,
        x="mean_score",
        y="run",
        color="kind",
        orientation="h",
        error_x="stderr",
        text="mean_score",
        color_discrete_map={"measured here": "#1c7ed6", "published": "#adb5bd"},
        hover_data={"valid": True, "n": True, "temperature": True, "run": False, "kind": False},
        labels={"mean_score": "mean score (x100)", "run": ""},
        category_orders={"run": list(dict.fromkeys(data["run"]))},  # px lists these top-down
        height=140 + 34 * len(data),
    )
    fig.update_traces(texttemplate="%{x:.1f}", textposition="inside", insidetextanchor="start",
                      textfont_color="white", error_x_color="#495057")
    fig.update_layout(
        xaxis_range=[0, 105], margin={"l": 10, "r": 30, "t": 30, "b": 10}, plot_bgcolor="white",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "title": None},
    )
    fig.update_xaxes(gridcolor="#eef0f2")
    fig.update_yaxes(automargin=True)
    return fig
