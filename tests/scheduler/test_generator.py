import statistics

import pytest

from scheduler import PRESETS, GeneratorConfig, Problem, SchedulerError, generate_rows, load_split, reference_answer, score_row
from scheduler.generator import problem_key


def test_same_seed_same_rows_and_random_access():
    a = generate_rows(20, seed=7)
    assert a == generate_rows(20, seed=7)
    assert a[5:10] == generate_rows(5, seed=7, start=5)
    assert a != generate_rows(20, seed=8)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_rows_have_the_dataset_structure_and_reference_scores_full(preset):
    cfg = PRESETS[preset]
    for row in generate_rows(100, seed=3, preset=preset):
        p = Problem.from_row(row)
        assert p.to_prompt() == row["prompt"]
        assert cfg.min_events <= len(p.events) <= cfg.max_events
        assert all(ev.end <= 23 * 60 + 59 for ev in p.events)
        assert row["optimal_schedule"] and row["optimal_score"] > 0
        v = score_row(reference_answer(p), row)
        assert v.verdict == "valid" and v.score == 1.0


def test_canonical_preset_matches_the_spec_distribution():
    rows = generate_rows(2000, seed=11)
    sizes = [len(r["events"]) for r in rows]
    assert set(sizes) == {4, 5, 6, 7, 8}
    assert 5.5 < statistics.mean(sizes) < 6.5
    canon = load_split("train")
    ratio = statistics.mean(len(r["priority_events"]) / len(r["events"]) for r in rows)
    canon_ratio = statistics.mean(len(r["priority_events"]) / len(r["events"]) for r in canon)
    assert abs(ratio - canon_ratio) < 0.03


def test_hard_preset_is_harder():
    rows = generate_rows(200, seed=1, preset="hard")
    assert statistics.mean(len(r["events"]) for r in rows) > 11


def test_generated_rows_never_contain_a_test_problem():
    test_keys = {problem_key(Problem.from_row(r)) for split in ("test", "hard") for r in load_split(split)}
    rows = generate_rows(3000, seed=0) + generate_rows(300, seed=2026, preset="hard")
    assert not {problem_key(Problem.from_row(r)) for r in rows} & test_keys


def test_config_validation_says_what_is_wrong():
    with pytest.raises(SchedulerError, match="max_events"):
        generate_rows(1, preset=GeneratorConfig(min_events=5, max_events=3))
    with pytest.raises(SchedulerError, match="Unknown generator preset"):
        generate_rows(1, preset="nope")
