"""Names people write: what the core accepts and refuses, the name pools, the pool presets, the names split."""

import json
import random
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler import (
    PRESETS, GeneratorConfig, Problem, SchedulerError, generate_rows, load_split, parse_problem, reference_answer,
    score_row, solve,
)
from scheduler.cli import main as cli_main
from scheduler.generator import _excluded_keys, event_names, problem_key
from scheduler.events import MAX_NAME_LENGTH
from scheduler.names import all_names, build_pools, coin, name_pool, qualify
from scheduler.rewards import reward_funcs

ROOT = Path(__file__).resolve().parents[2]

ACCEPTED = [
    "Gym (legs)", "Lunch (with Bob) (and Ann)", "Review #990", "Flight LH 431 to Lisbon", "1:1 with Ana",
    "Q3 planning - budget/roadmap", "Tom & Jerry's party!", "Café com a Zé", "Straße 5, Köln", "会議 (東京)",
    "회의", "مراجعة المشروع", "🎉 Party 🎂", "x", "(", ")", "Shift (day - night)", "Lunch (12:00 - 13:00)",
    "A" * 80,
]
REFUSED = [
    ("", "non-empty"), ("   ", "non-empty"), (" Gym", "starts or ends with spaces"), ("Gym ", "starts or ends with spaces"),
    ("A" * 81, "the limit is 80"), ("<b>Gym</b>", "'<' or '>'"), ("a > b", "'<' or '>'"),
    ("Gym\nlegs", "line break"), ("Gym\rlegs", "line break"), ("Gym\tlegs", "non-printable"),
    ("Red\x1b[31m", "non-printable"), ("\u200b", "non-printable"), ("a\u202eb", "non-printable"),
    ("NUL\x00", "non-printable"), ("a\u2028b", "non-printable"),
]


def one_event_prompt(name: str) -> str:
    return f"Events:\n- {name} (11:00 - 12:00)\n- Other (11:30 - 13:00)\n\nPriorities:\n- {name}"


@pytest.mark.parametrize("name", ACCEPTED)
def test_printable_names_parse_from_the_prompt_and_round_trip(name):
    problem = parse_problem(one_event_prompt(name))
    assert problem.events[0].name == name and problem.priority_order == (name,)
    assert (problem.events[0].start, problem.events[0].end) == (11 * 60, 12 * 60)
    assert parse_problem(problem.to_prompt()) == problem
    assert Problem.from_row({"events": [[name, "11:00", "12:00"]], "priority_events": [name]}).events[0].name == name


