"""Text of the Space: the header and the About tab (one place, as in the leaderboard template)."""

from __future__ import annotations

TITLE = "Event scheduling with GRPO: base vs fine-tuned"

INTRO = """\
Give a day of events (start, end, some marked **priority**), and two language models try to build the
best schedule: a base model and its fine-tuned version, streamed side by side, each judged by the
published rules against the exact optimum (the solver's lane). Pick a test problem, generate a new one,
type your own day ("standup 9-9:15, lunch 12pm-1pm (priority)"), edit the table, or import a `.csv` /
`.ics` calendar, then press **Run both models**.
"""

ABOUT = """\
## The task

A problem is a list of events, each with a start and an end (`HH:MM`, one day), and the names of the
priority events. A schedule keeps some of the events so that

- they are listed in **chronological order** (strictly increasing start times),
- no two **overlap** (an event may start exactly when the previous one ends),
- times and names are copied **exactly** (no shortening, no renaming, nothing invented),
- the **weighted duration** is as large as possible: a priority event counts twice its minutes.

The model answers `<think>…</think>` and then
`<schedule><event><name>…</name><start>…</start><end>…</end></event>…</schedule>`.
The exact solver (weighted interval scheduling, `scheduler/solver.py`) gives the optimum every answer
is measured against.

## How an answer is judged

**Published evaluation rules** (`scheduler/scoring.py`), in this order: no `<schedule>` with a
well-formed `<event>` → *format error*; fewer than 2 events → *less than 2 events*; an event that is
not exactly (name, start, end) in the problem, or one listed twice → *non-existing*; start times not
strictly increasing → *unsorted*; two events overlapping → *overlaps*; otherwise *valid*, with score =
weighted duration / optimum. Invalid answers score 0; a run reports the mean ×100 and its standard error.

**Training rewards** (`scheduler/rewards.py`, used by GRPO): format 10 (the full think-then-schedule
shape), chronological order 20, and 70 × weighted duration of the non-overlapping listed events /
optimum. The card under each timeline shows all three parts and the published verdict.

Reading a timeline: one row per event of the problem, over the problem's own hours. The legend's
five entries are: **kept · priority** (orange, hatched, dark outline), **kept · normal** (blue),
**dropped · priority** and **dropped · normal** (greys, the priority one warmer and hatched), and
**not in the problem** (red rows: events the answer invented, or copied with wrong times). A red band
marks time where two kept events overlap; `#n` after a bar is its position in the answer; ⚠ notes
flag overlapping, out-of-order and repeated events.

Each lane also says what the model did with `<think>`: its reasoning (folded), or one sentence —
no `<think>` block, an empty or malformed one, or a block copied from the prompt's instructions
(the system prompt's "inside <think> and </think> tags" read back as a block holding "and").

## How the CPU demo is fast

On a CPU, greedy answers come from a lean decoder (`models/fast_decode.py`): the shared system prompt's
KV cache is computed once, and each step *drafts* several tokens that the model checks in one forward
pass — tokens copied from the prompt, and tokens of the solver's reference answer (the format the
tuned model was trained on). A draft is only a guess: the model keeps a drafted token only where it is
the model's own top choice, so what you see is exactly the model's greedy answer, token for token
(the tests check this against plain `generate`); a model that does not write like the solver just
gets fewer drafts accepted.

## Evaluate a model

```bash
python -m eval.run --model smollm2-135m-instruct --split test          # the embedded base, greedy
python -m eval.run --preset smollm2-135m --preset-side tuned --split test
python -m eval.run --model heuristic:greedy --split test               # a rule, for a baseline
python -m eval.score --completions DIR_OR_JSONL --split test          # score answers made elsewhere
python -m eval.leaderboard                                             # the table of the Leaderboard tab
```

Every finished run in `results/` appears on the Leaderboard tab, next to the published figures of the
original write-up (sampled at temperature 1.0, one sample per prompt: compare like with like).

## Train

```bash
python training/sft.py --config recipes/SmolLM2-135M-Instruct/sft/config.yaml --output_dir out/sft  # the shipped LoRA
python training/grpo.py --config recipes/SmolLM2-135M-Instruct/grpo/config.yaml --init_adapter out/sft
python training/grpo.py --config recipes/Qwen2.5-Coder-7B-Instruct/grpo/config.yaml   # the original 7B run
```

## Run this Space

```bash
python app.py                                   # the embedded SmolLM2-135M pair, on CPU
python app.py --preset qwen-7b                  # Qwen2.5-Coder-7B-Instruct vs qwen-scheduler-7b-grpo (a GPU)
python app.py --base-model DIR --tuned-model DIR --tuned-adapter DIR --port 7860
```

Each flag has an environment variable (`SCHEDULER_PRESET`, `SCHEDULER_BASE_MODEL`, …).

## Credits

The task, the canonical dataset (`anakin87/events-scheduling`) and the published 7B model come from
the original Qwen scheduler GRPO project (Apache-2.0). SmolLM2-135M-Instruct is by Hugging Face
(Apache-2.0).
"""

QUICK_TEXT_HELP = (
    "Times like 9, 9:15, 9am, 12pm-1:30pm, 21h00, “9 to 10”, “9–10”; mark a priority with (priority), ! or *. "
    "The text with an 'Events:' header (the dataset's format) works too. Events go into the table for review."
)
QUICK_TEXT_EXAMPLE = (
    "standup 9-9:15, deep work 9:10 to 11, lunch w/ Sam 12pm-1pm, gym 12:30-1:30pm (priority)\n"
    "1:1 with Ana 11:30am–12:15pm !\n"
    "review PRs 14h00-15h30"
)

CSV_HELP = "CSV: a header row `name,start,end,priority` (priority optional: yes/no, true/false, 1/0). " \
    "ICS: the timed events of the calendar's first day; PRIORITY 1-4 marks a priority event."
