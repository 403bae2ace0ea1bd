"""Quick text: a day typed the way people type it, turned into rows of the events table for review.

    standup 9-9:15, deep work 9:10 to 11, lunch w/ Sam 12pm-1pm, gym 12:30-1:30pm (priority)

One event per line, or several on a line separated by commas or semicolons. Each event is a name
and a time range anywhere in it: ``9-10``, ``9:15 to 11``, ``12pm-1:30pm``, ``21h00–22h``,
``from 7 a.m. until 8``, ``noon-1``. A priority is marked by ``(priority)``, ``[priority]``,
``(p)``, or a leading or trailing ``!`` / ``*``. Each time is read by dateutil's parser once its
token is isolated here; a range missing am/pm takes it from the other end where that makes the
range forward (``11-1pm`` is 11:00-13:00, ``2-3pm`` 14:00-15:00), and a bare ``12-1`` is read as
12:00-13:00 rather than a backwards range. Lines that cannot be read each get one sentence, and the
readable ones still fill the table.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from dateutil import parser as dateparser

from scheduler import Event, Problem, SchedulerError
from scheduler.events import MAX_EVENTS, format_time

MAX_QUICK_TEXT = 20_000
_MERIDIEM = r"(?:a\.?m\.?|p\.?m\.?|am|pm)"
# One time: 9 | 9:15 | 9.15 | 9h | 21h00 | 9am | 9:15 p.m. | noon | midnight. Not part of a longer number.
_TIME = rf"(?:noon|midday|midnight|\d{{1,2}}(?:[:.h]\d{{2}}|h)?(?:\s?{_MERIDIEM})?)(?!\w|[:.]\d)"
_SEPARATOR = r"\s*(?:-{1,2}|–|—|→|>|\bto\b|\btill\b|\buntil\b|\bthrough\b)\s*"
_RANGE_RE = re.compile(
    rf"(?:\b(?:from|at|@)\s*)?(?<![\w:.])(?P<start>{_TIME}){_SEPARATOR}(?P<end>{_TIME})", re.IGNORECASE
)
_TOKEN_RE = re.compile(
    rf"^(?:(?P<word>noon|midday|midnight)|(?P<hour>\d{{1,2}})(?:[:.h](?P<minute>\d{{2}})|h)?\s?(?P<mer>{_MERIDIEM})?)$",
    re.IGNORECASE,
)
_PRIORITY_RE = re.compile(
    r"\s*[(\[]\s*(?:priority|prio|important|p)\s*[)\]]\s*|^\s*[!*]+\s*|\s*[!*]+\s*$", re.IGNORECASE
)
_HEADER_RE = re.compile(r"^\s*(?:events|priorities)\s*:\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class QuickResult:
    """The readable events as table rows, and one sentence per piece of text that could not be read."""

    rows: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Time:
    minutes: int
    meridiem: str | None  # "am" / "pm" when written, else None


def _read_time(token: str) -> _Time:
    """One isolated time token -> minutes since midnight; dateutil reads it once it is unambiguous."""
    m = _TOKEN_RE.match(token.strip())
    if not m:
        raise SchedulerError(f"{token!r} is not a time")
    if m.group("word"):
        word = m.group("word").lower()
        return _Time(0 if word == "midnight" else 12 * 60, "am" if word == "midnight" else "pm")
    hour, minute = int(m.group("hour")), int(m.group("minute") or 0)
    meridiem = (m.group("mer") or "").lower().replace(".", "") or None
    if meridiem and not 1 <= hour <= 12:
        raise SchedulerError(f"{token.strip()!r} is not a time: with am/pm the hour runs from 1 to 12")
    if hour > 23 or minute > 59:
        raise SchedulerError(f"{token.strip()!r} is outside the day (00:00 to 23:59)")
    # A bare "9" is a day of the month to dateutil: give it the canonical "9:00 [am|pm]" it reads as a time.
    canonical = f"{hour}:{minute:02d}" + (f" {meridiem}" if meridiem else "")
    parsed = dateparser.parse(canonical, default=dt.datetime(2000, 1, 1))
    return _Time(parsed.hour * 60 + parsed.minute, meridiem)


def _resolve(start: _Time, end: _Time) -> tuple[int, int]:
    """A range's two ends; am/pm written on one end only is carried to the other where that reads forward."""
    s, e = start.minutes, end.minutes
    if start.meridiem is None and end.meridiem is not None and s < 13 * 60:
        # "11-1pm", "2-3pm", "12:30-1:30pm": of the start's two readings, the latest one before the end.
        candidates = [c for c in {s % 720, s % 720 + 720} if c < e]
        if candidates:
            s = max(candidates)
    elif end.meridiem is None and start.meridiem is not None and e < 13 * 60:
        # "11am-1", "9pm-11": of the end's two readings, the earliest one after the start.
        candidates = [c for c in {e % 720, e % 720 + 720} if c > s]
        if candidates:
            e = min(candidates)
    elif start.meridiem is None and end.meridiem is None and e < s and e < 12 * 60 and e + 720 > s:
        e += 720  # "12-1", "11:30-1": a clock-face range, not one that runs backwards
    return s, e


