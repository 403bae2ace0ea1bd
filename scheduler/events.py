"""Events and problems: the dataset's text format, parsed and rendered back byte for byte.

A problem is a list of events (name, start, end) and a set of priority names (weight 2).
Times are minutes since midnight internally and ``HH:MM`` at every boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from scheduler.errors import SchedulerError

MAX_EVENTS = 64
MAX_NAME_LENGTH = 80
# A pasted problem longer than this is not one (64 events take about 6,000 characters); a line longer
# than MAX_LINE_LENGTH is refused before the event regex, whose backtracking is quadratic on long lines.
MAX_TEXT_LENGTH = 100_000
MAX_LINE_LENGTH = 1_000
PRIORITY_WEIGHT = 2
NORMAL_WEIGHT = 1

_TIME_RE = re.compile(r"^([0-9]{2}):([0-9]{2})$")
# The name is everything before the line's *trailing* "(HH:MM - HH:MM)" group: the greedy ``.+`` gives
# back characters only until the last " (" whose remainder is a parenthesis-free time group, so
# "- Gym (legs) (11:00 - 12:00)" names "Gym (legs)". Backtracking is bounded by MAX_LINE_LENGTH.
_EVENT_LINE_RE = re.compile(r"^- (?P<name>.+) \((?P<start>[^()]*?) - (?P<end>[^()]*?)\)$")


def parse_time(text: str, *, what: str = "time", past_midnight: bool = False) -> int:
    """``HH:MM`` (00:00-23:59) -> minutes since midnight; anything else is a SchedulerError.

    ``past_midnight`` admits hours above 23, which only the canonical data needs: five of its train
    rows were generated with an event ending after midnight (e.g. ``24:59``), and its rows are kept as is.
    """
    if not isinstance(text, str):
        raise SchedulerError(f"The {what} {text!r} is not a time; use HH:MM, for example 09:30.")
    m = _TIME_RE.match(text.strip())
    if not m:
        shown = text if len(text) <= 20 else text[:20] + "…"
        raise SchedulerError(f"The {what} {shown!r} is not a time; use HH:MM with two digits each, for example 09:30.")
    hours, minutes = int(m.group(1)), int(m.group(2))
    if (hours > 23 and not past_midnight) or minutes > 59:
        raise SchedulerError(f"The {what} {text!r} is outside the day; times run from 00:00 to 23:59.")
    return hours * 60 + minutes


def format_time(minutes: int) -> str:
    """Minutes since midnight -> ``HH:MM``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def clock_minutes(hhmm: str) -> int:
    """Minutes of an ``HH:MM`` already matched as two digits each (an answer's times): unlike ``parse_time``,
    nothing is checked, so an hour above 23 that a model wrote still compares as written."""
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def weight(name: str, priorities) -> int:
    """The task's weight of an event: ``PRIORITY_WEIGHT`` for a priority, ``NORMAL_WEIGHT`` otherwise."""
    return PRIORITY_WEIGHT if name in priorities else NORMAL_WEIGHT


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int, *, touching: bool = False) -> bool:
    """Whether two spans overlap.

    ``touching=False`` is the task's rule (the solver, the evaluation, the default rewards): an event may start
    exactly when another ends. ``touching=True`` counts a shared endpoint as an overlap, as the canonical
    generator's filter and the original training reward (``compat`` mode) did.
    """
    if touching:
        return a_start <= b_end and b_start <= a_end
    return a_start < b_end and b_start < a_end


@dataclass(frozen=True, order=True)
class Event:
    """One event of a problem; ``start``/``end`` are minutes since midnight, end after start."""

    name: str
    start: int
    end: int

    @property
    def duration(self) -> int:
        return self.end - self.start

    @property
    def start_hhmm(self) -> str:
        return format_time(self.start)

    @property
    def end_hhmm(self) -> str:
        return format_time(self.end)

    def as_strings(self) -> tuple[str, str, str]:
        """The (name, "HH:MM", "HH:MM") triple the dataset and the published scorer use."""
        return (self.name, self.start_hhmm, self.end_hhmm)

    @classmethod
    def from_strings(cls, name: str, start: str, end: str, *, past_midnight: bool = False) -> "Event":
        return cls(
            name,
            parse_time(start, what=f"start of {name!r}", past_midnight=past_midnight),
            parse_time(end, what=f"end of {name!r}", past_midnight=past_midnight),
        )


def _check_name(name: object) -> str:
    """Any printable name people write (parentheses, digits, '#', accents, CJK, emoji) is accepted.

    Only what the answer format ``<name>([^<]+)</name>`` and the one-event-per-line prompt cannot
    carry is refused: '<', '>', line breaks; plus empty, padded, overlong and non-printable names
    (control or format characters would let a name rewrite a terminal or hide text).
    """
    if not isinstance(name, str) or not name.strip():
        raise SchedulerError("Every event needs a non-empty name.")
    if name != name.strip():
        raise SchedulerError(f"The event name {name!r} starts or ends with spaces; remove them.")
    if len(name) > MAX_NAME_LENGTH:
        raise SchedulerError(
            f"The event name {name[:30]!r}... is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}."
        )
    if any(ch in name for ch in "\n\r<>"):
        raise SchedulerError(
            f"The event name {name!r} contains a line break, '<' or '>', which the answer format cannot carry."
        )
    if not name.isprintable():
        bad = next(ch for ch in name if not ch.isprintable())
        raise SchedulerError(
            f"The event name {name!r} contains the non-printable character {bad!r} (U+{ord(bad):04X}); remove it."
        )
    return name


