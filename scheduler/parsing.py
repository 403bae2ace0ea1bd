"""Reading a model's completion: the ``<think>`` part, the scheduled events, and format checks.

Event extraction follows the published evaluation exactly (its regex over the *whole* completion,
so an ``<event>`` block drafted inside ``<think>`` counts too), because the published figures were
measured that way. The two format checks are the published regexes rewritten as linear-time scans
(the originals backtrack badly on long hostile strings); tests check they agree with the originals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The published capture pattern (verbose mode: the layout whitespace is not part of the pattern).
EVENT_RE = re.compile(
    r"""
    <event>\s*
        <name>([^<]+)</name>\s*
        <start>(\d{2}:\d{2})</start>\s*
        <end>(\d{2}:\d{2})</end>\s*
    </event>
""",
    re.VERBOSE,
)
THINK_RE = re.compile(r"<think>(.*?)</think>", re.DOTALL)
SCHEDULE_RE = re.compile(r"<schedule>(.*?)</schedule>", re.DOTALL)
_START_TAG = re.compile(r"<start>\d{2}:\d{2}</start>")
_END_TAG = re.compile(r"<end>\d{2}:\d{2}</end>")

# The original regexes, kept for reference and for the equivalence tests only.
STRICT_FORMAT_PATTERN = (
    r"<think>.+</think>.*<schedule>.*(<event>.*<name>.+</name>.*<start>\d{2}:\d{2}</start>"
    r".*<end>\d{2}:\d{2}</end>.*</event>)+.*</schedule>"
)
LENIENT_FORMAT_PATTERN = (
    r".*<schedule>.*<event>.*<name>.*</name>.*<start>\d{2}:\d{2}</start>.*<end>\d{2}:\d{2}</end>"
    r".*</event>.*</schedule>.*"
)


def _scan(text: str, pos: int, steps: list[tuple[object, int]]) -> bool:
    """Find each step in order, each starting at least ``gap`` characters after the previous one ended.

    Steps are literals or fixed-length regexes, so taking the earliest occurrence of each is optimal.
    """
    for step, gap in steps:
        pos += gap
        if isinstance(step, str):
            i = text.find(step, pos)
            if i < 0:
                return False
            pos = i + len(step)
        else:
            m = step.search(text, pos)
            if not m:
                return False
            pos = m.end()
    return True


def strict_format_ok(text: str) -> bool:
    """The training format check: starts with ``<think>``, non-empty think, then a schedule with an event."""
    if not isinstance(text, str) or not text.startswith("<think>"):
        return False
    return _scan(
        text,
        len("<think>"),
        [("</think>", 1), ("<schedule>", 0), ("<event>", 0), ("<name>", 0), ("</name>", 1),
         (_START_TAG, 0), (_END_TAG, 0), ("</event>", 0), ("</schedule>", 0)],
    )


def lenient_format_ok(text: str) -> bool:
    """The published evaluation's format check: only the schedule matters (fair to non-reasoning models)."""
    if not isinstance(text, str):
        return False
    return _scan(
        text,
        0,
        [("<schedule>", 0), ("<event>", 0), ("<name>", 0), ("</name>", 0),
         (_START_TAG, 0), (_END_TAG, 0), ("</event>", 0), ("</schedule>", 0)],
    )


def extract_events(text: str) -> list[tuple[str, str, str]]:
    """(name, "HH:MM", "HH:MM") for every well-formed ``<event>`` block, in the order written."""
    if not isinstance(text, str):
        return []
    return [(m.group(1), m.group(2), m.group(3)) for m in EVENT_RE.finditer(text)]


@dataclass(frozen=True)
class ParsedCompletion:
    """What a completion says, before any judgement against a problem."""

    text: str
    think: str | None
    schedule: str | None
    events: list[tuple[str, str, str]] = field(default_factory=list)
    strict_format: bool = False
    lenient_format: bool = False


def completion_text(completion: object) -> str:
    """The text of a plain or conversational completion (TRL passes either); never raises."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        content = completion.get("content", "")
        return content if isinstance(content, str) else str(content)
    if isinstance(completion, (list, tuple)):
        return "".join(completion_text(part) for part in completion)
    return "" if completion is None else str(completion)


def parse_completion(text: object) -> ParsedCompletion:
    """Parse any string (or conversational completion); never raises."""
    text = completion_text(text)
    think = THINK_RE.search(text)
    schedule = SCHEDULE_RE.search(text)
    return ParsedCompletion(
        text=text,
        think=think.group(1).strip() if think else None,
        schedule=schedule.group(1) if schedule else None,
        events=extract_events(text),
        strict_format=strict_format_ok(text),
        lenient_format=lenient_format_ok(text),
    )
