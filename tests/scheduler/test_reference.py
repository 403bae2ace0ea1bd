"""The reference answer in every think format: valid, optimal, and each format's own promise."""

import re

import pytest

from scheduler import Problem, breakdown, generate_rows, load_split, score_completion
from scheduler.reference import THINK_FORMATS, dp_solution, reasoning, reference_answer, render_schedule
from scheduler.solver import solve

ROWS = load_split("test")[:40] + load_split("hard")[:20] + generate_rows(20, seed=5, preset="diverse-hard")


@pytest.mark.parametrize("think", sorted(THINK_FORMATS))
def test_every_format_is_valid_and_optimal_and_earns_the_full_reward(think):
    for row in ROWS:
        problem = Problem.from_row(row)
        answer = reference_answer(problem, think)
        assert answer.startswith("<think>\n") and "</think>\n<schedule>" in answer
        verdict = score_completion(answer, problem)
        assert verdict.valid and verdict.score == 1.0
        assert breakdown(answer, problem).total == 100.0


def test_scan_keeps_exactly_the_events_that_start_at_or_after_the_free_time():
    """The scan's promise: 'keep' lines never start before the last kept end, so following it cannot overlap."""
    line = re.compile(r"^- (?P<name>.+) \((?P<s>\d\d:\d\d)-(?P<e>\d\d:\d\d), [^)]*\): (?P<rest>.*)$")
    for row in ROWS:
        problem = Problem.from_row(row)
        free = None
        kept = []
        for text in reasoning(problem, "scan").splitlines()[:-1]:
            m = line.match(text)
            assert m, text
            start = m["s"]
            if m["rest"].startswith("keep"):
                assert free is None or start >= free
                assert m["rest"] == f"keep, free at {m['e']}."
                free = m["e"]
                kept.append(m["name"])
            elif m["rest"].startswith("starts before"):
                assert free is not None and start < free and m["rest"] == f"starts before {free}, drop."
            else:
                assert m["rest"].startswith("overlaps ") and m["rest"].endswith(", drop.")
        assert kept == [ev.name for ev in solve(problem).events]


def scan_and(think: str):
    """(the solver's optimum, the scan's lines, ``think``'s lines) for every test problem."""
    for row in ROWS:
        problem = Problem.from_row(row)
        yield solve(problem), reasoning(problem, "scan").splitlines(), reasoning(problem, think).splitlines()


def test_recap_is_the_scan_then_the_optimal_schedule_line_by_line_then_the_total():
    for best, scan, lines in scan_and("recap"):
        assert lines[: len(scan) - 1] == scan[:-1] and lines[-1] == scan[-1] == f"Total: {best.score}."
        assert lines[len(scan) - 1] == "Schedule:"
        assert lines[len(scan):-1] == [f"{ev.name} {ev.start_hhmm}-{ev.end_hhmm}" for ev in best.events]


def test_numbered_is_the_recap_with_each_event_numbered_in_start_order_and_the_recap_led_by_those_numbers():
    for row in ROWS:
        problem = Problem.from_row(row)
        best = solve(problem)
        recap, lines = reasoning(problem, "recap").splitlines(), reasoning(problem, "numbered").splitlines()
        order = sorted(problem.events, key=lambda e: (e.start, e.end, e.name))
        n = len(order)
        assert len(lines) == len(recap) and lines[n:n + 1] == ["Schedule:"] and lines[-1] == recap[-1]
        for number, (plain, line) in enumerate(zip(recap[:n], lines[:n]), 1):
            assert plain.startswith("- ") and line == f"{number}. {plain[2:]}"
        assert lines[n + 1:-1] == [f"{order.index(ev) + 1}. {text}" for ev, text in zip(best.events, recap[n + 1:-1])]
        # each recap line's number leads the keep line of the same event, so the name after it is that line's
        for text in lines[n + 1:-1]:
            key, _, rest = text.partition(". ")
            keep = lines[int(key) - 1]
            assert keep.startswith(f"{key}. {rest.rsplit(' ', 1)[0]} (") and ": keep, free at " in keep


def test_running_keep_lines_carry_the_kept_events_so_far_and_the_rest_is_the_scan():
    for best, scan, running in scan_and("running"):
        assert len(running) == len(scan) and running[-1] == scan[-1]
        kept: list[str] = []
        for plain, line in zip(scan[:-1], running[:-1]):
            if plain.endswith(".") and ": keep, free at " in plain:
                kept.append(next(ev.name for ev in best.events if plain.startswith(f"- {ev.name} (")))
                assert line == f"{plain} Kept: {'; '.join(kept)}."
            else:
                assert line == plain
        assert kept == [ev.name for ev in best.events]


