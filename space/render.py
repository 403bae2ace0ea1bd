"""HTML for one answer: reward parts, the published-rules verdict, score vs optimal, and the raw think.

Every string that came from a user or a model goes through ``html.escape`` here, in one place;
the numbers come from ``scheduler.breakdown`` and nothing is recomputed.
"""

from __future__ import annotations

import html
import re

from scheduler import Breakdown
from scheduler.rewards import FORMAT_POINTS, ORDER_POINTS, SCORE_POINTS

VERDICT_TEXT = {
    "valid": "Valid schedule",
    "format_error": "Format error: no <schedule> with a well-formed <event>",
    "less_than_2_events": "Fewer than 2 events scheduled",
    "non_existing": "An event is not in the problem (or is listed twice)",
    "unsorted": "Events are not in chronological order",
    "overlaps": "Two scheduled events overlap",
}

CSS = """
.lane-card {border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 12px 14px;
  background: var(--background-fill-primary); font-size: 14px; line-height: 1.45;}
.lane-card h4 {margin: 0 0 6px 0; font-size: 15px;}
.verdict {display: inline-block; padding: 2px 10px; border-radius: 999px; font-weight: 600; font-size: 13px;}
.verdict.ok {background: #d3f9d8; color: #2b8a3e;}
.verdict.bad {background: #ffe3e3; color: #c92a2a;}
.verdict.wait {background: #e7f5ff; color: #1864ab;}
.verdict.stop {background: #fff4e6; color: #a14c00;}
.scorebar {height: 10px; background: #e9ecef; border-radius: 5px; overflow: hidden; margin: 6px 0 2px 0;}
.scorebar > div {height: 100%; background: linear-gradient(90deg, #1c7ed6, #37b24d);}
.parts {border-collapse: collapse; margin: 8px 0; width: 100%;}
.parts td {padding: 2px 6px; border-bottom: 1px solid var(--border-color-primary);}
.parts td.num {text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap;}
.parts tr.total td {font-weight: 700; border-bottom: none;}
.issues {margin: 6px 0 0 0; padding-left: 18px; color: #c92a2a;}
.issues li {margin: 1px 0;}
.muted {color: var(--body-text-color-subdued); font-size: 13px;}
.think {margin-top: 8px;}
.think pre {white-space: pre-wrap; word-break: break-word; max-height: 260px; overflow-y: auto; font-size: 12.5px;
  background: var(--background-fill-secondary); padding: 8px; border-radius: 6px; margin: 4px 0 0 0;}
.note {border-radius: 8px; padding: 10px 12px; font-size: 14px;}
.note.info {background: #e7f5ff; color: #1864ab;}
.note.warn {background: #fff4e6; color: #a14c00;}
.note.error {background: #ffe3e3; color: #a61e1e;}
.note-list {margin: 0; padding-left: 18px;}
"""


def esc(value: object) -> str:
    """Escape anything for HTML text and attribute context."""
    return html.escape(str(value), quote=True)


def note_html(message: str, kind: str = "info") -> str:
    """A coloured note (info / warn / error) with an escaped message."""
    kind = kind if kind in ("info", "warn", "error") else "info"
    return f'<div class="note {kind}">{esc(message)}</div>'


# What a lane is doing, carried by its card (``data-lane-state``) for the page's tests and benchmark.
LANE_STATES = ("idle", "loading", "waiting", "generating", "done", "stopped", "failed", "missing")


def lane_state_html(state: str, message: str, kind: str = "info") -> str:
    """A lane's card while it has no answer to judge: loading, waiting for its model, stopped, failed."""
    state = state if state in LANE_STATES else "idle"
    badge = '<span class="verdict stop">stopped</span> ' if state == "stopped" else ""
    return f'<div data-lane-state="{state}">{badge}{note_html(message, kind)}</div>'


def messages_html(messages: list[str], kind: str = "warn") -> str:
    """Several sentences in one note, one per line (escaped)."""
    kind = kind if kind in ("info", "warn", "error") else "info"
    items = "".join(f"<li>{esc(m)}</li>" for m in messages)
    return f'<div class="note {kind}"><ul class="note-list">{items}</ul></div>'


def _event_list(items: list[str]) -> str:
    return ", ".join(f"<code>{esc(item)}</code>" for item in items)


def _triples(items: list[tuple[str, str, str]]) -> str:
    return ", ".join(f"<code>{esc(n)} ({esc(s)}-{esc(e)})</code>" for n, s, e in items)


def issues(bd: Breakdown) -> list[str]:
    """What went wrong, as HTML list items (escaped), most serious first."""
    out = []
    if not bd.lenient_format:
        out.append("no <code>&lt;schedule&gt;</code> block with a well-formed <code>&lt;event&gt;</code>")
    elif not bd.strict_format:
        out.append("format reward lost: the answer must start with <code>&lt;think&gt;</code> and close it before the schedule")
    if bd.unknown:
        out.append(f"not in the problem (name, start and end must match exactly): {_triples(bd.unknown)}")
    if bd.duplicates:
        out.append(f"listed more than once: {_event_list(bd.duplicates)}")
    if bd.out_of_order:
        out.append(f"starts no later than the event before it: {_event_list(bd.out_of_order)}")
    if bd.overlapping:
        pairs = ", ".join(f"<code>{esc(a)}</code> / <code>{esc(b)}</code>" for a, b in bd.overlapping)
        out.append(f"overlapping: {pairs}")
    if bd.lenient_format and len(bd.scheduled) < 2:
        out.append("fewer than two events scheduled")
    return out


