import pytest

from scheduler import Event, Problem, SchedulerError, load_split, parse_problem, parse_time


@pytest.mark.parametrize("split", ["train", "test", "hard"])
def test_rows_render_back_byte_for_byte(split):
    for row in load_split(split):
        problem = Problem.from_row(row)
        assert problem.to_prompt() == row["prompt"]
        if split != "train":  # train has rows past midnight, which user input may not have
            assert parse_problem(row["prompt"]).to_prompt() == row["prompt"]


def test_row_round_trip_keeps_columns():
    row = load_split("test")[3]
    from scheduler.generator import problem_to_row

    again = problem_to_row(Problem.from_row(row))
    assert {k: again[k] for k in row if k in again} == {k: row[k] for k in ("events", "priority_events", "optimal_score", "prompt")}


def test_parse_tolerates_whitespace_and_crlf():
    text = "  Events:\r\n- A (09:00 - 10:00)\r\n-  B  (09:30 - 11:00)\r\n\r\nPriorities:\r\n- B\r\n"
    p = parse_problem(text)
    assert [e.name for e in p.events] == ["A", "B"] and p.priorities == {"B"}
    assert p.events[1] == Event("B", 570, 660)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("Events:\n", "no events"),
        ("Events:\n- A (24:00 - 25:00)", "outside the day"),
        ("Events:\n- A (7:5 - 08:00)", "HH:MM"),
        ("Events:\n- A (25:61 - 26:00)", "outside the day"),
        ("Events:\n- A (10:00 - 09:00)", "ends"),
        ("Events:\n- A (10:00 - 10:00)", "ends"),
        ("Events:\n- A (09:00 - 10:00)\n- A (11:00 - 12:00)", "twice"),
        ("Events:\n- A (09:00 - 10:00)\n\nPriorities:\n- B", "names no event"),
        ("- A (09:00 - 10:00)", "before the 'Events:' header"),
        ("Events:\nA 09:00 10:00", "should start with '- '"),
        ("Events:\n- A at nine", "is not an event"),
        ("Events:\n- <script>x</script> (09:00 - 10:00)", "'<'"),
        ("Events:\n- " + "x" * 200 + " (09:00 - 10:00)", "limit is"),
        ("Events:\n" + "\n".join(f"- E{i} (09:00 - 10:00)" for i in range(100)), "limit is"),
    ],
)
def test_bad_input_is_one_clear_error(text, fragment):
    with pytest.raises(SchedulerError) as err:
        parse_problem(text)
    assert fragment in str(err.value)


def test_parse_time_bounds():
    assert parse_time("00:00") == 0 and parse_time("23:59") == 1439
    for bad in ("24:00", "12:60", "1:00", "12:5", "ab:cd", "", "١٢:٠٠"):
        with pytest.raises(SchedulerError):
            parse_time(bad)
    assert parse_time("24:59", past_midnight=True) == 1499


def test_weights():
    p = Problem.create([Event("A", 0, 30), Event("B", 60, 90)], ["B"])
    assert p.value(p.events[0]) == 30 and p.value(p.events[1]) == 60


def test_the_overlap_rule_is_named_once_with_its_touching_convention():
    from scheduler.events import clock_minutes, overlaps, weight

    assert overlaps(540, 600, 570, 660) and overlaps(570, 660, 540, 600)
    assert not overlaps(540, 600, 600, 660)  # the task's rule: touching is allowed
    assert overlaps(540, 600, 600, 660, touching=True)  # the canonical filter's and compat rewards' rule
    assert not overlaps(540, 600, 601, 660, touching=True)
    assert weight("A", {"A"}) == 2 and weight("B", {"A"}) == 1
    assert clock_minutes("09:30") == 570 and clock_minutes("24:10") == 1450  # answers are compared as written