@pytest.mark.parametrize("think", ["dp", "dpcheck", "dplocal", "dpset"])
def test_dp_writes_the_programme_each_line_checkable_from_the_lines_above_it_and_walks_it_to_an_optimum(think):
    """Read back as the model would, from the think alone: every number comes from the event list or a line written
    before it, the walk follows the lines' choices, and the schedule is what the walk takes. ``dpcheck`` finds each
    ``next`` by writing the later events' starts, each against the line's end, up to the first at or after it;
    ``dplocal`` does the same with each line led by its event's times and value, the starts it checks being those of
    the lines just above it; ``dpset`` ends each such line with the events its best keeps (its number and its
    ``next``'s set for a take, the set of the line above for a skip) and has no walk: its schedule is line 1's set."""
    local = think in ("dplocal", "dpset")
    if local:  # name, times and a priority mark; the value is worked out on the programme line
        head = re.compile(r"^(\d+)\. (.+) \((\d\d:\d\d)-(\d\d:\d\d)(, priority)?\)$")
        found = r"(\d\d:\d\d)-(\d\d:\d\d), (?:2x\d+=)?(\d+); ((?:\d+ \d\d:\d\d no, )*(?:\d+ \d\d:\d\d yes|none));"
    else:
        head = re.compile(r"^(\d+)\. (.+) \((\d\d:\d\d)-(\d\d:\d\d), (?:2x\d+=)?(\d+)\)$")
        found = (r"ends (\d\d:\d\d), next (\d+|none):" if think == "dp"
                 else r"ends (\d\d:\d\d); ((?:\d+ at \d\d:\d\d no, )*(?:\d+ at \d\d:\d\d yes|none));")
    keep = r", keep (\d+(?: \d+)*)" if think == "dpset" else "()"
    step = re.compile(rf"^(\d+)\. {found} take (\d+) \+ (\d+) = (\d+), skip (\d+): (take|skip) (\d+){keep}\.$")
    for row in ROWS:
        problem = Problem.from_row(row)
        lines = reasoning(problem, think).splitlines()
        n = len(problem.events)
        assert lines[0] == "Events by start:" and lines[n + 1] == "Best from each event, last first:"
        events = [head.match(text).groups() for text in lines[1:n + 1]]
        assert [int(e[0]) for e in events] == list(range(1, n + 1))
        assert [e[2] for e in events] == sorted(e[2] for e in events)
        if local:
            chronological = sorted(problem.events, key=lambda e: (e.start, e.end, e.name))
            assert [bool(e[4]) for e in events] == [problem.weight(ev.name) == 2 for ev in chronological]
        best, sets = {n + 1: 0}, {n + 1: []}
        choice = {}
        for text, number in zip(lines[n + 2:2 * n + 2], range(n, 0, -1)):
            *groups, kept = step.match(text).groups()
            if local:
                i, start, end, own, nxt, value, after, total, skip, pick, result = groups
                ev = chronological[number - 1]
                assert (start, end) == events[number - 1][2:4] and int(own) == int(value) == problem.value(ev)
                # the starts it checks are those the lines just above it lead with
                above = {int(m[1]): m[2] for m in map(re.compile(r"^(\d+)\. (\d\d:\d\d)-").match,
                                                      lines[n + 2:n + 2 + (n - number)])}
                assert all(above[k] == events[k - 1][2] for k in range(number + 1, n + 1))
            else:
                i, end, nxt, value, after, total, skip, pick, result = groups
                assert end == events[number - 1][3] and int(value) == int(events[number - 1][4])
            assert int(i) == number
            later = [k for k in range(number + 1, n + 1) if events[k - 1][2] >= end]
            if think == "dp":
                assert nxt == (str(later[0]) if later else "none")
            else:
                stop, at = (later[0] if later else n + 1), (" " if local else " at ")
                checks = [f"{k}{at}{events[k - 1][2]} no" for k in range(number + 1, stop)]
                assert nxt == ", ".join(checks + [f"{stop}{at}{events[stop - 1][2]} yes" if later else "none"])
            assert int(after) == best[later[0] if later else n + 1] and int(total) == int(value) + int(after)
            assert int(skip) == best[number + 1]
            assert pick == ("take" if int(total) >= int(skip) else "skip") and int(result) == max(int(total), int(skip))
            best[number] = int(result)
            choice[number] = (pick, later[0] if later else n + 1)
            if think == "dpset":
                sets[number] = [number, *sets[choice[number][1]]] if pick == "take" else sets[number + 1]
                assert kept == " ".join(map(str, sets[number]))
        walk, taken, k = [], [], 1
        while k <= n:
            pick, nxt = choice[k]
            walk.append(f"{k} take -> {nxt if nxt <= n else 'end'}" if pick == "take" else f"{k} skip")
            taken += [k] if pick == "take" else []
            k = nxt if pick == "take" else k + 1
        if think == "dpset":
            assert sets[1] == taken
            lines.insert(2 * n + 2, f"Walk: {', '.join(walk)}.")  # the walk it leaves out, to read the rest as the others
        assert lines[2 * n + 2] == f"Walk: {', '.join(walk)}." and lines[2 * n + 3] == "Schedule:"
        assert lines[2 * n + 4:-1] == [f"{k}. {events[k - 1][1]} {events[k - 1][2]}-{events[k - 1][3]}" for k in taken]
        assert lines[-1] == f"Total: {best[1]}." and best[1] == solve(problem).score


@pytest.mark.parametrize("think", ["dp", "dpcheck", "dplocal", "dpset"])
def test_dp_schedule_is_its_walk_an_optimum_that_on_ties_may_differ_from_the_solvers(think):
    differ = 0
    for row in ROWS:
        problem = Problem.from_row(row)
        mine, solver = dp_solution(problem), solve(problem)
        assert mine.score == solver.score
        assert reference_answer(problem, think).endswith(render_schedule(mine.events))
        differ += mine.events != solver.events
    assert differ > 0  # ties are common (durations in steps of 15 minutes, weights of 2): the rule is the format's own


def test_short_names_the_dropped_events_and_the_total():
    problem = Problem.from_row(load_split("test")[0])
    kept = set(solve(problem).events)
    dropped = [ev.name for ev in sorted(problem.events, key=lambda e: (e.start, e.end, e.name)) if ev not in kept]
    assert reasoning(problem, "short") == (
        f"Drop to avoid overlaps: {', '.join(dropped)}. Total weighted duration {solve(problem).score}."
    )


def test_an_unknown_format_is_refused_with_the_known_ones():
    problem = Problem.from_row(load_split("test")[0])
    with pytest.raises(ValueError, match="v2, short, scan, recap, running, numbered, dp, dpcheck, dplocal, dpset"):
        reference_answer(problem, "long")