def breakdown_html(bd: Breakdown, label: str = "", pending: bool = False, footer: str = "", completion: str | None = None,
                   prompt: str = "") -> str:
    """The card under a lane's timeline; ``pending`` while the answer is still streaming.

    ``completion`` and ``prompt`` (the messages the model saw) let the card say what the model did
    with ``<think>``; without them the think part is shown as parsed."""
    if pending:
        badge = '<span class="verdict wait">generating…</span>'
    elif bd.verdict == "valid":
        badge = f'<span class="verdict ok">{esc(VERDICT_TEXT["valid"])}</span>'
    else:
        badge = f'<span class="verdict bad">{esc(VERDICT_TEXT.get(bd.verdict, bd.verdict))}</span>'
    percent = 100.0 * bd.score
    if bd.verdict == "valid":
        score_line = (
            f"Published score <b>{percent:.1f}%</b> of optimal "
            f"(weighted duration {bd.achieved} / {bd.optimal})"
        )
    else:
        score_line = f"Published score <b>0%</b> (invalid answers score 0; the optimum is {bd.optimal})"
    parts = (
        '<table class="parts">'
        f'<tr><td>Format (think, then schedule)</td><td class="num">{bd.format_reward:.0f} / {FORMAT_POINTS:.0f}</td></tr>'
        f'<tr><td>Chronological order</td><td class="num">{bd.order_reward:.0f} / {ORDER_POINTS:.0f}</td></tr>'
        f'<tr><td>Weighted duration vs optimal</td><td class="num">{bd.score_reward:.1f} / {SCORE_POINTS:.0f}</td></tr>'
        f'<tr class="total"><td>Training reward ({esc(bd.mode)} mode)</td><td class="num">{bd.total:.1f} / 100</td></tr>'
        "</table>"
    )
    found = issues(bd)
    issue_list = f'<ul class="issues">{"".join(f"<li>{item}</li>" for item in found)}</ul>' if found else ""
    kept = len(set(bd.kept))
    dropped = f"; dropped {_event_list(bd.dropped)}" if bd.dropped else ""
    counts = f'<div class="muted">Kept {kept} event(s){dropped}.</div>'
    heading = f"<h4>{esc(label)}</h4>" if label else ""
    tail = f'<div class="muted">{esc(footer)}</div>' if footer else ""
    state = "generating" if pending else "done"
    think = think_html(bd.think) if completion is None else think_status_html(completion, prompt, pending)
    return (
        f'<div class="lane-card" data-lane-state="{state}">{heading}{badge}'
        f'<div class="scorebar"><div style="width:{max(0.0, min(100.0, percent)):.1f}%"></div></div>'
        f"<div>{score_line}</div>{parts}{counts}{issue_list}{think}{tail}</div>"
    )


def think_html(think: str | None) -> str:
    """The model's reasoning, verbatim and escaped, folded."""
    if think is None:
        return '<div class="think muted">No <code>&lt;think&gt;…&lt;/think&gt;</code> block.</div>'
    body = esc(think) if think.strip() else '<span class="muted">(empty)</span>'
    return f'<details class="think" open><summary>Reasoning inside &lt;think&gt;</summary><pre>{body}</pre></details>'


_THINK_BLOCK = re.compile(r"<think>(.*?)</think>", re.DOTALL)


def think_status(completion: str, prompt: str = "") -> tuple[str, str | None]:
    """What the model did with ``<think>``: (status, its own reasoning or None).

    ``ok``: a closed block of its own. ``none``: no ``<think>`` at all. ``empty``: an empty block.
    ``unclosed`` / ``unopened``: one tag without the other. ``echoed``: every closed block is text copied
    from the prompt (the instructions' "<think> and </think>" read back as a block holding "and").
    """
    text = completion or ""
    blocks = list(_THINK_BLOCK.finditer(text))
    own = [m for m in blocks if not (m.group(0) in prompt or (m.group(1).strip() and f"<think>{m.group(1)}" in prompt))]
    if own:
        body = own[0].group(1).strip()
        return ("ok", body) if body else ("empty", None)
    if blocks:
        return "echoed", None
    if "<think>" in text:
        return "unclosed", text[text.index("<think>") + len("<think>"):].strip() or None
    if "</think>" in text:
        return "unopened", None
    return "none", None


THINK_TEXT = {
    "none": "No reasoning: the answer has no <think> block.",
    "empty": "An empty <think></think> block: no reasoning.",
    "unclosed": "Malformed reasoning: <think> is opened but never closed.",
    "unopened": "Malformed reasoning: </think> without an opening <think>.",
    "echoed": "No reasoning of its own: the only <think>…</think> in the answer is copied from the prompt's "
              "instructions (it repeats the prompt instead of reasoning).",
}


def think_status_html(completion: str, prompt: str = "", pending: bool = False) -> str:
    """The card's reasoning part: the model's own think, folded; or one sentence on what it did instead."""
    status, body = think_status(completion, prompt)
    if status == "ok":
        return think_html(body)
    if pending and status in ("none", "unclosed"):
        return '<div class="think muted">Reasoning: still being written…</div>' if status == "unclosed" else ""
    sentence = f'<div class="think muted" data-think="{status}">{esc(THINK_TEXT[status])}</div>'
    if status == "unclosed" and body:
        return sentence + think_html(body).replace("Reasoning inside &lt;think&gt;", "Text after the unclosed &lt;think&gt;")
    return sentence
