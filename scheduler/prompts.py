"""The prompts the published models were trained and evaluated with, byte for byte.

Source: the qwen-scheduler-grpo project (prompts.txt), Apache-2.0. Changing a byte here makes our
scores incomparable with the published ones, so tests pin these against ``../shared/data/prompts.md``.
"""

from __future__ import annotations

from typing import Union

from scheduler.events import Problem

SYSTEM_PROMPT = 'You are a precise event scheduler.\n1. First, reason through the problem inside <think> and </think> tags. Here you can create drafts, compare alternatives, and check for mistakes.\n2. When confident, output the final schedule inside <schedule> and </schedule> tags. Your schedule must strictly follow the rules provided by the user.'

# The row's ``prompt`` column follows the last line directly.
USER_TEMPLATE = (
    'Task: create an optimized schedule based on the given events.\n'
    '\n'
    'Rules:\n'
    '- The schedule MUST be in strict chronological order. Do NOT place priority events earlier unless their actual start time is earlier.\n'
    '- Event start and end times are ABSOLUTE. NEVER change, shorten, adjust, or split them.\n'
    '- Priority events (weight = 2) carry more weight than normal events (weight = 1), but they MUST still respect chronological order.\n'
    '- Maximize the sum of weighted event durations.\n'
    '- No overlaps allowed. In conflicts, include the event with the higher weighted time.\n'
    '- Some events may be excluded if needed to meet these rules.\n'
    '\n'
    '\n'
    'You must use this format:  \n'
    '\n'
    '<think>...</think>\n'
    '<schedule>\n'
    '<event>\n'
    '<name>...</name>\n'
    '<start>...</start>\n'
    '<end>...</end>\n'
    '</event>\n'
    '...\n'
    '</schedule>\n'
    '\n'
    '---\n'
    '\n'
)


def user_message(problem: Union[Problem, str]) -> str:
    """The user turn: the fixed instructions followed by the problem in the dataset's format."""
    prompt = problem.to_prompt() if isinstance(problem, Problem) else problem
    return USER_TEMPLATE + prompt


def build_messages(problem: Union[Problem, str], system_prompt: str = SYSTEM_PROMPT) -> list[dict]:
    """Chat messages (system + user) for a problem or a dataset ``prompt`` string."""
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": user_message(problem)},
    ]
