"""Reading a ``dp``, ``dpcheck``, ``dplocal`` or ``dpset`` think back (``scheduler/reference.py`` describes the
formats): every step checked against the problem and the lines the model wrote above it, up to the first that is wrong.

The steps, in the order the think writes them: ``events`` the numbered list is not the problem's events in start
order; ``next`` a line's ``next`` is not the first listed event starting at or after its end (with a search:
``copied start``, a checked start that is not that event's, and ``comparison``, a yes/no that the two times
contradict, come first when they are the cause); ``lookup`` an end, a value, a best-from or a skip figure that is not
the one written above; ``sum``; ``choice`` the larger not kept; ``keep`` a ``dpset`` line's set that is not its
number and its ``next``'s set (a take) or the set of the line above (a skip); ``walk`` a jump that is not its line's;
``schedule`` the think's schedule or the ``<schedule>`` answer not the walk's takes (``dpset``: line 1's set);
``unreadable`` a line the format does not have (a cut answer). ``eval.dp_steps`` counts them over a run; ``scheduler.rewards.programme_reward`` pays for the
lines right before the first wrong one.
"""

from __future__ import annotations

import re

from scheduler.errors import SchedulerError
from scheduler.events import PRIORITY_WEIGHT, Problem, format_time, parse_time
from scheduler.parsing import completion_text, parse_completion
from scheduler.reference import dp_table

STEPS = ("events", "copied start", "comparison", "next", "lookup", "sum", "choice", "keep", "walk", "schedule",
         "unreadable")

# an event line: its value (dp, dpcheck) or a priority mark (dplocal, dpset)
_HEAD = re.compile(r"^(\d+)\. (.+) \((\d\d:\d\d)-(\d\d:\d\d)(?:, (?:\d+x\d+=)?(\d+)|(, priority))?\)$")
_TAIL = (r" take (?P<value>\d+) \+ (?P<after>\d+) = (?P<total>\d+), skip (?P<skip>\d+): (?P<pick>take|skip) "
         r"(?P<result>\d+)(?:, keep (?P<keep>\d+(?: \d+)*))?\.$")
_LINES = (  # a programme line of each format (dplocal's also dpset's, whose lines end with a keep)
    re.compile(r"^(?P<number>\d+)\. ends (?P<end>\d\d:\d\d), next (?P<next>\d+|none):" + _TAIL),
    re.compile(r"^(?P<number>\d+)\. ends (?P<end>\d\d:\d\d); (?P<search>.*?);" + _TAIL),
    re.compile(r"^(?P<number>\d+)\. (?P<start>\d\d:\d\d)-(?P<end>\d\d:\d\d), (?:\d+x\d+=)?(?P<own>\d+); "
               r"(?P<search>.*?);" + _TAIL),
)
_CHECK = re.compile(r"^(\d+)(?: at)? (\d\d:\d\d) (yes|no)$")
_WALK = re.compile(r"^(\d+) (?:take -> (\d+|end)|skip)$")


class WrongStep(Exception):
    """The first step of a think that the problem or the lines above it contradict: its kind (one of ``STEPS``), what
    was written, anything a report counts (``early``, ``gap``), and how many programme lines were right before it."""

    def __init__(self, step: str, detail: str, **extra: object):
        super().__init__(detail)
        self.step, self.detail, self.extra = step, detail, extra
        self.lines_right = 0


def _minutes(hhmm: str) -> int:
    try:
        return parse_time(hhmm, past_midnight=True)
    except SchedulerError as err:
        raise WrongStep("unreadable", str(err)) from None


def _search(text: str, number: int, end: str, listed: list[tuple]) -> int:
    """The ``next`` a dpcheck search arrives at (``len(listed) + 1`` for none), each check read against the list."""
    checks = text.split(", ")
    for offset, check in enumerate(checks):
        if check == "none" and offset == len(checks) - 1:
            return len(listed) + 1
        match = _CHECK.match(check)
        if not match:
            raise WrongStep("unreadable", f"check {check!r}")
        k, start, answer = int(match[1]), match[2], match[3]
        if k != number + 1 + offset or k > len(listed):
            raise WrongStep("next", f"line {number} checks {k} out of order")
        if start != listed[k - 1][2]:
            raise WrongStep("copied start", f"line {number} checks {k} at {start}, listed at {listed[k - 1][2]}")
        if (answer == "yes") != (_minutes(start) >= _minutes(end)):
            raise WrongStep("comparison", f"line {number}: {start} {answer} against end {end}",
                            gap=_minutes(start) - _minutes(end))
        if answer == "yes":
            if offset != len(checks) - 1:
                raise WrongStep("unreadable", f"line {number} checks past its yes")
            return k
    raise WrongStep("unreadable", f"line {number}: a search with no end")


