"""Every way a problem gets into the Space, each ending in a ``scheduler.Problem`` or a readable message.

The events table (name, start, end, priority) is the one editing surface: pasted text, CSV and
``.ics`` files, canonical test problems and generated ones are all turned into a table, and the
table is turned back into the ``Problem`` the models see. Every failure is a ``SchedulerError``
whose message is a sentence for the page; nothing here lets a traceback reach the user.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from scheduler import Event, Problem, SchedulerError, parse_problem
from scheduler.events import MAX_EVENTS, MAX_NAME_LENGTH, format_time, parse_time

TABLE_COLUMNS = ["name", "start", "end", "priority"]
TABLE_DATATYPES = ["str", "str", "str", "bool"]
MAX_FILE_BYTES = 1_000_000
_TRUE = {"true", "yes", "y", "1", "x", "priority", "p", "high"}
_FALSE = {"false", "no", "n", "0", "", "none", "nan", "normal", "low"}
# RFC 5545: PRIORITY 1-4 is "high", 5 medium, 6-9 low, 0 undefined.
_ICS_HIGH_PRIORITY = range(1, 5)


@dataclass(frozen=True)
class Imported:
    """A problem read from a file, with notes on what was skipped (shown beside the table)."""

    problem: Problem
    notes: list[str] = field(default_factory=list)


# -- the table ------------------------------------------------------------------------------------


def problem_to_table(problem: Problem) -> pd.DataFrame:
    """One row per event, in the problem's order, with the priority flag as a bool column."""
    rows = [[ev.name, ev.start_hhmm, ev.end_hhmm, ev.name in problem.priorities] for ev in problem.events]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _flag(value: object, row: int) -> bool:
    """A table or CSV priority cell -> bool; checkboxes give bools, CSV gives words."""
    if isinstance(value, bool):
        return value
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return False
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SchedulerError(f"Row {row}: the priority {str(value)[:30]!r} is not yes/no (use true/false, yes/no or 1/0).")


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()


def _blank(row: dict) -> bool:
    return not any(_cell(row.get(col)) for col in ("name", "start", "end"))


def rows_to_problem(rows: list[dict], *, sort: bool = True) -> Problem:
    """Dicts with name/start/end[/priority] -> Problem; blank rows are skipped, bad ones named.

    Events are sorted by start (then end) because the dataset lists them that way and the models were
    trained on such prompts; a row typed at the bottom of the table still lands where it belongs.
    """
    events: list[Event] = []
    priorities: list[str] = []
    for number, row in enumerate(rows, start=1):
        if _blank(row):
            continue
        name = _cell(row.get("name"))
        if not name:
            raise SchedulerError(f"Row {number} has times but no name.")
        start = _cell(row.get("start"))
        end = _cell(row.get("end"))
        if not start or not end:
            raise SchedulerError(f"Row {number} ({name[:40]!r}) needs both a start and an end time (HH:MM).")
        label = repr(name if len(name) <= 40 else name[:40] + "…")
        events.append(Event(name, parse_time(start, what=f"start of {label}"), parse_time(end, what=f"end of {label}")))
        if _flag(row.get("priority"), number):
            priorities.append(name)
    if not events:
        raise SchedulerError("The events table is empty; add a row with a name, a start and an end (HH:MM).")
    if sort:
        events.sort(key=lambda ev: (ev.start, ev.end))
    return require_two_events(Problem.create(events, priorities))


MIN_EVENTS = 2


def require_two_events(problem: Problem) -> Problem:
    """Refuse a problem the task cannot judge: a valid answer lists at least two events, so with fewer
    every answer, the optimal one included, would be judged "fewer than 2 events"."""
    if len(problem.events) < MIN_EVENTS:
        raise SchedulerError(
            f"The problem has {len(problem.events)} event; it needs at least {MIN_EVENTS}: a valid schedule "
            "lists two or more events, so with one there is nothing to schedule and every answer would score 0."
        )
    return problem


