"""Every way a problem gets in: the table, pasted text, CSV, .ics, test and generated problems."""

import pandas as pd
import pytest

from scheduler import SchedulerError, load_problems
from space import inputs

GOOD_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:1
DTSTAMP:20260101T000000Z
SUMMARY:Standup
DTSTART:20260310T090000
DTEND:20260310T093000
PRIORITY:1
END:VEVENT
BEGIN:VEVENT
UID:2
DTSTAMP:20260101T000000Z
SUMMARY:Lunch with  the team
DTSTART;TZID=Europe/Paris:20260310T120000
DURATION:PT1H
END:VEVENT
BEGIN:VEVENT
UID:3
DTSTAMP:20260101T000000Z
SUMMARY:Conference
DTSTART;VALUE=DATE:20260310
DTEND;VALUE=DATE:20260311
END:VEVENT
BEGIN:VEVENT
UID:4
DTSTAMP:20260101T000000Z
SUMMARY:Tomorrow
DTSTART:20260311T100000
DTEND:20260311T110000
END:VEVENT
BEGIN:VEVENT
UID:5
DTSTAMP:20260101T000000Z
SUMMARY:Late show
DTSTART:20260310T230000
DTEND:20260311T010000
END:VEVENT
END:VCALENDAR
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_table_round_trip_and_sorting():
    problem = load_problems("test")[0]
    table = inputs.problem_to_table(problem)
    assert list(table.columns) == inputs.TABLE_COLUMNS
    assert table["priority"].dtype == bool
    assert inputs.table_to_problem(table) == problem
    # A row typed at the bottom lands where its start time puts it; blank rows are ignored.
    edited = pd.concat([table, pd.DataFrame([["Early bird", "00:05", "00:10", "false"], ["", "", "", ""]],
                                            columns=inputs.TABLE_COLUMNS)])
    again = inputs.table_to_problem(edited)
    assert again.events[0].name == "Early bird" and len(again.events) == len(problem.events) + 1


@pytest.mark.parametrize(
    "rows, message",
    [
        ([["Lunch", "12:00", "", False]], "needs both a start and an end"),
        ([["Lunch", "12:00", "25:00", False]], "outside the day"),
        ([["Lunch", "13:00", "12:00", False]], "ends (12:00) before or when it starts"),
        ([["", "12:00", "13:00", False]], "has times but no name"),
        ([["Lunch", "12:00", "13:00", "maybe"]], "is not yes/no"),
        ([["A", "12:00", "13:00", False], ["A", "14:00", "15:00", False]], "used twice"),
        ([["<script>alert(1)</script>", "12:00", "13:00", False]], "contains a line break, '<'"),
        ([], "empty"),
    ],
)
def test_bad_tables_give_a_sentence(rows, message):
    with pytest.raises(SchedulerError, match=None) as err:
        inputs.table_to_problem(pd.DataFrame(rows, columns=inputs.TABLE_COLUMNS))
    assert message in str(err.value)


def test_table_without_columns_and_none():
    with pytest.raises(SchedulerError, match="lacks the column"):
        inputs.table_to_problem(pd.DataFrame([[1, 2]], columns=["a", "b"]))
    with pytest.raises(SchedulerError, match="empty"):
        inputs.table_to_problem(None)


def test_pasted_text_with_or_without_the_instructions():
    problem = load_problems("test")[3]
    assert inputs.text_to_problem(problem.to_prompt()) == problem
    from scheduler import user_message

    assert inputs.text_to_problem(user_message(problem)) == problem
    with pytest.raises(SchedulerError, match="not an event"):
        inputs.text_to_problem("Events:\n- Lunch at noon")


def test_csv_import(tmp_path):
    path = write(tmp_path, "day.csv", "Name,Start,End,Priority\nLunch,12:00,13:00,yes\nGym,07:00,08:00,\n")
    problem = inputs.file_to_problem(path).problem
    assert [ev.name for ev in problem.events] == ["Gym", "Lunch"]
    assert problem.priorities == {"Lunch"}
    # Semicolons, no priority column, a BOM.
    path = write(tmp_path, "semi.csv", "\ufeffname;start;end\nA;09:00;10:00\nB;10:00;11:00\n")
    assert inputs.file_to_problem(path).problem.events[0].name == "A"


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        ("title,from,to\nA,09:00,10:00\n", "lacks name, start, end"),
        ("name,start,end\nA,9am,10am\n", "is not a time"),
        ("name,start,end\n", "no event rows"),
        ("name,start,end\n,,\n", "table is empty"),
    ],
)
def test_bad_csv(tmp_path, text, message):
    with pytest.raises(SchedulerError) as err:
        inputs.file_to_problem(write(tmp_path, "bad.csv", text))
    assert message in str(err.value)