def _pieces(text: str) -> list[tuple[int, str]]:
    """(line number, piece) for each event-sized piece: lines, split at commas/semicolons between events.

    A piece without a time range is glued to the next piece of its line ("Coffee, cake 10-11" is one
    event), so commas inside names survive as long as the time comes after them.
    """
    out: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip().lstrip("-•·").strip()
        if not line or _HEADER_RE.match(line):
            continue
        pending = ""
        parts = re.split(r"\s*[;,]\s*", line)
        for k, part in enumerate(parts):
            piece = f"{pending}, {part}" if pending else part
            if _RANGE_RE.search(piece) or k == len(parts) - 1:
                if piece.strip():
                    out.append((number, piece.strip()))
                pending = ""
            else:
                pending = piece
    return out


def _clean_name(text: str) -> str:
    text = re.sub(r"\(\s*\)|\[\s*\]", " ", text)  # the brackets a range was written in
    text = re.sub(r"\s+", " ", text)
    return text.strip(" \t:-–—,;@|/").strip()


def _shown(piece: str) -> str:
    return piece if len(piece) <= 60 else piece[:57] + "…"


def parse_piece(piece: str) -> tuple[str, int, int, bool]:
    """One event's text -> (name, start, end, priority); a SchedulerError says what is wrong."""
    matches = list(_RANGE_RE.finditer(piece))
    if not matches:
        raise SchedulerError("no time range found (write it like 9-10, 9:15 to 11 or 12pm-1:30pm)")
    if len(matches) > 1:
        raise SchedulerError("more than one time range; put one event per line or separate them with commas")
    match = matches[0]
    start, end = _resolve(_read_time(match.group("start")), _read_time(match.group("end")))
    if end == 0 and start > 0:
        raise SchedulerError("it ends at midnight; the day ends at 23:59, so end it at 23:59")
    if end <= start:
        raise SchedulerError(f"it ends ({format_time(end)}) no later than it starts ({format_time(start)})")
    rest = piece[: match.start()] + " " + piece[match.end() :]
    priority = False
    while True:
        marked = _PRIORITY_RE.sub(" ", rest, count=1)
        if marked == rest:
            break
        priority, rest = True, marked
    name = _clean_name(rest)
    if not name:
        raise SchedulerError("it has times but no name")
    Problem.create([Event(name, start, end)], [])  # the core's checks on the name (angle brackets, length ...)
    return name, start, end, priority


def parse_quick_text(text: str) -> QuickResult:
    """Every event that can be read, as table rows; one sentence per line piece that cannot."""
    if not isinstance(text, str) or not text.strip():
        raise SchedulerError("Type some events first, e.g. “standup 9-9:15, lunch 12pm-1pm (priority)”.")
    if len(text) > MAX_QUICK_TEXT:
        raise SchedulerError(f"The text is {len(text):,} characters long; the limit is {MAX_QUICK_TEXT:,}.")
    rows: list[dict] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, piece in _pieces(text):
        try:
            name, start, end, priority = parse_piece(piece)
        except SchedulerError as err:
            problems.append(f"Line {number}, “{_shown(piece)}”: {str(err).rstrip('.')}.")
            continue
        if name.casefold() in seen:
            problems.append(f"Line {number}, “{_shown(piece)}”: the name {name!r} is already used on line "
                            f"{seen[name.casefold()]}; names must be unique.")
            continue
        seen[name.casefold()] = number
        rows.append({"name": name, "start": format_time(start), "end": format_time(end), "priority": priority})
    if len(rows) > MAX_EVENTS:
        raise SchedulerError(f"The text has {len(rows)} events; the limit is {MAX_EVENTS}.")
    return QuickResult(rows, problems)
