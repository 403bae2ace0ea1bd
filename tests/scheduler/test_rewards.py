import math

from hypothesis import given, settings, strategies as st

from scheduler import (
    Event,
    Problem,
    breakdown,
    format_reward,
    load_split,
    order_reward,
    reference_answer,
    reward_funcs,
    score_reward,
    score_reward_compat,
)
from scheduler.reference import render_schedule
from scheduler.rewards import programme_reward
from scheduler.solver import solve


def answer(*events, think="ok"):
    return f"<think>{think}</think>\n" + render_schedule(list(events))


ROWS = load_split("test")[:8]
COLS = {k: [r[k] for r in ROWS] for k in ("events", "priority_events", "optimal_score")}


def test_reference_answers_earn_full_reward():
    completions = [reference_answer(Problem.from_row(r)) for r in ROWS]
    f, o, s = (fn(completions, **COLS) for fn in reward_funcs("default"))
    assert f == [10.0] * 8 and o == [20.0] * 8 and all(math.isclose(x, 70.0) for x in s)


def test_mixed_batch_valid_and_invalid():
    good = reference_answer(Problem.from_row(ROWS[0]))
    completions = [good, "no format at all", good.replace("<think>", "<thinking>"), ""]
    cols = {k: [v[0]] * 4 for k, v in COLS.items()}
    assert format_reward(completions, **cols) == [10.0, 0.0, 0.0, 0.0]
    assert order_reward(completions, **cols) == [20.0, 0.0, 20.0, 0.0]
    s = score_reward(completions, **cols)
    assert math.isclose(s[0], 70.0) and s[1] == 0.0 and math.isclose(s[2], 70.0) and s[3] == 0.0


def test_conversational_completions_are_accepted():
    good = reference_answer(Problem.from_row(ROWS[0]))
    cols = {k: [v[0]] for k, v in COLS.items()}
    assert format_reward([[{"role": "assistant", "content": good}]], **cols) == [10.0]


def test_touching_events_compat_vs_default():
    a, b = Event("A", 60, 120), Event("B", 120, 180)
    p = Problem.create([a, b])
    cols = {"events": [[list(a.as_strings()), list(b.as_strings())]], "priority_events": [[]], "optimal_score": [120]}
    text = answer(a, b)
    assert score_reward([text], **cols) == [70.0]
    # The original reward counted touching events as overlapping and dropped both.
    assert score_reward_compat([text], **cols) == [0.0]
    assert breakdown(text, p).total == 100.0 and breakdown(text, p, mode="compat").total == 30.0
    assert breakdown(text, p, mode="compat").overlapping == [("A", "B")]


def test_overlapping_pair_is_dropped_and_unknown_zeroes():
    a, b, c = Event("A", 60, 120), Event("B", 90, 150), Event("C", 200, 260)
    p = Problem.create([a, b, c], ["C"])
    cols = {"events": [[list(e.as_strings()) for e in (a, b, c)]], "priority_events": [["C"]], "optimal_score": [solve(p).score]}
    assert score_reward([answer(a, b, c)], **cols) == [70.0 * 120 / 180]
    fake = answer(a, Event("Z", 300, 320))
    assert score_reward([fake], **cols) == [0.0]
    bd = breakdown(fake, p)
    assert bd.unknown == [("Z", "05:00", "05:20")] and bd.verdict == "non_existing"
    dup = answer(a, a, c)
    assert score_reward([dup], **cols) == [0.0] and breakdown(dup, p).duplicates == ["A"]


def test_breakdown_reports_order_and_drops():
    a, b, c = Event("A", 60, 120), Event("B", 130, 150), Event("C", 200, 260)
    p = Problem.create([a, b, c])
    bd = breakdown(answer(c, a), p)
    assert bd.order_reward == 0.0 and bd.out_of_order == ["A"] and bd.verdict == "unsorted"
    assert bd.dropped == ["B"] and "order" in bd.failed_rules
    d = bd.to_dict()
    assert d["scheduled"][0] == ["C", "03:20", "04:20"]


@settings(max_examples=1500, deadline=None)
@given(st.text(), st.sampled_from(["default", "compat"]))
def test_rewards_never_raise_and_stay_in_range(text, mode):
    cols = {k: [v[0]] for k, v in COLS.items()}
    f, o, s = (fn([text], **cols)[0] for fn in reward_funcs(mode))
    assert f in (0.0, 10.0) and o in (0.0, 20.0) and 0.0 <= s <= 70.0
    assert programme_reward([text], **cols) == [0.0]  # no dp programme in it
    bd = breakdown(text, Problem.from_row(ROWS[0]), mode=mode)
    assert 0.0 <= bd.total <= 100.0