def test_binary_and_unknown_files(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(SchedulerError, match="not UTF-8"):
        inputs.file_to_problem(str(path))
    with pytest.raises(SchedulerError, match="use .csv or .ics"):
        inputs.file_to_problem(write(tmp_path, "x.txt", "hello"))
    big = tmp_path / "big.csv"
    big.write_bytes(b"a" * (inputs.MAX_FILE_BYTES + 1))
    with pytest.raises(SchedulerError, match="the limit is"):
        inputs.file_to_problem(str(big))


def test_ics_import_takes_the_first_day(tmp_path):
    imported = inputs.file_to_problem(write(tmp_path, "cal.ics", GOOD_ICS))
    problem = imported.problem
    assert [(ev.name, ev.start_hhmm, ev.end_hhmm) for ev in problem.events] == [
        ("Standup", "09:00", "09:30"), ("Lunch with the team", "12:00", "13:00"),
    ]
    assert problem.priorities == {"Standup"}
    notes = " ".join(imported.notes)
    assert "2026-03-10" in notes and "1 event(s) on other days" in notes
    assert "1 event(s) that end after midnight" in notes and "1 all-day event(s)" in notes


@pytest.mark.parametrize(
    "text, message",
    [
        ("not a calendar at all", "not a readable iCalendar"),
        ("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nEND:VCALENDAR\n", "has no events"),
    ],
)
def test_bad_ics(tmp_path, text, message):
    with pytest.raises(SchedulerError) as err:
        inputs.file_to_problem(write(tmp_path, "bad.ics", text))
    assert message in str(err.value)


def test_ics_titles_become_valid_names(tmp_path):
    text = GOOD_ICS.replace("SUMMARY:Standup", "SUMMARY:<script>alert(1)</script> (daily)")
    text = text.replace("SUMMARY:Lunch with  the team", "SUMMARY:" + "x" * 100)
    imported = inputs.file_to_problem(write(tmp_path, "odd.ics", text))
    names = [ev.name for ev in imported.problem.events]
    assert names[0] == "‹script›alert(1)‹/script› (daily)" and names[1] == "x" * 79 + "…"  # parentheses are kept
    assert "Renamed 2 event(s)" in " ".join(imported.notes)
    assert inputs.calendar_names(["Standup", "Standup", "Standup"]) == (["Standup", "Standup #2", "Standup #3"], 2)


def test_ics_all_day_only(tmp_path):
    only_all_day = GOOD_ICS.split("BEGIN:VEVENT")[0] + "BEGIN:VEVENT" + GOOD_ICS.split("BEGIN:VEVENT")[3]
    only_all_day = only_all_day.split("END:VEVENT")[0] + "END:VEVENT\nEND:VCALENDAR\n"
    with pytest.raises(SchedulerError, match="no timed events"):
        inputs.file_to_problem(write(tmp_path, "allday.ics", only_all_day))


def test_test_and_generated_problems():
    from space import picker

    assert picker.problem("test", 5) == load_problems("test")[5]
    choices = picker.choices("test")
    assert len(choices) == 100 and choices[0][1] == 0 and "events" in choices[0][0]
    with pytest.raises(SchedulerError, match="no test problem #100"):
        picker.problem("test", 100)
    with pytest.raises(SchedulerError, match="Pick a test problem"):
        picker.problem("test", None)
    assert [split for _, split in picker.available_splits()] == ["test", "names", "names-hard"]
    assert picker.problem("names-hard", 3) == load_problems("names-hard")[3]
    assert all(int(label.split(": ")[1].split()[0]) >= 10 for label, _ in picker.choices("names-hard"))
    a, b = inputs.random_problem(7), inputs.random_problem(7)
    assert a == b and a not in load_problems("test")
    assert len(inputs.random_problem(7, "hard").events) >= 10
    with pytest.raises(SchedulerError, match="whole number"):
        inputs.random_problem("x")