@dataclass(frozen=True)
class Problem:
    """A validated scheduling problem. Construct through ``Problem.create`` / ``parse_problem`` / ``from_row``."""

    events: tuple[Event, ...]
    priorities: frozenset[str] = field(default_factory=frozenset)
    # Names in the order the priorities were listed, so the prompt renders back byte for byte.
    priority_order: tuple[str, ...] = ()

    @classmethod
    def create(
        cls, events: Iterable[Event], priorities: Sequence[str] = (), *, past_midnight: bool = False
    ) -> "Problem":
        """Validate and build; every failure is a SchedulerError with a sentence saying what is wrong."""
        last_minute = 99 * 60 + 59 if past_midnight else 23 * 60 + 59
        events = tuple(events)
        if len(events) == 0:
            raise SchedulerError("The problem has no events; give at least one line like '- Lunch (12:00 - 13:00)'.")
        if len(events) > MAX_EVENTS:
            raise SchedulerError(f"The problem has {len(events)} events; the limit is {MAX_EVENTS}.")
        seen: set[str] = set()
        for ev in events:
            _check_name(ev.name)
            for label, t in (("start", ev.start), ("end", ev.end)):
                if not isinstance(t, int) or not 0 <= t <= last_minute:
                    raise SchedulerError(f"The {label} of {ev.name!r} is outside the day (00:00 to 23:59).")
            if ev.end <= ev.start:
                raise SchedulerError(
                    f"The event {ev.name!r} ends ({ev.end_hhmm}) before or when it starts ({ev.start_hhmm}); "
                    "events must end after they start, on the same day."
                )
            if ev.name in seen:
                raise SchedulerError(f"The event name {ev.name!r} is used twice; names must be unique.")
            seen.add(ev.name)
        order: list[str] = []
        for p in priorities:
            if p not in seen:
                raise SchedulerError(f"The priority {p!r} names no event of the problem.")
            if p in order:
                raise SchedulerError(f"The priority {p!r} is listed twice.")
            order.append(p)
        return cls(events=events, priorities=frozenset(order), priority_order=tuple(order))

    def weight(self, name: str) -> int:
        return weight(name, self.priorities)

    def value(self, event: Event) -> int:
        """Weighted duration of one event: the quantity the schedule maximizes."""
        return self.weight(event.name) * event.duration

    def by_name(self) -> dict[str, Event]:
        return {ev.name: ev for ev in self.events}

    def to_prompt(self) -> str:
        """The dataset's ``prompt`` column, byte for byte."""
        lines = ["Events:"]
        lines += [f"- {ev.name} ({ev.start_hhmm} - {ev.end_hhmm})" for ev in self.events]
        lines += ["", "Priorities:"]
        lines += [f"- {name}" for name in self.priority_order]
        return "\n".join(lines)

    @classmethod
    def from_row(cls, row: Mapping) -> "Problem":
        """Build from a dataset row (``events`` as [name, "HH:MM", "HH:MM"] lists, ``priority_events``).

        Rows may carry times past midnight (the canonical train split does); user input may not.
        """
        try:
            raw_events = row["events"]
            raw_priorities = row.get("priority_events") or []
        except (KeyError, TypeError, AttributeError):
            raise SchedulerError("A dataset row needs 'events' and 'priority_events' columns.") from None
        events = []
        for item in raw_events:
            if not isinstance(item, (list, tuple)) or len(item) != 3:
                raise SchedulerError(f"The event {item!r} is not a [name, start, end] triple.")
            _check_name(item[0])
            events.append(Event.from_strings(*item, past_midnight=True))
        return cls.create(events, list(raw_priorities), past_midnight=True)


def parse_problem(text: str) -> Problem:
    """Parse the dataset's prompt format (``Events:`` lines, blank line, ``Priorities:`` lines).

    Tolerates surrounding whitespace, a byte-order mark, CRLF line ends and a missing
    ``Priorities:`` section; anything else that does not fit the format is a SchedulerError naming
    the offending line.
    """
    if isinstance(text, str):
        text = text.lstrip("\ufeff")
    if not isinstance(text, str) or not text.strip():
        raise SchedulerError("The problem is empty; paste lines like '- Lunch (12:00 - 13:00)' under 'Events:'.")
    if len(text) > MAX_TEXT_LENGTH:
        raise SchedulerError(f"The problem is {len(text):,} characters long; the limit is {MAX_TEXT_LENGTH:,}.")
    lines = [ln.strip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n")]
    section = None
    events: list[Event] = []
    priorities: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        if len(line) > MAX_LINE_LENGTH:
            raise SchedulerError(
                f"Line {number} ({line[:30]!r}...) is {len(line):,} characters long; an event line is far shorter "
                f"(names have at most {MAX_NAME_LENGTH} characters)."
            )
        low = line.lower()
        if low == "events:":
            section = "events"
            continue
        if low in ("priorities:", "priority:"):
            section = "priorities"
            continue
        if section is None:
            raise SchedulerError(f"Line {number} ({line[:60]!r}) comes before the 'Events:' header.")
        if not line.startswith("- "):
            raise SchedulerError(f"Line {number} ({line[:60]!r}) should start with '- '.")
        if section == "events":
            m = _EVENT_LINE_RE.match(line)
            if not m:
                raise SchedulerError(
                    f"Line {number} ({line[:60]!r}) is not an event; write it as '- NAME (HH:MM - HH:MM)'."
                )
            name = m.group("name").strip()
            _check_name(name)
            events.append(Event.from_strings(name, m.group("start"), m.group("end")))
        else:
            priorities.append(line[2:].strip())
    return Problem.create(events, priorities)
