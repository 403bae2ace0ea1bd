"""Trivial rule-based "models": baselines for the leaderboard and checks against reward hacking.

- ``heuristic:priorities``: keep every priority event, in start order (they may overlap each other).
- ``heuristic:greedy``: take events by weighted duration, largest first, skipping any that overlaps
  one already taken (touching is allowed), then list them in start order.

A model that a GRPO run trains should beat both; if it only matches them, it learned the rule.
"""

from __future__ import annotations

from typing import Callable

from models.backend import Backend, GenerationResult
from models.errors import ModelLoadError
from models.specs import HEURISTIC_PREFIX, ModelSpec
from scheduler import Event, Problem, SchedulerError, USER_TEMPLATE, parse_problem, render_schedule
from scheduler.events import overlaps


def keep_priorities(problem: Problem) -> list[Event]:
    return sorted((ev for ev in problem.events if ev.name in problem.priorities), key=lambda e: (e.start, e.end))


def greedy_by_weight(problem: Problem) -> list[Event]:
    chosen: list[Event] = []
    for ev in sorted(problem.events, key=lambda e: (-problem.value(e), e.start, e.name)):
        if not any(overlaps(ev.start, ev.end, other.start, other.end) for other in chosen):
            chosen.append(ev)
    return sorted(chosen, key=lambda e: e.start)


HEURISTICS: dict[str, tuple[Callable[[Problem], list[Event]], str]] = {
    "priorities": (keep_priorities, "Heuristic: keep every priority event, in start order."),
    "greedy": (greedy_by_weight, "Heuristic: take events by weighted duration, largest first, skipping overlaps."),
}


def heuristic_completion(name: str, problem: Problem) -> str:
    """The heuristic's answer in the format the prompt asks for."""
    rule, explanation = HEURISTICS[name]
    return f"<think>\n{explanation}\n</think>\n{render_schedule(rule(problem))}"


def problem_from_messages(messages: list[dict]) -> Problem:
    """The problem in the last user message (the dataset prompt after the fixed instructions)."""
    content = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    return parse_problem(content[len(USER_TEMPLATE):] if content.startswith(USER_TEMPLATE) else content)


class HeuristicBackend(Backend):
    """A rule behind the Backend interface; sampling settings do not apply, and no tokens are generated."""

    name = "heuristic"
    default_batch_size = 100

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        self.rule = spec.model[len(HEURISTIC_PREFIX):]
        if self.rule not in HEURISTICS:
            known = ", ".join(HEURISTIC_PREFIX + k for k in HEURISTICS)
            raise ModelLoadError(f"Unknown heuristic {spec.model!r}; choose from {known}.")
        if spec.adapter:
            raise ModelLoadError(f"{spec.model} is a rule, not a model; it takes no adapter.")

    def generate(self, conversations, settings, batch_size=None):
        out = []
        for messages in conversations:
            try:
                text = heuristic_completion(self.rule, problem_from_messages(list(messages)))
            except SchedulerError as err:  # a problem the user format cannot carry (e.g. past midnight)
                text = f"(the heuristic could not read this problem: {err})"
            out.append(GenerationResult(text, 0))
        return out

    def info(self) -> dict:
        return {"backend": self.name, "model": self.spec.model, "adapter": None, "device": "cpu",
                "n_parameters": 0, "chat_template_sha256": None}
