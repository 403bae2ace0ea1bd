import re

from hypothesis import given, settings, strategies as st

from scheduler import parse_completion
from scheduler.parsing import (
    LENIENT_FORMAT_PATTERN,
    STRICT_FORMAT_PATTERN,
    extract_events,
    lenient_format_ok,
    strict_format_ok,
)

STRICT = re.compile(STRICT_FORMAT_PATTERN, re.DOTALL)
LENIENT = re.compile(LENIENT_FORMAT_PATTERN, re.DOTALL)
TOKENS = [
    "<think>", "</think>", "<schedule>", "</schedule>", "<event>", "</event>", "<name>", "</name>",
    "<start>09:00</start>", "<end>10:30</end>", "<start>9:00</start>", "<end>xx</end>", "A", " ", "\n", "<", ">",
]
token_strings = st.lists(st.sampled_from(TOKENS), max_size=24).map("".join)


@settings(max_examples=3000, deadline=None)
@given(token_strings)
def test_linear_format_checks_agree_with_the_published_regexes(text):
    assert strict_format_ok(text) == bool(STRICT.match(text))
    assert lenient_format_ok(text) == bool(LENIENT.match(text))


@settings(max_examples=2000, deadline=None)
@given(st.text())
def test_parser_never_raises(text):
    parsed = parse_completion(text)
    assert isinstance(parsed.events, list)


def test_think_and_events_are_extracted():
    text = "<think> draft </think>\n<schedule>\n<event>\n <name>A B</name>\n<start>09:00</start>\n<end>10:00</end>\n</event>\n</schedule>"
    parsed = parse_completion(text)
    assert parsed.think == "draft"
    assert parsed.events == [("A B", "09:00", "10:00")]
    assert parsed.strict_format and parsed.lenient_format


def test_conversational_completions():
    conv = [{"role": "assistant", "content": "<schedule><event><name>A</name><start>09:00</start><end>10:00</end></event></schedule>"}]
    assert parse_completion(conv).events == [("A", "09:00", "10:00")]
    assert parse_completion(None).events == [] and parse_completion(12).events == []


def test_format_checks_are_fast_on_hostile_input():
    import time

    text = "<think>x</think><schedule>" + "<event><name>a</name>" * 20000
    t = time.perf_counter()
    assert not strict_format_ok(text) and not lenient_format_ok(text)
    assert extract_events(text) == []
    assert time.perf_counter() - t < 1.0
