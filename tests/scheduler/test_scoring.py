import random

from scheduler import Event, Problem, aggregate, judge, load_split, reference_answer, score_completion, score_row
from scheduler.reference import render_schedule


def test_reference_answers_are_all_valid_with_full_score():
    rows = load_split("test")
    verdicts = [score_row(reference_answer(Problem.from_row(r)), r) for r in rows]
    m = aggregate(verdicts)
    assert m["valid_schedules"] == 100 and m["mean_score"] == 100.0 and m["mean_score_stderr"] == 0.0


def test_shuffled_answers_are_unsorted():
    rng = random.Random(0)
    for row in load_split("test")[:20]:
        p = Problem.from_row(row)
        events = list(p.events)
        while [e.start for e in events] == sorted(e.start for e in events):
            rng.shuffle(events)
        assert score_row(render_schedule(events), row).verdict == "unsorted"


def test_precedence_of_the_published_rules():
    a, b, c = Event("A", 60, 120), Event("B", 90, 150), Event("C", 150, 200)
    p = Problem.create([a, b, c], ["A"])
    assert score_completion("nothing", p).verdict == "format_error"
    assert score_completion(render_schedule([a]), p).verdict == "less_than_2_events"
    assert score_completion(render_schedule([a, Event("A", 60, 121)]), p).verdict == "non_existing"
    assert score_completion(render_schedule([a, a]), p).verdict == "non_existing"
    # non_existing is checked before order
    assert score_completion(render_schedule([c, Event("Z", 0, 10)]), p).verdict == "non_existing"
    assert score_completion(render_schedule([c, a]), p).verdict == "unsorted"
    assert score_completion(render_schedule([a, b]), p).verdict == "overlaps"
    v = score_completion(render_schedule([b, c]), p)  # touching is allowed by the evaluation
    assert v.verdict == "valid" and v.achieved == 110 and v.optimal == 170
    assert abs(v.score - 110 / 170) < 1e-12


def test_events_drafted_in_think_count_as_in_the_published_scorer():
    a, b = Event("A", 60, 120), Event("B", 130, 150)
    p = Problem.create([a, b])
    text = "<think>" + render_schedule([a]) + "</think>" + render_schedule([a, b])
    assert score_completion(text, p).verdict == "non_existing"  # A appears twice in the text


def test_aggregate_stderr():
    from scheduler import Verdict

    m = aggregate([Verdict("valid", 1.0), Verdict("format_error", 0.0)])
    assert m["mean_score"] == 50.0 and abs(m["mean_score_stderr"] - 50.0) < 1e-9
    assert m["valid_schedules"] == 1 and m["format_errors"] == 1 and m["n"] == 2


def test_judge_never_raises_on_garbage_columns():
    assert judge("<schedule>", None or [], [], 0).verdict == "format_error"
    assert judge(None, [], [], 0).verdict == "format_error"