def table_to_problem(table: pd.DataFrame | list | None) -> Problem:
    """The Dataframe component's value -> Problem (the page's single source of truth)."""
    if table is None:
        raise SchedulerError("The events table is empty; paste a problem, pick a test problem or import a file.")
    if isinstance(table, pd.DataFrame):
        frame = table
    else:
        if isinstance(table, dict) and "data" in table:  # the Dataframe component's JSON payload
            table = pd.DataFrame(table["data"], columns=table.get("headers"))
        try:
            frame = pd.DataFrame(table)
        except (ValueError, TypeError):
            raise SchedulerError("The events table could not be read; it needs rows of name, start, end, priority.") from None
    if frame.empty:
        raise SchedulerError("The events table is empty; paste a problem, pick a test problem or import a file.")
    frame = frame.rename(columns={c: str(c).strip().lower() for c in frame.columns})
    missing = [c for c in ("name", "start", "end") if c not in frame.columns]
    if missing:
        raise SchedulerError(f"The events table lacks the column(s) {', '.join(missing)}.")
    return rows_to_problem(frame.to_dict(orient="records"))


# -- pasted text ----------------------------------------------------------------------------------


def text_to_problem(text: str) -> Problem:
    """The dataset's prompt format (``Events:`` / ``Priorities:``); the user template may precede it."""
    if isinstance(text, str) and "Events:" in text and not text.lstrip().startswith("Events:"):
        # A whole user message was pasted (instructions + problem): keep the problem part.
        text = text[text.rindex("Events:") :]
    return require_two_events(parse_problem(text))


# -- files ----------------------------------------------------------------------------------------


def _read_bytes(path: str | Path) -> bytes:
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise SchedulerError(f"The file {path.name!r} could not be read.") from None
    if size > MAX_FILE_BYTES:
        raise SchedulerError(f"The file {path.name!r} is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}.")
    return path.read_bytes()


def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SchedulerError(f"The {what} file is not UTF-8 text.") from None


