"""Problem datasets for training: the mix, determinism, no test leak, and rows the rewards can read."""

import pytest

import scheduler
from training.data import (
    assert_disjoint_from_test,
    generated_rows,
    grpo_example,
    mix_summary,
    problem_rows,
    sft_example,
)


def test_generated_mix_follows_hard_fraction_and_seed():
    rows = generated_rows(40, seed=3, hard_fraction=0.25)
    assert len(rows) == 40
    assert sum(len(r["events"]) >= 10 for r in rows) == 10  # hard preset: 10-16 events; canonical: 4-8
    assert rows == generated_rows(40, seed=3, hard_fraction=0.25)
    assert rows != generated_rows(40, seed=4, hard_fraction=0.25)


@pytest.mark.parametrize("split", ["test", "hard"])
def test_a_test_problem_is_refused(split):
    leaked = scheduler.load_split(split)[5]
    rows = generated_rows(5, seed=0, hard_fraction=0.0) + [leaked]
    with pytest.raises(AssertionError, match="evaluation test problems"):
        assert_disjoint_from_test(rows)


def test_train_split_and_generated_rows_pass_the_leak_check():
    assert len(problem_rows("train", 0, seed=0, hard_fraction=0.0)) == 500
    assert len(problem_rows("train", 50, seed=0, hard_fraction=0.0)) == 50
    assert len(problem_rows("generated", 30, seed=0, hard_fraction=0.5)) == 30


@pytest.mark.parametrize("kwargs", [dict(source="web"), dict(hard_fraction=1.5), dict(num_problems=0)])
def test_bad_data_arguments_say_what_is_wrong(kwargs):
    args = dict(source="generated", num_problems=10, seed=0, hard_fraction=0.5) | kwargs
    with pytest.raises(ValueError):
        problem_rows(**args)


def test_sft_example_is_prompt_completion_with_the_reference_answer():
    row = generated_rows(1, seed=8, hard_fraction=1.0)[0]
    ex = sft_example(row)
    assert ex["prompt"] == scheduler.build_messages(row["prompt"])
    answer = ex["completion"][0]
    assert answer["role"] == "assistant"
    verdict = scheduler.score_row(answer["content"], row)
    assert verdict.verdict == "valid" and verdict.score == 1.0


def test_grpo_columns_reach_the_rewards():
    rows = generated_rows(4, seed=9, hard_fraction=0.5)
    examples = [grpo_example(r) for r in rows]
    completions = [[{"role": "assistant", "content": sft_example(r)["completion"][0]["content"]}] for r in rows]
    columns = {c: [ex[c] for ex in examples] for c in ("events", "priority_events", "optimal_score")}
    totals = [sum(parts) for parts in zip(*(f(completions, **columns) for f in scheduler.reward_funcs("default")))]
    assert totals == pytest.approx([100.0] * 4)


def test_mix_summary_counts_events():
    rows = generated_rows(20, seed=1, hard_fraction=0.5)
    summary = mix_summary(rows)
    assert summary["problems"] == 20 and summary["events_min"] >= 4 and summary["events_max"] <= 16


@pytest.mark.parametrize("think", ["v2", "short", "scan"])
def test_diverse_names_and_each_think_format_give_valid_optimal_targets(think):
    from scheduler.names import all_names

    rows = generated_rows(40, seed=3, hard_fraction=0.5, name_source="diverse")
    names = {ev[0] for r in rows for ev in r["events"]}
    assert names & set(all_names("train")), "the diverse source draws from the training pool"
    assert not names & set(all_names("heldout")), "never from the held-out pool"
    for row in rows:
        answer = sft_example(row, think)["completion"][0]["content"]
        assert scheduler.score_row(answer, row).score == 1.0
    with pytest.raises(ValueError, match="name source"):
        generated_rows(2, seed=3, hard_fraction=0.0, name_source="klingon")


def test_coined_names_give_valid_optimal_recap_targets_and_pass_the_leak_check():
    rows = generated_rows(60, seed=4, hard_fraction=0.5, name_source="coined")
    assert_disjoint_from_test(rows)
    for row in rows:
        answer = sft_example(row, "recap")["completion"][0]["content"]
        assert scheduler.score_row(answer, row).score == 1.0
