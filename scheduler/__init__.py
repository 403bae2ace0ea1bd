"""The scheduling domain core: one source of truth for the app, training and evaluation.

events -> prompt -> (model) -> completion -> parse -> score / reward -> results
"""

from scheduler.data import load_problems, load_split
from scheduler.errors import SchedulerError
from scheduler.events import Event, Problem, format_time, parse_problem, parse_time
from scheduler.parsing import ParsedCompletion, completion_text, extract_events, parse_completion
from scheduler.prompts import SYSTEM_PROMPT, USER_TEMPLATE, build_messages, user_message
from scheduler.reference import reference_answer, render_schedule
from scheduler.rewards import (
    Breakdown,
    breakdown,
    format_reward,
    order_reward,
    reward_funcs,
    score_reward,
    score_reward_compat,
)
from scheduler.scoring import VERDICTS, Verdict, aggregate, judge, score_completion, score_row
from scheduler.solver import Solution, solve

# The generator is imported on first use, so ``python -m scheduler.generator`` runs it as a script
# without a second copy of the module (runpy warns when the package has imported it already).
_GENERATOR_NAMES = ("GeneratorConfig", "PRESETS", "generate_problem", "generate_rows", "problem_to_row")


def __getattr__(name: str):
    if name in _GENERATOR_NAMES:
        from scheduler import generator

        return getattr(generator, name)
    raise AttributeError(f"module 'scheduler' has no attribute {name!r}")

__all__ = [
    "Breakdown", "Event", "GeneratorConfig", "PRESETS", "ParsedCompletion", "Problem", "SYSTEM_PROMPT",
    "SchedulerError", "Solution", "USER_TEMPLATE", "VERDICTS", "Verdict", "aggregate", "breakdown",
    "build_messages", "completion_text", "extract_events", "format_reward", "format_time", "generate_problem",
    "generate_rows", "judge", "load_problems", "load_split", "order_reward", "parse_completion", "parse_problem",
    "parse_time", "problem_to_row", "reference_answer", "render_schedule", "reward_funcs", "score_completion",
    "score_reward", "score_reward_compat", "score_row", "solve", "user_message",
]