def csv_to_problem(path: str | Path) -> Imported:
    """CSV with a header row ``name,start,end[,priority]`` (any column order, extra columns ignored)."""
    text = _decode(_read_bytes(path), "CSV")
    if not text.strip():
        raise SchedulerError("The CSV file is empty; it needs a header row name,start,end[,priority].")
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # newline="": the csv module splits records itself, so old Mac (CR-only) line ends work too.
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    try:
        header = [str(h).strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise SchedulerError(f"The CSV file's header row could not be read: {exc}.") from None
    missing = [c for c in ("name", "start", "end") if c not in header]
    if missing:
        raise SchedulerError(
            f"The CSV header lacks {', '.join(missing)}; the first row must name the columns "
            "name,start,end and optionally priority."
        )
    reader.fieldnames = header
    try:
        rows = [{k: v for k, v in row.items() if k is not None} for row in reader]
    except csv.Error as exc:
        raise SchedulerError(f"The CSV file could not be read: {exc}.") from None
    if not rows:
        raise SchedulerError("The CSV file has a header but no event rows.")
    if len(rows) > MAX_EVENTS:
        raise SchedulerError(f"The CSV file has {len(rows)} rows; the limit is {MAX_EVENTS} events.")
    return Imported(rows_to_problem(rows))


def _minutes_of(value: dt.datetime) -> int:
    return value.hour * 60 + value.minute


# Characters the answer format cannot carry in a name, and what a calendar title gets instead.
_NAME_SWAPS = str.maketrans({"<": "‹", ">": "›"})


def calendar_names(titles: list[str]) -> tuple[list[str], int]:
    """Calendar titles made into valid, unique event names; and how many had to change.

    Calendars are written for people, not for this format: angle brackets are swapped for
    look-alikes, non-printable characters dropped, long titles shortened, repeated titles numbered
    (``Standup #2``). Parentheses are kept: "Gym (legs)" is a valid name.
    """
    names: list[str] = []
    changed = 0
    for title in titles:
        name = " ".join("".join(ch for ch in title if ch.isprintable() or ch.isspace()).split()).translate(_NAME_SWAPS)
        if len(name) > MAX_NAME_LENGTH:
            name = name[: MAX_NAME_LENGTH - 1].rstrip() + "…"
        base, count = name, 1
        while name in names:
            count += 1
            suffix = f" #{count}"
            name = base[: MAX_NAME_LENGTH - len(suffix)] + suffix
        changed += name != " ".join(title.split())
        names.append(name)
    return names, changed


def ics_to_problem(path: str | Path, day: dt.date | None = None) -> Imported:
    """An iCalendar file's timed events of one day (the first day with any, unless ``day`` is given).

    Times are read as the calendar writes them (wall-clock in the event's own time zone). All-day
    events, events of other days and events running past midnight are skipped with a note; PRIORITY
    1-4 (RFC 5545's "high") marks a priority event.
    """
    from icalendar import Calendar

    data = _read_bytes(path)
    try:
        calendar = Calendar.from_ical(data)
    except ValueError as exc:
        detail = (str(exc).splitlines() or [""])[0][:120].rstrip(".")
        raise SchedulerError(f"The file is not a readable iCalendar (.ics) file ({detail}).") from None
    if not isinstance(calendar, Calendar):  # e.g. a vCard, or a mangled BEGIN:VCALENDAR line
        kind = str(getattr(calendar, "name", "") or "unknown")[:30]
        raise SchedulerError(f"The file is not an iCalendar (.ics) file: it holds a {kind!r} instead of a VCALENDAR.")
    vevents = list(calendar.events)
    timed: list[tuple[dt.datetime, dt.datetime, str, bool]] = []
    all_day = 0
    unreadable = 0
    for vevent in vevents:
        try:
            start, end = vevent.start, vevent.end
        except ValueError:
            unreadable += 1
            continue
        if not isinstance(start, dt.datetime):
            all_day += 1
            continue
        if isinstance(end, dt.datetime) and end.tzinfo is not None and start.tzinfo is not None:
            end = end.astimezone(start.tzinfo)
        name = str(vevent.get("SUMMARY", "") or "").strip() or f"Untitled event at {format_time(_minutes_of(start))}"
        try:
            high = int(vevent.get("PRIORITY", 0) or 0) in _ICS_HIGH_PRIORITY
        except (TypeError, ValueError):
            high = False
        timed.append((start, end, name, high))
    if not timed:
        raise SchedulerError(
            "The calendar has no timed events (all-day events cannot be scheduled by the minute)."
            if all_day
            else "The calendar has no events with a readable start and end time."
            if unreadable
            else "The calendar has no events."
        )
    timed.sort(key=lambda item: (item[0].replace(tzinfo=None), item[2]))
    chosen_day = day or timed[0][0].date()
    notes: list[str] = []
    rows: list[dict] = []
    other_days = past_midnight = 0
    for start, end, name, high in timed:
        if start.date() != chosen_day:
            other_days += 1
            continue
        if end.date() != chosen_day:
            past_midnight += 1
            continue
        rows.append(
            {"name": name, "start": format_time(_minutes_of(start)), "end": format_time(_minutes_of(end)), "priority": high}
        )
    if not rows:
        raise SchedulerError(f"The calendar has no events that start and end on {chosen_day.isoformat()}.")
    if len(rows) > MAX_EVENTS:
        raise SchedulerError(f"The calendar has {len(rows)} events on {chosen_day}; the limit is {MAX_EVENTS}.")
    names, renamed = calendar_names([row["name"] for row in rows])
    for row, name in zip(rows, names):
        row["name"] = name
    notes.append(f"Imported {len(rows)} event(s) of {chosen_day.isoformat()}.")
    if renamed:
        notes.append(f"Renamed {renamed} event(s): names must be unique, at most {MAX_NAME_LENGTH} characters, "
                     "without angle brackets or non-printable characters.")
    if other_days:
        notes.append(f"Skipped {other_days} event(s) on other days.")
    if past_midnight:
        notes.append(f"Skipped {past_midnight} event(s) that end after midnight.")
    if all_day:
        notes.append(f"Skipped {all_day} all-day event(s).")
    if unreadable:
        notes.append(f"Skipped {unreadable} event(s) without a readable start or end.")
    return Imported(rows_to_problem(rows), notes)


def file_to_problem(path: str | Path | None) -> Imported:
    """Dispatch on the extension: ``.csv`` or ``.ics``."""
    if not path:
        raise SchedulerError("No file was uploaded.")
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return csv_to_problem(path)
    if suffix in (".ics", ".ical", ".ifb", ".icalendar"):
        return ics_to_problem(path)
    raise SchedulerError(f"Files of type {suffix or '(none)'!r} cannot be imported; use .csv or .ics.")


# -- ready-made problems --------------------------------------------------------------------------


def random_problem(seed: int | float | None, preset: str = "canonical") -> Problem:
    """A freshly generated problem (never one of the canonical test problems)."""
    from scheduler import generate_rows

    try:
        seed = int(seed or 0)
    except (TypeError, ValueError):
        raise SchedulerError("The seed must be a whole number.") from None
    return Problem.from_row(generate_rows(1, seed=seed, preset=preset)[0])
