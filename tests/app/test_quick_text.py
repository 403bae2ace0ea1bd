"""Quick text: days typed the way people type them, read into table rows (space/quick_text.py)."""

import pytest

from scheduler import SchedulerError
from space.quick_text import parse_piece, parse_quick_text

# (what a person typed, name, start, end, priority): one event per line, real-world spellings.
READ = [
    ("standup 9-9:15", "standup", "09:00", "09:15", False),
    ("deep work 9:10 to 11", "deep work", "09:10", "11:00", False),
    ("lunch w/ Sam 12pm-1pm", "lunch w/ Sam", "12:00", "13:00", False),
    ("gym 12:30-1:30pm (priority)", "gym", "12:30", "13:30", True),
    ("Dentist 9am-10am", "Dentist", "09:00", "10:00", False),
    ("Dentist 9 am - 10 am", "Dentist", "09:00", "10:00", False),
    ("Team sync 10:00–10:30", "Team sync", "10:00", "10:30", False),
    ("Team sync 10:00 — 10:30", "Team sync", "10:00", "10:30", False),
    ("Movie 21h00-23h", "Movie", "21:00", "23:00", False),
    ("Dinner 19h30 – 21h", "Dinner", "19:30", "21:00", False),
    ("nap 11-1pm", "nap", "11:00", "13:00", False),
    ("Call mom 2-3pm", "Call mom", "14:00", "15:00", False),
    ("Yoga 6:30-7:30am", "Yoga", "06:30", "07:30", False),
    ("Drinks 9pm-11", "Drinks", "21:00", "23:00", False),
    ("Lunch 12-1", "Lunch", "12:00", "13:00", False),
    ("Late lunch 11:30-1", "Late lunch", "11:30", "13:00", False),
    ("Coffee with Ana 10 to 10:30", "Coffee with Ana", "10:00", "10:30", False),
    ("Board meeting from 3pm until 5pm", "Board meeting", "15:00", "17:00", False),
    ("Workshop from 13:00 till 16:00", "Workshop", "13:00", "16:00", False),
    ("9-10 Standup", "Standup", "09:00", "10:00", False),
    ("9:00-9:30: email", "email", "09:00", "09:30", False),
    ("Standup: 9-9:15", "Standup", "09:00", "09:15", False),
    ("Standup (9-9:15)", "Standup", "09:00", "09:15", False),
    ("- Standup (09:00 - 09:15)", "Standup", "09:00", "09:15", False),
    ("• Groceries 17:00-17:45", "Groceries", "17:00", "17:45", False),
    ("Interview @ 2:30pm-3:30pm", "Interview", "14:30", "15:30", False),
    ("Pitch 4-5pm !", "Pitch", "16:00", "17:00", True),
    ("! Pitch 4-5pm", "Pitch", "16:00", "17:00", True),
    ("* Flight check-in 6-7am", "Flight check-in", "06:00", "07:00", True),
    ("Flight check-in 6-7am *", "Flight check-in", "06:00", "07:00", True),
    ("Doctor 8.30-9.15", "Doctor", "08:30", "09:15", False),
    ("Lunch noon-1", "Lunch", "12:00", "13:00", False),
    ("Brunch 11am-noon", "Brunch", "11:00", "12:00", False),
    ("Review 12:30 p.m. - 1:15 p.m.", "Review", "12:30", "13:15", False),
    ("Run 7 AM to 8 AM", "Run", "07:00", "08:00", False),
    ("Sprint 2 review 10-11", "Sprint 2 review", "10:00", "11:00", False),
    ("Room 101 booking 10-11", "Room 101 booking", "10:00", "11:00", False),
    ("1:1 with Bob 3-3:30pm", "1:1 with Bob", "15:00", "15:30", False),
    ("1-on-1 with Bob 15:00-15:30", "1-on-1 with Bob", "15:00", "15:30", False),
    ("Gym (legs) 18-19 (priority)", "Gym (legs)", "18:00", "19:00", True),
    ("Gym (legs) 18-19", "Gym (legs)", "18:00", "19:00", False),
    ("Pick up kids 15:15 → 15:45 [priority]", "Pick up kids", "15:15", "15:45", True),
    ("School run 8-8:30 (p)", "School run", "08:00", "08:30", True),
    ("Café Zoë 16:00-16:30", "Café Zoë", "16:00", "16:30", False),
    ("会议 14:00-15:00", "会议", "14:00", "15:00", False),
    ("Night shift prep 22:00-23:59", "Night shift prep", "22:00", "23:59", False),
    ("Early swim 12am-1am", "Early swim", "00:00", "01:00", False),
]

