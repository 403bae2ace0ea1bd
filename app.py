"""The Gradio Space: a base model and its GRPO-tuned version scheduling the same day, side by side.

    python app.py                          # the embedded SmolLM2-135M pair on CPU (see space/config.py)
    python app.py --preset qwen-7b --host 0.0.0.0 --port 7860

UI wiring only: problems come from ``space.inputs``, answers from ``space.lanes`` (models + core
scoring), pictures from ``space.timeline`` / ``space.render``, the leaderboard from ``eval``.
"""

from __future__ import annotations

import logging
import sys

import gradio as gr

from models.errors import ModelLoadError
from models.generation import SamplingSettings
from scheduler import SchedulerError, user_message
from space import about, inputs
from space import leaderboard as board
from space.config import AppConfig, parse_config
from space.lanes import ModelPool, run_lane, share_cpu, solver_view
from space.render import CSS, note_html

log = logging.getLogger("app")
LANE_PROGRESS = "minimal"


def _problem_outputs(problem, message: str):
    """Table + status note for a freshly loaded problem."""
    return inputs.problem_to_table(problem), note_html(message, "info")


def _failed(err: Exception):
    return gr.skip(), note_html(str(err), "error")


def load_test(index):
    try:
        return _problem_outputs(inputs.test_problem(index), f"Loaded canonical test problem #{int(index)}.")
    except SchedulerError as err:
        return _failed(err)


def load_random(seed, preset):
    try:
        problem = inputs.random_problem(seed, preset)
    except SchedulerError as err:
        return _failed(err)
    return _problem_outputs(problem, f"Generated a new {preset} problem (seed {int(seed or 0)}); it is not in the test split.")


def load_text(text):
    try:
        return _problem_outputs(inputs.text_to_problem(text), "Loaded the pasted problem.")
    except SchedulerError as err:
        return _failed(err)


def load_file(path):
    if not path:
        return gr.skip(), gr.skip()
    try:
        imported = inputs.file_to_problem(path)
    except SchedulerError as err:
        return _failed(err)
    return inputs.problem_to_table(imported.problem), note_html(" ".join(imported.notes) or "Imported the file.", "info")


def show_problem(table):
    """The solver lane and the prompt preview follow the table as it is edited."""
    try:
        problem = inputs.table_to_problem(table)
    except SchedulerError as err:
        return None, note_html(f"Fix the events table: {err}", "error"), "", note_html(str(err), "error")
    _, figure, html = solver_view(problem)
    return figure, html, user_message(problem), gr.skip()


