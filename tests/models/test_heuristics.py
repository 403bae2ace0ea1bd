"""Rule baselines: what they keep, that they never overlap when they should not, and their backend."""

import pytest

from models.backend import SamplingSettings
from models.errors import ModelLoadError
from models.generation import load_backend
from models.heuristics import greedy_by_weight, keep_priorities
from models.specs import ModelSpec
from scheduler import Event, Problem, build_messages, load_problems, score_completion, solve


def overlaps(events):
    return any(a.end > b.start for a, b in zip(events, events[1:]))


def test_greedy_takes_the_heaviest_compatible_events():
    problem = Problem.create(
        [Event("A", 60, 120), Event("B", 90, 240), Event("C", 240, 300), Event("D", 100, 110)], ["A"]
    )
    # Values: A 2x60=120, B 150, C 60, D 10 -> B first, then C (touching B is fine); A and D overlap B.
    assert [e.name for e in greedy_by_weight(problem)] == ["B", "C"]
    assert [e.name for e in keep_priorities(problem)] == ["A"]


@pytest.mark.parametrize("split", ["test", "hard"])
def test_on_the_splits(split):
    for problem in load_problems(split, prefer_hub=False):
        greedy = greedy_by_weight(problem)
        assert greedy == sorted(greedy, key=lambda e: e.start) and not overlaps(greedy)
        assert sum(problem.value(e) for e in greedy) <= solve(problem).score
        assert {e.name for e in keep_priorities(problem)} == set(problem.priorities)


def test_backend_answers_in_the_prompt_format():
    problems = load_problems("test", prefer_hub=False)[:10]
    backend = load_backend(ModelSpec("heuristic:greedy"))
    results = backend.generate([build_messages(p) for p in problems], SamplingSettings())
    assert all(score_completion(r.text, p).verdict == "valid" for r, p in zip(results, problems))
    assert all(r.n_new_tokens == 0 for r in results)
    # A problem the user format cannot carry (past midnight, only in the canonical train rows) is a format error.
    (odd,) = backend.generate([build_messages("Events:\n- Party (23:00 - 24:30)")], SamplingSettings())
    assert "could not read this problem" in odd.text
    with pytest.raises(ModelLoadError, match="takes no adapter"):
        load_backend(ModelSpec("heuristic:greedy", adapter="x"))
