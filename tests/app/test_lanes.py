"""A lane streams a real model's answer, redraws as events complete, and turns failures into notes."""

import threading
import time

import pytest

from models.backend import SamplingSettings
from models.specs import ModelSpec
from scheduler import load_problems
from space.config import Side
from space.lanes import ModelPool, run_lane, solver_view

PROBLEM = load_problems("test")[0]


@pytest.fixture(scope="module")
def pool():
    return ModelPool(backend="transformers", device="cpu")


def test_tiny_model_streams_then_finishes(tiny_llama, pool):
    side = Side("base", ModelSpec(str(tiny_llama), label="tiny"))
    updates = list(run_lane(side, PROBLEM, SamplingSettings(max_new_tokens=24), pool))
    assert "Loading tiny" in updates[0].html  # first use: a loading note
    texts = [u.text for u in updates[1:]]
    assert len(texts) >= 2 and all(b.startswith(a) for a, b in zip(texts, texts[1:]))  # the text grows
    last = updates[-1]
    assert last.done and last.figure is not None and "Training reward" in last.html and "generated in" in last.html
    assert "fp32 on cpu" in last.html  # the lane says where and in what its model computed
    assert [u.done for u in updates].count(True) == 1
    # Second run: already loaded, no loading note; greedy gives the same text.
    again = list(run_lane(side, PROBLEM, SamplingSettings(max_new_tokens=24), pool))
    assert "Loading" not in (again[0].html or "") and again[-1].text == last.text


def test_heuristic_answer_is_judged(pool):
    side = Side("tuned", ModelSpec("heuristic:greedy", label="greedy rule"))
    last = list(run_lane(side, PROBLEM, SamplingSettings(), pool))[-1]
    assert "Valid schedule" in last.html
    names = {y for trace in last.figure.data for y in trace.y}
    assert names == {ev.name for ev in PROBLEM.events}


def test_missing_and_unloadable_models_leave_a_note(tmp_path, pool):
    missing = list(run_lane(Side("tuned", None, "The tuned adapter is not shipped yet."), PROBLEM, SamplingSettings(), pool))
    assert len(missing) == 1 and "not shipped yet" in missing[0].html and missing[0].done
    broken = Side("tuned", ModelSpec("heuristic:greedy", adapter=str(tmp_path / "nowhere")))
    updates = list(run_lane(broken, PROBLEM, SamplingSettings(), pool))
    assert updates[-1].done and 'class="note error"' in updates[-1].html and "could not be loaded" in updates[-1].html
    nothing = Side("base", ModelSpec(str(tmp_path / "no-such-model")))
    assert "could not be loaded" in list(run_lane(nothing, PROBLEM, SamplingSettings(), pool))[-1].html


def test_solver_lane():
    answer, figure, html = solver_view(PROBLEM)
    assert answer.startswith("<think>") and "Valid schedule" in html and "100.0%" in html
    assert figure.layout.height > 0


@pytest.mark.parametrize("think", ["recap", "dp"])
def test_lane_drafts_from_the_solver_answer_but_shows_the_model_text(tiny_llama, pool, think):
    """The lane hands the model the solver's reference answer, in the think format the spec names, as a hint
    (drafts on the CPU fast path); the text shown is still exactly the model's greedy answer."""
    from scheduler import build_messages, reference_answer

    side = Side("base", ModelSpec(str(tiny_llama), label="tiny", think=think))
    settings = SamplingSettings(max_new_tokens=24)
    backend = pool.get(side.spec)
    seen = []
    original = backend.fast.decode

    def recording(ids, max_new, stop=None, hint_ids=None):
        seen.append(hint_ids)
        return original(ids, max_new, stop, hint_ids=hint_ids)

    backend.fast.decode = recording
    try:
        last = list(run_lane(side, PROBLEM, settings, pool))[-1]
    finally:
        del backend.fast.decode
    want_hint = backend.tokenizer(reference_answer(PROBLEM, think), add_special_tokens=False)["input_ids"]
    assert seen == [want_hint]
    assert last.text == backend.generate([build_messages(PROBLEM)], settings)[0].text


def test_each_lane_sets_its_own_threads_and_takes_the_cores_a_finished_lane_frees():
    """torch's thread count belongs to the thread that sets it: a lane left alone must raise its own."""
    import os

    import torch

    from space.lanes import CpuShare

    cores = os.cpu_count() or 1
    share = CpuShare()
    share.enabled = True
    seen: dict[str, list[int]] = {"first": [], "second": []}
    second_in, first_out = threading.Event(), threading.Event()

    def first():
        with share:
            seen["first"].append(torch.get_num_threads())  # alone so far
            second_in.wait(5)
            share.sync()
            seen["first"].append(torch.get_num_threads())  # two lanes now
        first_out.set()

    def second():
        with share:
            seen["second"].append(torch.get_num_threads())
            second_in.set()
            first_out.wait(5)
            share.sync()
            seen["second"].append(torch.get_num_threads())  # alone again: every core

    a = threading.Thread(target=first)
    a.start()
    while not seen["first"]:
        time.sleep(0.01)
    b = threading.Thread(target=second)
    b.start()
    a.join(10)
    b.join(10)
    assert seen["first"] == [cores, max(1, cores // 2)]
    assert seen["second"] == [max(1, cores // 2), cores]