@pytest.mark.parametrize("name,message", REFUSED)
def test_unprintable_or_unsafe_names_are_refused_with_a_sentence(name, message):
    with pytest.raises(SchedulerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Problem.from_row({"events": [[name, "11:00", "12:00"]], "priority_events": []})


def test_the_time_group_is_the_trailing_one():
    problem = parse_problem("Events:\n- Gym (legs) (11:00 - 12:00)\n- A (x - y) (b) (12:00 - 13:30)")
    assert [ev.as_strings() for ev in problem.events] == [("Gym (legs)", "11:00", "12:00"), ("A (x - y) (b)", "12:00", "13:30")]
    for bad in ("- Gym (legs)", "- Gym (11:00 - 12:00) (legs)", "- (11:00 - 12:00)"):
        with pytest.raises(SchedulerError, match="is not an event"):
            parse_problem(f"Events:\n{bad}")


def test_a_long_line_of_parentheses_is_refused_quickly():
    import time

    started = time.perf_counter()
    with pytest.raises(SchedulerError):
        parse_problem("Events:\n- " + "( - " * 240 + "x")
    with pytest.raises(SchedulerError, match="characters long"):
        parse_problem("Events:\n- " + "(" * 5000 + " (10:00 - 11:00)")
    assert time.perf_counter() - started < 1.0


def test_scoring_and_rewards_handle_names_with_parentheses():
    row = {"events": [["Gym (legs)", "09:00", "10:00"], ["Review #990", "09:30", "11:00"], ["Café & co.", "11:00", "12:00"]],
           "priority_events": ["Gym (legs)"]}
    problem = Problem.from_row(row)
    row["optimal_score"] = solve(problem).score
    answer = reference_answer(problem)
    assert "<name>Gym (legs)</name>" in answer and "<name>Café & co.</name>" in answer
    assert "<name>Review #990</name>" not in answer
    verdict = score_row(answer, row)
    assert verdict.verdict == "valid" and verdict.score == 1.0
    renamed = answer.replace("Gym (legs)", "Gym legs")  # an event the problem does not have
    completions = [[{"role": "assistant", "content": text}] for text in (answer, renamed)]
    totals = [0.0, 0.0]
    for func in reward_funcs():
        got = func(completions=completions, events=[row["events"]] * 2, priority_events=[row["priority_events"]] * 2,
                   optimal_score=[row["optimal_score"]] * 2)
        totals = [t + g for t, g in zip(totals, got)]
    assert totals[0] > totals[1]


def test_cli_prints_the_schedule_of_names_with_parentheses(tmp_path, capsys):
    path = tmp_path / "p.txt"
    path.write_text("Events:\n- Gym (legs) (09:00 - 10:00)\n- 会議 (東京) (09:30 - 11:00)\n\nPriorities:\n- Gym (legs)\n",
                    encoding="utf-8")
    assert cli_main([str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in data["schedule"]] == ["Gym (legs)"]
    assert data["optimal_score"] == 120


# --- the pools ---------------------------------------------------------------------------------------

def test_pool_sizes_and_groups():
    train, heldout = name_pool("train"), name_pool("heldout")
    assert len(all_names("train")) >= 3000 and len(train) >= 30
    assert len(all_names("heldout")) >= 600 and len(heldout) >= 10
    for pool in (train, heldout):
        assert min(len(names) for names in pool.values()) >= 16  # a diverse-hard problem fits in one group
        flat = [n for names in pool.values() for n in names]
        assert len(flat) == len({n.casefold() for n in flat})  # unique, also across groups


def test_every_pool_name_is_valid_and_survives_the_prompt():
    for pool in ("train", "heldout"):
        for name in all_names(pool):
            assert parse_problem(one_event_prompt(name)).events[0].name == name


def test_heldout_is_disjoint_from_training_and_canonical():
    train = {n.casefold() for n in all_names("train")}
    heldout = {n.casefold() for n in all_names("heldout")}
    canonical = {n.casefold() for names in event_names().values() for n in names}
    assert not train & heldout
    assert not canonical & (train | heldout)
    assert not set(name_pool("train")) & set(name_pool("heldout"))  # no group shared


def test_pools_cover_scripts_punctuation_and_lengths():
    names = all_names("train")
    assert "Gym (legs)" in names and any(n.startswith("Review #") for n in names)
    assert any(n.startswith("Flight ") and " to " in n for n in names)
    for ch in "#&/:-'.,!()0123456789":
        assert any(ch in n for n in names), ch
    scripts = {"cyrillic": ("\u0400", "\u04ff"), "cjk": ("\u4e00", "\u9fff"), "kana": ("\u3040", "\u30ff")}
    for script, (lo, hi) in scripts.items():
        assert any(lo <= ch <= hi for n in names for ch in n), script
    assert any(len(n) <= 4 for n in names) and any(len(n) >= 60 for n in names)
    heldout = all_names("heldout")
    for lo, hi in (("\uac00", "\ud7af"), ("\u0600", "\u06ff"), ("\u0900", "\u097f")):  # Hangul, Arabic, Devanagari
        assert any(lo <= ch <= hi for n in heldout for ch in n)


def test_the_committed_pools_are_what_the_build_makes():
    pytest.importorskip("faker")
    pools = build_pools()
    for pool in ("train", "heldout"):
        assert {g: tuple(v) for g, v in pools[pool].items()} == name_pool(pool)


def test_the_build_does_not_depend_on_the_hash_seed(tmp_path):
    pytest.importorskip("faker")
    code = ("import json, sys; from scheduler.names import build_pools; "
            "sys.stdout.write(json.dumps(build_pools(), ensure_ascii=False, sort_keys=True))")
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, timeout=120, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")]
    assert outs[0] == outs[1]


# --- the generator -----------------------------------------------------------------------------------

def test_names_config_is_validated():
    with pytest.raises(SchedulerError, match="names must be one of"):
        GeneratorConfig(names="everyone").validate()
    with pytest.raises(SchedulerError, match="canonical_name_probability"):
        GeneratorConfig(names="train", canonical_name_probability=1.5).validate()
    with pytest.raises(SchedulerError, match="smallest group"):
        GeneratorConfig(names="train", min_events=30, max_events=40).validate()
    with pytest.raises(SchedulerError, match="10 names available"):
        GeneratorConfig(names="train", max_events=12, canonical_name_probability=0.25).validate()
    GeneratorConfig(names="heldout", max_events=12).validate()  # no canonical names drawn: the pool suffices
    with pytest.raises(SchedulerError, match="Unknown generator preset"):
        generate_rows(1, preset="diverse-easy")


def test_hard_split_is_reproduced_byte_for_byte():
    """The vendored split was made before it existed, so reproducing it must not exclude itself."""
    rows = generate_rows(100, seed=2026, preset="hard", exclude_test=False)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    assert text == (ROOT / "data" / "hard" / "test.jsonl").read_text(encoding="utf-8")


@pytest.mark.parametrize("split", ["names", "names-hard"])
def test_names_splits_are_reproduced_byte_for_byte(split):
    rows = generate_rows(100, seed=2026, preset=split, exclude_test=False)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    assert text == (ROOT / "data" / split / "test.jsonl").read_text(encoding="utf-8")


def test_the_names_hard_split_is_a_long_day_of_held_out_names_only():
    """A person's own full day: hard sizes, and not one name from the training pool or the canonical 50."""
    from scheduler import load_problems

    problems = load_problems("names-hard")
    held_out, seen = all_names("heldout"), all_names("train") | {n for names in event_names().values() for n in names}
    assert all(10 <= len(p.events) <= 16 for p in problems)
    names = {e.name for p in problems for e in p.events}
    assert names <= held_out and not names & seen


@pytest.mark.parametrize("preset", ["diverse", "diverse-hard"])
def test_diverse_presets_mix_pool_and_canonical_names(preset):
    canonical = {n for names in event_names().values() for n in names}
    train = all_names("train")
    rows = generate_rows(400, seed=5, preset=preset)
    kinds = []
    for row in rows:
        names = [ev[0] for ev in row["events"]]
        assert len(names) == len(set(names))
        if set(names) <= canonical:
            kinds.append("canonical")
        else:
            assert set(names) <= train
            groups = {g for g, members in name_pool("train").items() for n in names if n in members}
            assert 1 <= len(groups) <= 3
            kinds.append("pool")
    share = kinds.count("canonical") / len(kinds)
    assert 0.18 <= share <= 0.32, share
    cfg = PRESETS[preset]
    assert {len(r["events"]) for r in rows} == set(range(cfg.min_events, cfg.max_events + 1))


@pytest.mark.parametrize("preset", ["qualified", "qualified-hard"])
def test_qualified_presets_add_training_only_qualifiers(preset):
    """Some pool names get a trailing "(…)", "[…]" or " - …"; the rest of each problem is the diverse draw's, and no
    qualified name is a held-out or canonical one."""
    train = all_names("train")
    canonical = {n for names in event_names().values() for n in names}
    refused = {n.casefold() for n in all_names("heldout") | canonical}
    rows = generate_rows(400, seed=5, preset=preset)
    assert rows == generate_rows(400, seed=5, preset=preset)
    names = [ev[0] for row in rows for ev in row["events"]]
    extra = [n for n in names if n not in train and n not in canonical]
    pool_names = [n for n in names if n not in canonical]
    assert 0.08 <= len(extra) / len(pool_names) <= 0.22, len(extra) / len(pool_names)
    for name in extra:
        base = re.match(r"^(.*)(?: \((.+)\)| \[(.+)\]| - (.+))$", name)
        assert base and base.group(1) in train, name
        assert name.casefold() not in refused
    for row in rows:
        Problem.from_row(row)  # every name still survives the prompt and the core's checks
    assert any(n.endswith(")") for n in extra) and any(n.endswith("]") for n in extra) and any(" - " in n for n in extra)


@pytest.mark.parametrize("preset", ["coined", "coined-hard"])
def test_coined_presets_replace_first_words_on_top_of_the_qualified_draw(preset):
    """Some pool names get a coined first word ("Brenvik the beds"); the rest is unchanged, no coined name is a
    held-out or canonical one, and the presets they build on draw exactly what they drew before."""
    train = all_names("train")
    canonical = {n for names in event_names().values() for n in names}
    refused = {n.casefold() for n in all_names("heldout") | canonical}
    rows = generate_rows(400, seed=5, preset=preset)
    assert rows == generate_rows(400, seed=5, preset=preset)
    qualified = generate_rows(400, seed=5, preset=preset.replace("coined", "qualified"))
    assert qualified != rows and len(qualified) == len(rows)
    names = [ev[0] for row in rows for ev in row["events"]]
    pool_names = [n for n in names if n not in canonical]
    first_words = {t.partition(" ")[0] for t in train}
    coined = [n for n in pool_names if n.partition(" ")[0] not in first_words]
    assert 0.08 <= len(coined) / len(pool_names) <= 0.25, len(coined) / len(pool_names)
    assert coined and all(n.casefold() not in refused for n in coined)
    for row in rows:
        Problem.from_row(row)


def test_coin_keeps_the_rest_of_the_name_and_its_case():
    rng = random.Random(0)
    for name in ("Weed the beds (front)", "Try new recipe #4600", "Gym (legs)", "café", "홍정훈님과 회의"):
        out = coin(name, rng)
        first, sep, rest = name.partition(" ")
        new_first, new_sep, new_rest = out.partition(" ")
        assert (new_sep, new_rest) == (sep, rest) and new_first != first
        assert new_first.isascii() and 4 <= len(new_first) <= 10
        assert new_first[0].isupper() == first[0].isupper()
    longest = "ab " + "y" * (MAX_NAME_LENGTH - 3)
    assert coin(longest, random.Random(1)) == longest  # too long once coined: unchanged
    with pytest.raises(SchedulerError, match="coined_probability applies to the training pool only"):
        GeneratorConfig(names="heldout", coined_probability=0.1).validate()


def test_qualify_never_returns_a_refused_or_overlong_name():
    rng = random.Random(0)
    heldout = sorted(all_names("heldout"))
    for _ in range(2000):
        name = rng.choice(heldout)[:70]
        out = qualify(name, rng)
        assert len(out) <= MAX_NAME_LENGTH
        assert out == name or out.casefold() not in {n.casefold() for n in heldout}
    assert qualify("x" * 79, random.Random(1)) == "x" * 79


def test_qualifiers_are_for_the_training_pool_only():
    with pytest.raises(SchedulerError, match="training pool only"):
        GeneratorConfig(names="heldout", qualifier_probability=0.1).validate()
    with pytest.raises(SchedulerError, match="qualifier_probability must be within"):
        GeneratorConfig(names="train", qualifier_probability=1.5).validate()


def test_pool_rows_never_contain_a_names_split_problem():
    split = {problem_key(Problem.from_row(r)) for r in load_split("names")}
    assert split <= _excluded_keys()
    heldout = all_names("heldout")
    for preset in ("diverse", "diverse-hard", "qualified", "qualified-hard", "coined", "coined-hard"):
        for row in generate_rows(300, seed=2026, preset=preset):
            assert problem_key(Problem.from_row(row)) not in split
            assert not {ev[0] for ev in row["events"]} & heldout


# --- the names split ---------------------------------------------------------------------------------

def test_names_split_rows():
    rows = load_split("names")
    canonical = {n.casefold() for names in event_names().values() for n in names}
    train = {n.casefold() for n in all_names("train")}
    heldout = all_names("heldout")
    assert len(rows) == 100
    for row in rows:
        problem = Problem.from_row(row)
        assert 4 <= len(problem.events) <= 8
        assert row["optimal_score"] == solve(problem).score
        assert problem.to_prompt() == row["prompt"]
        names = {ev.name for ev in problem.events}
        assert names <= heldout
        assert not {n.casefold() for n in names} & (train | canonical)


def test_eval_score_runs_on_the_names_split(tmp_path):
    rows = load_split("names")
    for i, row in enumerate(rows):
        (tmp_path / f"{i}.txt").write_text(reference_answer(Problem.from_row(row)), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "eval.score", "--completions", str(tmp_path), "--split", "names"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "100 problems of split 'names'" in proc.stdout