def build_demo(config: AppConfig, pool: ModelPool | None = None) -> gr.Blocks:
    pool = pool or ModelPool(backend=config.backend, device=config.device)
    first = inputs.test_problem(0)
    first_table = inputs.problem_to_table(first)
    _, first_figure, first_html = solver_view(first)
    test_choices = inputs.test_problem_choices()
    table = board.load_table(config.results_dir)
    shown_table = board.for_display(table)

    def lane_handler(side):
        def run(events_table, max_new_tokens, temperature, top_p, seed):
            try:
                problem = inputs.table_to_problem(events_table)
                settings = SamplingSettings(temperature=float(temperature), top_p=float(top_p),
                                            max_new_tokens=int(max_new_tokens), seed=int(seed or 0))
            except SchedulerError as err:
                yield "", None, note_html(f"Nothing was run: {err}", "error")
                return
            for update in run_lane(side, problem, settings, pool):
                yield (
                    update.text,
                    gr.skip() if update.figure is None else update.figure,
                    gr.skip() if update.html is None else update.html,
                )

        run.__name__ = f"run_{side.role}"
        return run

    events = gr.Dataframe(
        value=first_table, headers=inputs.TABLE_COLUMNS, datatype=inputs.TABLE_DATATYPES,
        column_count=len(inputs.TABLE_COLUMNS), interactive=True, render=False,
        label="Events (edit freely; times HH:MM, tick priority events; sent sorted by start)",
        elem_id="events-table", max_height=360,
    )
    status = gr.HTML(note_html("Loaded canonical test problem #0.", "info"), elem_id="input-status", render=False)
    load_outputs = [events, status]

    with gr.Blocks(title=about.TITLE) as demo:
        gr.Markdown(f"# {about.TITLE}")
        gr.Markdown(about.INTRO)
        with gr.Tabs():
            with gr.Tab("Compare", id="compare"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        with gr.Tabs():
                            with gr.Tab("Test problems"):
                                test_pick = gr.Dropdown(
                                    choices=test_choices, value=0, label="Canonical test problem (the published evaluation's 100)",
                                    elem_id="test-pick",
                                )
                                with gr.Row():
                                    seed_box = gr.Number(value=1, precision=0, label="Seed", minimum=0, scale=1)
                                    preset_pick = gr.Radio(["canonical", "hard"], value="canonical", label="Generator", scale=2)
                                    random_btn = gr.Button("Generate a new problem", scale=2)
                            with gr.Tab("Paste text"):
                                paste_box = gr.Textbox(
                                    lines=8, label="Problem in the dataset's format", elem_id="paste-box",
                                    placeholder="Events:\n- Breakfast (08:00 - 08:30)\n- Standup (08:15 - 08:45)\n\nPriorities:\n- Standup",
                                )
                                paste_btn = gr.Button("Use this text", elem_id="paste-button")
                                paste_examples = gr.Examples(
                                    examples=[[inputs.test_problem(i).to_prompt()] for i in (1, 2, 3)],
                                    inputs=paste_box, outputs=load_outputs, fn=load_text, run_on_click=True,
                                    cache_examples=False, label="Examples (click to load)", api_name="load_example",
                                    example_labels=[f"test #{i}" for i in (1, 2, 3)],
                                )
                            with gr.Tab("Import file"):
                                upload = gr.File(label="A .csv or .ics file", file_types=[".csv", ".ics"], type="filepath")
                                gr.Markdown(about.CSV_HELP)
                        events.render()
                        status.render()
                    with gr.Column(scale=2):
                        with gr.Accordion("Generation settings", open=True):
                            max_tokens = gr.Slider(16, 2048, value=config.max_new_tokens, step=16, label="Max new tokens")
                            temperature = gr.Slider(0.0, 1.5, value=0.0, step=0.05, label="Temperature (0 = greedy)")
                            top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="Top-p")
                            seed = gr.Number(value=0, precision=0, label="Sampling seed")
                        run_btn = gr.Button("Run both models", variant="primary", size="lg", elem_id="run-button")
                        stop_btn = gr.Button("Stop", variant="stop", size="sm")
                        gr.Markdown(
                            f"**Base:** `{config.base.label}`  \n**Fine-tuned:** `{config.tuned.label}`"
                            + (f"  \nPreset `{config.preset}`." if config.preset else "")
                        )
                        with gr.Accordion("Prompt sent to both models", open=False):
                            prompt_box = gr.Textbox(user_message(first), lines=10, max_lines=20, show_label=False,
                                                    buttons=["copy"])
                with gr.Row():
                    with gr.Column(scale=3):
                        solver_plot = gr.Plot(first_figure, show_label=False, elem_id="solver-plot")
                    with gr.Column(scale=2):
                        solver_card = gr.HTML(first_html, elem_id="solver-card")
                lanes = {}
                with gr.Row(equal_height=False):
                    for side in (config.base, config.tuned):
                        with gr.Column():
                            gr.Markdown(f"### {'Base' if side.role == 'base' else 'Fine-tuned'}: `{side.label}`")
                            plot = gr.Plot(show_label=False, elem_id=f"{side.role}-plot", visible=side.spec is not None)
                            initial = (
                                note_html(side.missing, "warn") if side.spec is None
                                else note_html("Press “Run both models”; the model loads on first use.", "info")
                            )
                            card = gr.HTML(initial, elem_id=f"{side.role}-card")
                            text = gr.Textbox(label="Raw answer (streaming)", lines=6, max_lines=14, autoscroll=True,
                                              elem_id=f"{side.role}-text", buttons=["copy"])
                            lanes[side.role] = (side, text, plot, card)

            with gr.Tab("Leaderboard", id="leaderboard"):
                gr.Markdown(
                    "Every finished run in `results/` and the published reference rows (source *published*: "
                    "sampled at temperature 1.0, not measured here). Mean score is ×100 with its standard error."
                )
                with gr.Row():
                    split_pick = gr.Dropdown(board.split_choices(table), value=board.ALL_SPLITS, label="Split", scale=1)
                    refresh_btn = gr.Button("Reload results/", scale=0)
                board_table = gr.Dataframe(
                    shown_table, datatype=board.datatypes(shown_table), interactive=False, show_search="filter",
                    pinned_columns=1, buttons=["copy", "fullscreen"], elem_id="leaderboard-table", wrap=True,
                )
                board_plot = gr.Plot(board.score_chart(table), label="Mean score", elem_id="leaderboard-plot")

            with gr.Tab("About", id="about"):
                gr.Markdown(about.ABOUT)

        # Inputs -> table -> solver lane and prompt.
        test_pick.input(load_test, test_pick, load_outputs, api_name="load_test_problem")
        loaders = [
            random_btn.click(load_random, [seed_box, preset_pick], load_outputs, api_name="generate_problem"),
            paste_btn.click(load_text, paste_box, load_outputs, api_name="load_text"),
            upload.upload(load_file, upload, load_outputs, api_name="import_file"),
            paste_examples.load_input_event,
        ]
        for loaded in loaders:  # the table no longer shows the picked test problem
            loaded.then(lambda: None, None, test_pick, api_visibility="private", show_progress="hidden")
        events.change(show_problem, events, [solver_plot, solver_card, prompt_box, status], api_name="solve",
                      concurrency_limit=None)

        # One button, one queue per model: both lanes stream at once.
        settings_inputs = [events, max_tokens, temperature, top_p, seed]
        runs = []
        for role, (side, text, plot, card) in lanes.items():
            runs.append(
                run_btn.click(
                    lane_handler(side), settings_inputs, [text, plot, card], api_name=f"run_{role}",
                    concurrency_limit=1, concurrency_id=side.concurrency_id, show_progress=LANE_PROGRESS,
                )
            )
        stop_btn.click(None, None, None, cancels=runs, api_visibility="private")

        def reload_board(split):
            fresh = board.load_table(config.results_dir)
            shown = board.filter_split(fresh, split)
            # Same columns (and datatypes) as the initial table: only the rows change.
            return board.for_display(shown), board.score_chart(shown), gr.Dropdown(choices=board.split_choices(fresh))

        split_pick.change(reload_board, split_pick, [board_table, board_plot, split_pick], api_name="leaderboard")
        refresh_btn.click(reload_board, split_pick, [board_table, board_plot, split_pick], api_visibility="private")
    return demo


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = parse_config(argv)
    except ModelLoadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if config.device in (None, "cpu"):
        share_cpu(lanes=2)
    demo = build_demo(config)
    demo.queue(max_size=config.queue_size)
    demo.launch(
        server_name=config.host, server_port=config.port, theme=gr.themes.Soft(primary_hue="blue"), css=CSS,
        footer_links=["api", "gradio"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
