"""Users at once against the real app: the short CI run of benchmarks/app_concurrency.py (3 clients,
both model lanes, 16 new tokens) against the session's ``python app.py``."""

import pytest

# benchmarks/ is on the path (tests/app/conftest.py starts the app with the benchmark's start_app).
from app_concurrency import concurrency_report, percentiles, pick_problems, run_clients

pytestmark = pytest.mark.concurrency
CLIENTS = 3


def test_clients_at_once_each_get_their_own_problem_answered(server):
    problems = pick_problems(CLIENTS, skip=10)
    report = run_clients(server, problems, ["base", "tuned"], {"base": ["base"], "tuned": ["tuned"]},
                         max_new_tokens=16, timeout_s=300)
    assert report["problems"] == {} and report["answered"] == CLIENTS
    for lane in ("base", "tuned", "solver lane", "all lanes answered"):
        assert report["latency_s"][lane]["n"] == CLIENTS
    for model in report["concurrency"].values():  # one queue per model, concurrency_limit=1
        assert model["requests"] == CLIENTS and model["most_at_once_seen"] == 1 and model["ok"], model


def test_the_limit_check_sees_overlapping_generations():
    def client(base_start, base_end, seconds):
        job = {"lane": "base", "started": base_start, "ended": base_end, "generation_s": seconds}
        return {"jobs": {"base": job}}

    queued = [client(0.0, 2.0, 1.9), client(2.05, 4.0, 1.9)]  # handed over: one after the other
    (row,) = concurrency_report(queued, {"m": ["base"]}, wall_s=4.0).values()
    assert row["most_at_once_seen"] == 1 and row["ok"]
    together = [client(0.0, 4.0, 3.9), client(0.1, 4.0, 3.8)]  # both generating at once
    (row,) = concurrency_report(together, {"m": ["base"]}, wall_s=4.0).values()
    assert row["most_at_once_seen"] == 2 and not row["ok"]
    assert percentiles([3.0, 1.0, 2.0]) == {"p50": 2.0, "p90": 3.0, "max": 3.0, "n": 3}
