"""The answer card: reward parts, verdict, score vs optimal, the think text; every string escaped."""

import pytest

from scheduler import breakdown, parse_problem, reference_answer
from scheduler.prompts import SYSTEM_PROMPT
from space.render import breakdown_html, note_html, think_html, think_status

PROBLEM = parse_problem("Events:\n- A (09:00 - 10:00)\n- B (09:30 - 11:00)\n- C (11:00 - 12:00)\n\nPriorities:\n- A")
SCRIPT = "<script>alert('x')</script>"


def test_optimal_answer_card_shows_full_marks():
    html = breakdown_html(breakdown(reference_answer(PROBLEM), PROBLEM), label="Solver")
    assert "Valid schedule" in html
    assert "100.0%" in html and "(weighted duration 180 / 180)" in html
    assert "10 / 10" in html and "20 / 20" in html and "70.0 / 70" in html and "100.0 / 100" in html
    assert "Reasoning inside &lt;think&gt;" in html


def test_invalid_answer_card_names_the_rule_and_the_mistakes():
    text = ("<think>x</think><schedule><event><name>C</name><start>11:00</start><end>12:00</end></event>"
            "<event><name>A</name><start>09:00</start><end>10:00</end></event>"
            "<event><name>Z</name><start>13:00</start><end>14:00</end></event></schedule>")
    html = breakdown_html(breakdown(text, PROBLEM), label="Base")
    assert "An event is not in the problem" in html
    assert "Published score <b>0%</b>" in html
    assert "<code>Z (13:00-14:00)</code>" in html
    assert "starts no later than the event before it: <code>A</code>" in html
    assert "0 / 20" in html


def test_think_and_label_and_names_are_escaped():
    # The think block may hold anything a model writes, markup included.
    text = f"<think>{SCRIPT} & more</think><schedule><event><name>x\" onmouseover=\"alert(1)</name>" \
           "<start>09:00</start><end>10:00</end></event></schedule>"
    html = breakdown_html(breakdown(text, PROBLEM), label=SCRIPT)
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html
    assert 'onmouseover="alert' not in html and "onmouseover=&quot;alert(1)" in html
    assert "<script" not in html.lower()


def test_pending_card_and_notes():
    html = breakdown_html(breakdown("<think>half", PROBLEM), pending=True, footer="took 1 s")
    assert "generating" in html and "took 1 s" in html
    assert note_html(SCRIPT, "error") == '<div class="note error">&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;</div>'
    assert 'class="note info"' in note_html("x", "bogus")
    assert "No <code>&lt;think&gt;" in think_html(None)


# What the model did with <think>: a sentence instead of stray words (issue 14).
ECHO = ("You are a precise event scheduler.\n1. First, reason through the problem inside <think> and </think> tags. "
        "Here you can create drafts")


@pytest.mark.parametrize("completion, status", [
    ("<think>Breakfast first, then lunch.</think><schedule></schedule>", "ok"),
    ("<schedule><event><name>A</name></event></schedule>", "none"),
    ("<think></think><schedule></schedule>", "empty"),
    ("<think>I will keep A and B", "unclosed"),
    ("keep A</think><schedule></schedule>", "unopened"),
    # The base model reading its system prompt back: "<think> and </think>" holds "and".
    (ECHO + " and compare alternatives.", "echoed"),
    ("Sure! " + ECHO + " <think>my own plan</think>", "ok"),
])
def test_think_status(completion, status):
    assert think_status(completion, prompt=SYSTEM_PROMPT)[0] == status


def test_an_echoed_think_is_named_not_quoted():
    completion = ECHO + " and compare alternatives. <schedule></schedule>"
    html = breakdown_html(breakdown(completion, PROBLEM), completion=completion, prompt=SYSTEM_PROMPT)
    assert 'data-think="echoed"' in html and "copied from the prompt" in html
    assert "Reasoning inside" not in html and "<pre>and</pre>" not in html
    own = "<think>A then B</think><schedule></schedule>"
    html = breakdown_html(breakdown(own, PROBLEM), completion=own, prompt=SYSTEM_PROMPT)
    assert "Reasoning inside &lt;think&gt;" in html and "A then B" in html
    none = "<schedule></schedule>"
    assert "has no &lt;think&gt; block" in breakdown_html(breakdown(none, PROBLEM), completion=none, prompt=SYSTEM_PROMPT)
