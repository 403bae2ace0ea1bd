"""One lane of the comparison: load a model lazily, stream its answer, judge it as it grows.

Kept apart from the Gradio wiring so tests and the latency benchmark drive exactly what the page
runs. Models load on first use and stay cached; a model that cannot load leaves a sentence in its
lane and the other lane keeps working.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Iterator

import plotly.graph_objects as go

from models.generation import Backend, SamplingSettings, load_backend
from scheduler import Problem, SchedulerError, breakdown, build_messages, reference_answer, solve
from space.config import Side
from space.render import breakdown_html, note_html
from space.timeline import timeline_figure

log = logging.getLogger(__name__)


def share_cpu(lanes: int = 2) -> int:
    """On a CPU, give each concurrently streaming lane its own share of the cores.

    Two lanes generate at once; with torch's default (every core per lane) their OpenMP teams fight
    for the same cores and both slow down several-fold. Returns the threads per lane (0 on a GPU).
    """
    import torch

    if torch.cuda.is_available():
        return 0
    threads = max(1, (os.cpu_count() or 1) // lanes)
    torch.set_num_threads(threads)
    return threads


class ModelPool:
    """Backends by spec, loaded once and one at a time; a request for a loading model waits for it.

    Loads are serialised across all models, not per model: transformers' ``from_pretrained`` is not
    thread-safe (two at once, as both lanes' first use starts them, fail with "Cannot copy out of meta
    tensor" or leave weights missing), and on a CPU two loads at once are no faster anyway.
    """

    def __init__(self, backend: str = "auto", device: str | None = None):
        self.backend = backend
        self.device = device
        self._backends: dict = {}
        self._loading = threading.Lock()

    def loaded(self, spec) -> bool:
        return spec in self._backends

    def get(self, spec) -> Backend:
        if spec in self._backends:  # loaded: no waiting behind another model's load
            return self._backends[spec]
        with self._loading:
            if spec not in self._backends:
                self._backends[spec] = load_backend(spec, prefer=self.backend, device=self.device)
            return self._backends[spec]


@dataclass
class LaneUpdate:
    """What a lane shows at one moment; ``figure`` / ``html`` None mean "leave it as it is"."""

    text: str
    figure: go.Figure | None
    html: str | None
    done: bool = False


def _completed_events(text: str) -> int:
    return text.count("</event>")


def lane_view(problem: Problem, text: str, label: str, optimal: int, pending: bool = False, footer: str = "") -> tuple:
    """(figure, card html) for an answer so far."""
    bd = breakdown(text, problem, optimal=optimal)
    figure = timeline_figure(problem, bd, title=label)
    return figure, breakdown_html(bd, label=label, pending=pending, footer=footer)


def solver_view(problem: Problem) -> tuple:
    """The third lane: the exact solver's optimal schedule, judged by the same code as the models."""
    answer = reference_answer(problem)
    figure, html = lane_view(problem, answer, "Optimal schedule (exact solver)", solve(problem).score)
    return answer, figure, html


def run_lane(side: Side, problem: Problem, settings: SamplingSettings, pool: ModelPool) -> Iterator[LaneUpdate]:
    """Stream one model's answer: a note while loading, the text as it grows, the verdict at the end.

    The timeline is redrawn only when another ``</event>`` has been completed (and at the end), so a
    long answer does not redraw the plot for every token. Never raises: failures become notes.
    """
    label = side.label
    if side.spec is None:
        yield LaneUpdate("", None, note_html(side.missing or "No model is configured for this lane.", "warn"), True)
        return
    optimal = solve(problem).score
    # Clear what the previous run left: the bare problem, and a note while the model loads.
    blank, pending = lane_view(problem, "", label, optimal, pending=True)
    loading = not pool.loaded(side.spec)
    yield LaneUpdate("", blank, note_html(f"Loading {label}… (first use only)", "info") if loading else pending)
    try:
        backend = pool.get(side.spec)
    except SchedulerError as err:  # ModelLoadError is one: a sentence saying why and what to do
        yield LaneUpdate("", None, note_html(f"{label} could not be loaded: {err}", "error"), True)
        return
    except Exception as err:  # a library failure we did not foresee: still a message, never a traceback
        log.exception("loading %s failed", label)
        yield LaneUpdate("", None, note_html(f"{label} could not be loaded ({type(err).__name__}: {err}).", "error"), True)
        return
    if loading:
        yield LaneUpdate("", None, pending)

    started = time.perf_counter()
    text, shown_events = "", 0
    try:
        # The solver's reference answer only drafts tokens for the CPU fast path (models.fast_decode);
        # every token shown is still the model's own greedy choice.
        for text in backend.stream(build_messages(problem), settings, hint=reference_answer(problem)):
            events = _completed_events(text)
            if events != shown_events:
                shown_events = events
                figure, html = lane_view(problem, text, label, optimal, pending=True)
                yield LaneUpdate(text, figure, html)
            else:
                yield LaneUpdate(text, None, None)
    except Exception as err:
        log.exception("generation with %s failed", label)
        yield LaneUpdate(text, None, note_html(f"Generation with {label} failed ({type(err).__name__}: {err}).", "error"), True)
        return
    elapsed = time.perf_counter() - started
    footer = f"{label}: generated in {elapsed:.1f} s ({settings_text(settings)})."
    figure, html = lane_view(problem, text, label, optimal, footer=footer)
    yield LaneUpdate(text, figure, html, True)


def settings_text(settings: SamplingSettings) -> str:
    if settings.greedy:
        return f"greedy, max {settings.max_new_tokens} new tokens"
    return f"temperature {settings.temperature}, top-p {settings.top_p}, seed {settings.seed}, max {settings.max_new_tokens} new tokens"
