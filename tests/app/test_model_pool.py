"""The app's model pool under concurrent first use: both lanes start loading at the same moment."""

import threading

import torch

from models.specs import ModelSpec
from models.tiny import build_tiny_model
from space.lanes import ModelPool


def test_models_requested_at_once_all_load_whole(tiny_llama, tmp_path):
    """transformers' from_pretrained is not thread-safe: two loads at once failed ("Cannot copy out of
    meta tensor") or left weights missing, until the pool loaded one model at a time."""
    specs = [ModelSpec(str(tiny_llama)), ModelSpec(str(build_tiny_model(tmp_path / "tiny-qwen2", arch="qwen2")))]
    expected = {spec: ModelPool(backend="transformers", device="cpu").get(spec) for spec in specs}
    ids = torch.tensor([[1, 2, 3, 4]])
    for _ in range(2):
        pool, failures, got = ModelPool(backend="transformers", device="cpu"), [], {}

        def load(spec):
            try:
                got[spec] = pool.get(spec)
            except Exception as err:  # recorded, so the assertion below shows what went wrong
                failures.append(f"{type(err).__name__}: {err}")

        threads = [threading.Thread(target=load, args=(spec,)) for spec in specs * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        for spec in specs:
            with torch.no_grad():
                assert torch.equal(got[spec].loaded.model(ids).logits, expected[spec].loaded.model(ids).logits)


def test_a_lane_shows_loading_then_waits_for_a_busy_model(tiny_llama):
    """First use: the lane says what it is loading; a model busy with another request: the lane says so."""
    from models.backend import SamplingSettings
    from scheduler import parse_problem
    from space.config import Side
    from space.lanes import run_lane

    problem = parse_problem("Events:\n- A (09:00 - 10:00)\n- B (09:30 - 11:00)\n- C (11:00 - 12:00)")
    side = Side("tuned", ModelSpec(str(tiny_llama)))
    pool = ModelPool(backend="transformers", device="cpu")
    updates = list(run_lane(side, problem, SamplingSettings(max_new_tokens=4), pool))
    assert 'data-lane-state="loading"' in updates[0].html and "first use only" in updates[0].html
    assert "Loading the weights of" in pool.progress(side.spec)
    assert updates[-1].done and 'data-lane-state="done"' in updates[-1].html

    lock = pool.generation_lock(side.spec)
    lock.acquire()  # another request is generating with this model
    lane = run_lane(side, problem, SamplingSettings(max_new_tokens=4), pool)
    waiting = next(u for u in lane if u.html and "data-lane-state" in u.html)
    assert 'data-lane-state="waiting"' in waiting.html and "answering another request" in waiting.html
    lock.release()
    rest = list(lane)
    assert rest[-1].done and 'data-lane-state="done"' in rest[-1].html


def test_stop_ends_a_lane_with_a_stopped_card(tiny_llama):
    from models.backend import SamplingSettings
    from scheduler import parse_problem
    from space.config import Side
    from space.lanes import run_lane

    problem = parse_problem("Events:\n- A (09:00 - 10:00)\n- B (09:30 - 11:00)")
    side = Side("base", ModelSpec(str(tiny_llama)))
    pool = ModelPool(backend="transformers", device="cpu")
    pool.get(side.spec)
    stop = threading.Event()
    shown = []
    for update in run_lane(side, problem, SamplingSettings(max_new_tokens=200), pool, stop=stop):
        shown.append(update)
        if update.text:
            stop.set()
    assert 'data-lane-state="stopped"' in shown[-1].html and shown[-1].done
    assert len([u for u in shown if u.text]) <= 2  # it stopped at the next token, not at 200
    assert pool.generation_lock(side.spec).acquire(blocking=False)  # and let the model go