def test_missing_or_malformed_columns_give_zero_not_an_error():
    text = reference_answer(Problem.from_row(ROWS[0]))
    assert score_reward([text]) == [0.0]
    assert score_reward([text], events=[None], priority_events=[None], optimal_score=["x"]) == [0.0]


def test_exact_reward_is_the_published_score_and_nothing_for_a_broken_rule():
    from scheduler import Problem, load_split, reference_answer
    from scheduler.reference import render_schedule
    from scheduler.rewards import exact_reward

    row = load_split("test")[0]
    problem = Problem.from_row(row)
    optimal = reference_answer(problem, "scan")
    everything = "<think>x</think>" + render_schedule(sorted(problem.events, key=lambda e: e.start))  # overlaps
    misspelt = optimal.replace("<name>Jam session</name>", "<name> Jam session</name>")
    partial = "<think>x</think>" + render_schedule([problem.events[0], problem.events[1]])
    completions = [optimal, everything, misspelt, partial, "", None, 7, [{"role": "assistant", "content": optimal}]]
    n = len(completions)
    rewards = exact_reward(completions, events=[row["events"]] * n, priority_events=[row["priority_events"]] * n,
                           optimal_score=[row["optimal_score"]] * n)
    assert rewards[0] == 70.0 and rewards[-1] == 70.0
    assert rewards[1] == 0.0 and rewards[2] == 0.0 and rewards[4:7] == [0.0, 0.0, 0.0]
    assert 0.0 < rewards[3] < 70.0
    assert exact_reward(["x"]) == [0.0]  # no columns: nothing to judge against, still one value


def test_programme_reward_pays_for_the_dp_lines_right_before_the_first_wrong_one():
    import re

    from scheduler.reference import dp_table
    from scheduler.rewards import PROGRAMME_POINTS

    row = load_split("hard")[0]
    problem = Problem.from_row(row)
    n = len(problem.events)
    cols = {k: [row[k]] for k in ("events", "priority_events", "optimal_score")}
    right = reference_answer(problem, "dplocal")
    # the sum of the line written third from the last event back: two lines right before it
    number = n - 2
    line = next(text for text in right.splitlines() if text.startswith(f"{number}. ") and "take" in text)
    bent = right.replace(line, re.sub(r"= (\d+),", lambda m: f"= {int(m[1]) + 5},", line, count=1))
    assert dp_table(problem).events and bent != right
    assert programme_reward([right], **cols) == [PROGRAMME_POINTS]
    assert programme_reward([bent], **cols) == [PROGRAMME_POINTS * 2 / (n + 1)]
    walked = re.sub(r"^Walk: 1 (take -> \d+|skip)", lambda m: "Walk: 1 " + ("skip" if "take" in m[1] else "take -> 2"),
                    right, flags=re.M)
    assert walked != right and programme_reward([walked], **cols) == [PROGRAMME_POINTS * n / (n + 1)]
    assert programme_reward([reference_answer(problem, "recap"), "", None, 7], **{k: v * 4 for k, v in cols.items()}) == [0.0] * 4
    assert programme_reward([right]) == [0.0]  # no columns: no problem to check against
    conversational = [{"role": "assistant", "content": reference_answer(problem, "dp")}]
    assert programme_reward([conversational], **cols) == [PROGRAMME_POINTS]


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_a_dp_think_bent_anywhere_never_raises_and_earns_within_range(data):
    """Any one character of a dp-format reference answer replaced, cut short or doubled."""
    from scheduler.dp_check import STEPS, first_wrong
    from scheduler.rewards import PROGRAMME_POINTS

    row = ROWS[data.draw(st.integers(0, len(ROWS) - 1))]
    problem = Problem.from_row(row)
    text = reference_answer(problem, data.draw(st.sampled_from(["dp", "dpcheck", "dplocal", "dpset"])))
    at = data.draw(st.integers(0, len(text) - 1))
    how = data.draw(st.sampled_from(["replace", "cut", "double"]))
    if how == "replace":
        text = text[:at] + data.draw(st.characters()) + text[at + 1:]
    elif how == "cut":
        text = text[:at]
    else:
        text = text[:at] + text[at:] * 2
    wrong = first_wrong(problem, text)
    assert wrong is None or wrong.step in STEPS
    reward = programme_reward([text], events=[row["events"]], priority_events=[row["priority_events"]])[0]
    assert 0.0 <= reward <= PROGRAMME_POINTS