# Lines that cannot be read, and what the message must say about each.
REFUSED = [
    ("standup", "no time range found"),
    ("Lunch at noon", "no time range found"),
    ("Meeting 10-11 and 14-15", "more than one time range"),
    ("Party 11pm-midnight", "ends at midnight"),
    ("Backwards 15:00-14:00", "no later than it starts"),
    ("Same 10:00-10:00", "no later than it starts"),
    ("Late 25:00-26:00", "outside the day"),
    ("Odd 13pm-14pm", "with am/pm the hour runs from 1 to 12"),
    ("9-10", "no name"),
    ("<b>bold</b> 9-10", "'<' or '>'"),
]


@pytest.mark.parametrize("line, name, start, end, priority", READ, ids=[row[0] for row in READ])
def test_a_typed_line_is_read(line, name, start, end, priority):
    result = parse_quick_text(line)
    assert result.problems == []
    assert result.rows == [{"name": name, "start": start, "end": end, "priority": priority}]


@pytest.mark.parametrize("line, message", REFUSED, ids=[row[0] for row in REFUSED])
def test_an_unreadable_line_gets_one_sentence(line, message):
    result = parse_quick_text(line)
    assert result.rows == [] and len(result.problems) == 1
    problem = result.problems[0]
    assert problem.startswith("Line 1, “") and message in problem and problem.endswith(".")


def test_the_issue_example_comma_separated():
    text = "standup 9-9:15, deep work 9:10 to 11, lunch w/ Sam 12pm-1pm, gym 12:30-1:30pm (priority)"
    result = parse_quick_text(text)
    assert result.problems == []
    assert [(r["name"], r["start"], r["end"], r["priority"]) for r in result.rows] == [
        ("standup", "09:00", "09:15", False), ("deep work", "09:10", "11:00", False),
        ("lunch w/ Sam", "12:00", "13:00", False), ("gym", "12:30", "13:30", True),
    ]


def test_several_lines_each_bad_one_named_the_good_ones_kept():
    text = "Breakfast 8-8:30\nstandup\n\nLunch 12-1, gym 12:30-1:30pm\nParty 10pm-midnight\nLunch 13:00-14:00"
    result = parse_quick_text(text)
    assert [r["name"] for r in result.rows] == ["Breakfast", "Lunch", "gym"]
    assert len(result.problems) == 3
    assert result.problems[0].startswith("Line 2, “standup”")
    assert result.problems[1].startswith("Line 5,") and "midnight" in result.problems[1]
    assert result.problems[2].startswith("Line 6,") and "already used on line 4" in result.problems[2]


def test_a_comma_inside_a_name_before_its_time_is_kept():
    assert parse_quick_text("Coffee, cake and chat 10-11").rows[0]["name"] == "Coffee, cake and chat"


def test_headers_of_the_dataset_format_are_skipped():
    result = parse_quick_text("Events:\n- A (10:00 - 11:00)\n- B (11:00 - 12:00)\n")
    assert [r["name"] for r in result.rows] == ["A", "B"] and result.problems == []


def test_empty_and_huge_text_are_refused_with_a_sentence():
    with pytest.raises(SchedulerError, match="Type some events first"):
        parse_quick_text("   \n ")
    with pytest.raises(SchedulerError, match="limit is"):
        parse_quick_text("x 9-10\n" * 5000)


def test_the_priority_marker_is_not_part_of_the_name():
    assert parse_piece("Gym (legs) 18-19 (priority)") == ("Gym (legs)", 18 * 60, 19 * 60, True)
    assert parse_piece("Deploy! 9-10")[3] is True and parse_piece("Deploy! 9-10")[0] == "Deploy"
