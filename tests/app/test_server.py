"""The Space's backend through gradio_client, against ``python app.py`` running the embedded pair."""

import json

import pytest
from gradio_client import Client, handle_file

from scheduler import load_problems
from tests.app.conftest import SERVER_MAX_NEW_TOKENS

PROBLEM = load_problems("test")[2]


@pytest.fixture(scope="module")
def client(server):
    return Client(server, verbose=False)


def table_payload(rows):
    return {"headers": ["name", "start", "end", "priority"], "data": rows, "metadata": None}


def problem_payload(problem):
    return table_payload([[ev.name, ev.start_hhmm, ev.end_hhmm, ev.name in problem.priorities] for ev in problem.events])


def figure_of(plot):
    assert plot["type"] == "plotly"
    return json.loads(plot["plot"])


def test_load_a_test_problem(client):
    table, status = client.predict("test", 2, api_name="/load_problem")
    assert table["data"] == problem_payload(PROBLEM)["data"]
    assert "Loaded canonical test problem #2" in status
    _, status = client.predict("names", 3, api_name="/load_problem")  # the held-out names split
    assert "Loaded names problem #3" in status


def test_bad_text_is_a_message_with_escaped_markup(client):
    _, status = client.predict("Events:\n- <script>alert(1)</script> (10:00 - 11:00)", api_name="/load_text")
    assert 'class="note error"' in status
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in status and "<script>" not in status
    _, status = client.predict("Lunch at noon", api_name="/load_text")  # quick text, but no time range
    assert 'class="note error"' in status and "no time range found" in status
    table, status = client.predict("standup 9-9:15, lunch 12pm-1pm (priority)", api_name="/load_text")
    assert table["data"] == [["standup", "09:00", "09:15", False], ["lunch", "12:00", "13:00", True]]
    assert "Read 2 events" in status


def test_csv_import(client, tmp_path):
    path = tmp_path / "day.csv"
    path.write_text("name,start,end,priority\nLunch,12:00,13:00,yes\nGym,07:00,08:00,no\n", encoding="utf-8")
    table, status = client.predict(handle_file(str(path)), api_name="/import_file")
    assert table["data"] == [["Gym", "07:00", "08:00", False], ["Lunch", "12:00", "13:00", True]]
    assert "note info" in status


def test_solver_lane(client):
    plot, card, prompt, _ = client.predict(problem_payload(PROBLEM), api_name="/solve")
    assert "Valid schedule" in card and "100.0%" in card
    assert prompt.endswith(PROBLEM.to_prompt())
    rows = {y for trace in figure_of(plot)["data"] for y in trace["y"]}
    assert rows == {ev.name for ev in PROBLEM.events}


@pytest.mark.parametrize("lane", ["base", "tuned"])
def test_both_models_answer_and_are_judged(client, lane):
    job = client.submit(problem_payload(PROBLEM), SERVER_MAX_NEW_TOKENS, 0.0, 1.0, 0, api_name=f"/run_{lane}")
    text, plot, card = job.result(timeout=300)
    outputs = job.outputs()
    assert len(outputs) >= 3, "the answer should arrive in several streamed updates"
    assert text and "Training reward" in card and "generated in" in card
    assert any(v in card for v in ("Valid schedule", "Format error", "Fewer than 2", "not in the problem",
                                   "chronological", "overlap"))
    if lane == "tuned":
        assert "adapter" in card  # the tuned label names the adapter folder
    rows = {y for trace in figure_of(plot)["data"] for y in trace["y"]}
    assert {ev.name for ev in PROBLEM.events} <= rows


def test_both_lanes_run_at_once(client):
    jobs = [client.submit(problem_payload(PROBLEM), 16, 0.0, 1.0, 0, api_name=f"/run_{lane}") for lane in ("base", "tuned")]
    cards = [job.result(timeout=300)[2] for job in jobs]
    assert all("Training reward" in card for card in cards)


def test_run_both_streams_both_lanes_in_one_request(client):
    job = client.submit(problem_payload(PROBLEM), 16, 16, 0.0, 1.0, 0, api_name="/run_both")
    base_text, _, base_card, tuned_text, _, tuned_card = job.result(timeout=300)
    assert base_text and tuned_text
    assert 'data-lane-state="done"' in base_card and 'data-lane-state="done"' in tuned_card
    assert "generated in" in base_card and "max 16 new tokens" in tuned_card


def test_bad_table_runs_nothing(client):
    bad = table_payload([["Lunch", "13:00", "12:00", False]])
    text, plot, card = client.predict(bad, 16, 0.0, 1.0, 0, api_name="/run_base")
    assert text == "" and "Nothing was run" in card and "ends (12:00) before or when it starts" in card


def test_leaderboard_has_measured_and_published_rows(client):
    update, plot, _ = client.predict("test", ["n", "source"], api_name="/leaderboard")
    table = update["value"]  # with the datatypes of the columns picked (numbers sort as numbers)
    assert update["datatype"][update["value"]["headers"].index("valid")] == "number"
    headers = table["headers"]
    rows = [dict(zip(headers, row)) for row in table["data"]]
    sources = {row["source"] for row in rows}
    assert "measured" in sources and any("published" in s for s in sources)
    greedy = next(row for row in rows if row["model"] == "heuristic:greedy")
    assert isinstance(greedy["mean score"], (int, float)) and greedy["n"] == 5
    assert all(row["split"] == "test" for row in rows)
    assert figure_of(plot)["layout"]["height"] > 0