def first_wrong(problem: Problem, completion: object) -> WrongStep | None:
    """The first step of the think in ``completion`` that the problem or the lines above it contradict (None: every
    step right); ``lines_right`` on it counts the programme lines checked right before it. Never raises."""
    completion = completion_text(completion)
    think = completion.split("<think>", 1)[-1].split("</think>", 1)[0].strip().splitlines()
    table = dp_table(problem)  # the events in start order, and each one's right ``next``
    events, n, lines_right = table.events, len(table.events), 0
    try:
        if len(think) < 2 * n + 4 or think[0] != "Events by start:":
            raise WrongStep("unreadable", "too few lines or no event list")
        listed = []
        for i, text in enumerate(think[1:n + 1]):
            match = _HEAD.match(text)
            ev = events[i]
            worth = (int(match[5]) == problem.value(ev) if match[5] else
                     bool(match[6]) == (problem.weight(ev.name) == PRIORITY_WEIGHT)) if match else False
            if not match or not worth or (int(match[1]), match[2], match[3], match[4]) != (
                    i + 1, ev.name, format_time(ev.start), format_time(ev.end)):
                raise WrongStep("events", f"event line {i + 1}: {text!r}")
            listed.append((match[1], match[2], match[3], match[4], str(problem.value(ev))))
        best, choice, kept = {n + 1: 0}, {}, {n + 1: []}
        with_sets = None  # dpset: every programme line ends with its set, and no walk follows
        for number, text in zip(range(n, 0, -1), think[n + 2:2 * n + 2]):
            match = next((m for m in (line.match(text) for line in _LINES) if m), None)
            if not match or int(match["number"]) != number:
                raise WrongStep("unreadable", f"programme line {text!r}")
            fields, end = match.groupdict(), match["end"]
            if end != listed[number - 1][3] or fields.get("start", listed[number - 1][2]) != listed[number - 1][2]:
                raise WrongStep("lookup", f"line {number} at {fields.get('start')}-{end}, listed "
                                       f"{listed[number - 1][2]}-{listed[number - 1][3]}")
            if fields.get("own") is not None and int(fields["own"]) != int(listed[number - 1][4]):
                raise WrongStep("lookup", f"line {number}: value {fields['own']}, not {listed[number - 1][4]}")
            right = table.nxt[number - 1] + 1  # 1-based; n + 1 is none
            if fields.get("search") is not None:
                said = _search(fields["search"], number, end, listed)
            else:
                said = n + 1 if match["next"] == "none" else int(match["next"])
            if said != right:
                gap = _minutes(listed[said - 1][2]) - _minutes(end) if said <= n else None
                raise WrongStep("next", f"line {number}: next {said}, not {right}", early=said < right, gap=gap)
            value, after, total, skip, result = (int(match[key]) for key in ("value", "after", "total", "skip", "result"))
            pick = match["pick"]
            if value != int(listed[number - 1][4]) or after != best[said] or skip != best[number + 1]:
                raise WrongStep("lookup", f"line {number}: take {value} + {after}, skip {skip}")
            if total != value + after:
                raise WrongStep("sum", f"line {number}: {value} + {after} = {total}")
            if pick != ("take" if total >= skip else "skip") or result != max(total, skip):
                raise WrongStep("choice", f"line {number}: {pick} {result} of {total} and {skip}")
            if with_sets is None:
                with_sets = match["keep"] is not None
            if with_sets != (match["keep"] is not None):
                raise WrongStep("unreadable", f"line {number}: a set on some lines only")
            if with_sets:
                keep = [int(k) for k in match["keep"].split()]
                if keep != ([number, *kept[said]] if pick == "take" else kept[number + 1]):
                    raise WrongStep("keep", f"line {number}: keep {match['keep']}")
                kept[number] = keep
            best[number], choice[number] = result, (pick, said)
            lines_right += 1
        if with_sets:
            _check_schedule(think[2 * n + 2:], completion, listed, kept[1])
            return None
        walk_line = think[2 * n + 2]
        if not walk_line.startswith("Walk: ") or not walk_line.endswith("."):
            raise WrongStep("unreadable", f"walk {walk_line!r}")
        k, taken = 1, []
        for item in walk_line[len("Walk: "):-1].split(", "):
            match = _WALK.match(item)
            if not match:
                raise WrongStep("unreadable", f"walk step {item!r}")
            pick, said = choice.get(int(match[1]), (None, None))
            written = "take" if match[2] else "skip"
            jump = n + 1 if match[2] == "end" else int(match[2] or 0)
            if int(match[1]) != k or written != pick or (written == "take" and jump != said):
                raise WrongStep("walk", f"walk step {item!r} (line {k}: {pick} -> {said})")
            taken += [k] if written == "take" else []
            k = said if written == "take" else k + 1
        if k <= n:
            raise WrongStep("walk", f"the walk stops at {k} of {n}")
        _check_schedule(think[2 * n + 3:], completion, listed, taken)
    except WrongStep as wrong:
        wrong.lines_right = lines_right
        return wrong
    return None


def _check_schedule(lines: list[str], completion: str, listed: list[tuple], taken: list[int]) -> None:
    """The think's schedule (``lines`` from its ``Schedule:``) and the ``<schedule>`` answer against the events the
    programme takes (the walk's, or line 1's set), by their numbers in the event list."""
    recap = [f"{k}. {listed[k - 1][1]} {listed[k - 1][2]}-{listed[k - 1][3]}" for k in taken]
    if lines[:1 + len(recap)] != ["Schedule:", *recap]:
        raise WrongStep("schedule", "the think's schedule is not the events the programme takes")
    if [name for name, _, _ in parse_completion(completion).events] != [listed[k - 1][1] for k in taken]:
        raise WrongStep("schedule", "the <schedule> is not the events the programme takes")


def held_share(problem: Problem, wrong: WrongStep | None) -> float:
    """How far a think whose first wrong step is ``wrong`` holds: its programme lines right before it, plus one for a
    walk (dpset: the sets) and schedule right as well, over the event count plus one (1.0: every step right; 0.0 for a
    think in no dp format or a wrong event list)."""
    n = len(problem.events)
    return 1.0 if wrong is None else min(wrong.lines_right, n) / (n + 1)


def programme_share(problem: Problem, completion: object) -> float:
    """``held_share`` of ``completion``'s think: what the programme reward pays for."""
    return held_share(problem, first_wrong(problem, completion))
