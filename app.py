"""The Gradio Space: a base model and its fine-tuned version scheduling the same day, side by side.

    python app.py                          # the embedded SmolLM2-135M pair on CPU (see space/config.py)
    python app.py --preset qwen-7b --host 0.0.0.0 --port 7860

UI wiring only: problems come from ``space.inputs`` / ``space.quick_text`` / ``space.picker``,
answers from ``space.lanes`` (models + core scoring), pictures from ``space.timeline`` /
``space.render``, the leaderboard from ``space.leaderboard`` (``eval``). At start-up both models are
provisioned and loaded in the background, with each step on the console; a lane used before that
is done shows the step it is waiting for.
"""

from __future__ import annotations

import logging
import sys

import gradio as gr

from models.backend import SamplingSettings
from models.errors import ModelLoadError
from scheduler import SchedulerError, user_message
from space import about, inputs, picker
from space import leaderboard as board
from space.config import AppConfig, parse_config
from space.lanes import ModelPool, Runs, run_lane, run_pair, share_cpu, solver_view
from space.quick_text import parse_quick_text
from space.render import CSS, lane_state_html, messages_html, note_html

log = logging.getLogger("app")
LANE_PROGRESS = "minimal"


def _problem_outputs(problem, message: str):
    """Table + status note for a freshly loaded problem."""
    return inputs.problem_to_table(problem), note_html(message, "info")


def _failed(err: Exception):
    return gr.skip(), note_html(str(err), "error")


def load_problem(split, index):
    try:
        problem = picker.problem(split, index)
    except SchedulerError as err:
        return _failed(err)
    what = "canonical test problem" if split == "test" else f"{split} problem"
    return _problem_outputs(problem, f"Loaded {what} #{int(index)}.")


def load_random(seed, preset):
    try:
        problem = inputs.random_problem(seed, preset)
    except SchedulerError as err:
        return _failed(err)
    return _problem_outputs(problem, f"Generated a new {preset} problem (seed {int(seed or 0)}); it is not in the test split.")


def load_text(text):
    """The dataset's format (an ``Events:`` header) or quick text: one event per line or comma-separated."""
    try:
        if isinstance(text, str) and any(line.strip().lower() == "events:" for line in text.splitlines()):
            return _problem_outputs(inputs.text_to_problem(text), "Loaded the pasted problem.")
        quick = parse_quick_text(text)
        if not quick.rows:
            return gr.skip(), messages_html(["No event could be read:", *quick.problems], "error")
        problem = inputs.rows_to_problem(quick.rows, sort=True)
    except SchedulerError as err:
        return _failed(err)
    read = f"Read {len(problem.events)} events into the table: check them, then press “Run both models”."
    if quick.problems:
        return inputs.problem_to_table(problem), messages_html(
            [read, "Not read (fix the text, or add these rows to the table by hand):", *quick.problems], "warn")
    return _problem_outputs(problem, read)


def load_file(path):
    if not path:
        return gr.skip(), gr.skip()
    try:
        imported = inputs.file_to_problem(path)
    except SchedulerError as err:
        return _failed(err)
    return inputs.problem_to_table(imported.problem), note_html(" ".join(imported.notes) or "Imported the file.", "info")


def show_problem(table, status):
    """The solver lane and the prompt preview follow the table as it is edited; a fixed table clears its error."""
    try:
        problem = inputs.table_to_problem(table)
    except SchedulerError as err:
        return None, note_html(f"Fix the events table: {err}", "error"), "", note_html(str(err), "error")
    _, figure, html = solver_view(problem)
    fixed = gr.skip()
    if isinstance(status, str) and 'class="note error"' in status:
        fixed = note_html(f"The events table is valid: {len(problem.events)} events, "
                          f"{len(problem.priorities)} priority.", "info")
    return figure, html, user_message(problem), fixed


def idle_card(side) -> str:
    if side.spec is None:
        return lane_state_html("missing", side.missing or "No model is configured for this lane.", "warn")
    return lane_state_html("idle", "Press “Run both models” to answer the problem in the table.")


def build_demo(config: AppConfig, pool: ModelPool | None = None) -> gr.Blocks:
    pool = pool or ModelPool(backend=config.backend, device=config.device, dtype=config.dtype)
    runs = Runs()
    first = picker.problem("test", 0)
    first_table = inputs.problem_to_table(first)
    _, first_figure, first_html = solver_view(first)
    splits = picker.available_splits()
    table = board.load_table(config.results_dir)
    sides = (config.base, config.tuned)

    def read_run(events_table, max_new_tokens, temperature, top_p, seed):
        problem = inputs.table_to_problem(events_table)
        settings = SamplingSettings(temperature=float(temperature), top_p=float(top_p),
                                    max_new_tokens=int(max_new_tokens), seed=int(seed or 0))
        return problem, settings

    def lane_handler(side):
        """One lane on its own (the API's /run_base and /run_tuned; the page runs both at once)."""
        def run(events_table, max_new_tokens, temperature, top_p, seed):
            try:
                problem, settings = read_run(events_table, max_new_tokens, temperature, top_p, seed)
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

    def run_both(events_table, base_tokens, tuned_tokens, temperature, top_p, seed, request: gr.Request):
        """Both lanes at once, in one request: the page's button. Outputs: text, plot, card per lane."""
        try:
            problem, base_settings = read_run(events_table, base_tokens, temperature, top_p, seed)
            _, tuned_settings = read_run(events_table, tuned_tokens, temperature, top_p, seed)
        except SchedulerError as err:
            card = note_html(f"Nothing was run: {err}", "error")
            yield ("", None, card) * 2
            return
        key = getattr(request, "session_hash", None) or "no-session"
        present = [side for side in sides if side.spec is not None]
        run = runs.start(key, [side.role for side in present])
        stop, running = run
        latest = {side.role: ["", None, idle_card(side)] for side in sides}  # what each lane shows now
        try:
            settings = {"base": base_settings, "tuned": tuned_settings}
            for merged in run_pair(present, problem, settings, pool, stop=stop, running=running):
                out = []
                for side in sides:
                    update = merged.get(side.role)
                    if update is None:
                        out += [gr.skip()] * 3
                        continue
                    shown = latest[side.role]
                    shown[0] = update.text
                    shown[1] = shown[1] if update.figure is None else update.figure
                    shown[2] = shown[2] if update.html is None else update.html
                    out += [update.text, gr.skip() if update.figure is None else update.figure,
                            gr.skip() if update.html is None else update.html]
                yield tuple(out)
            # The last update carries both lanes in full (an API client reads only the final value).
            yield tuple(v for side in sides for v in latest[side.role])
        finally:
            runs.finish(key, run)

    def stop_both(request: gr.Request):
        """Stop the session's lanes; each one still running then says "stopped"."""
        key = getattr(request, "session_hash", None) or "no-session"
        stopped = runs.stop(key)
        return tuple(
            lane_state_html("stopped", f"{side.label} was stopped; its partial answer, if any, is below.", "warn")
            if side.role in stopped else gr.skip()
            for side in sides
        )

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
                                split_pick = gr.Radio(
                                    [(label.split(" (")[0], split) for label, split in splits], value="test",
                                    label="Problem set", elem_id="split-pick",
                                    info="; ".join(label for label, _ in splits),
                                )
                                test_pick = gr.Dropdown(
                                    choices=picker.choices("test"), value=0, label="Problem", elem_id="test-pick",
                                )
                                with gr.Row():
                                    seed_box = gr.Number(value=1, precision=0, label="Seed", minimum=0, scale=1)
                                    preset_pick = gr.Radio(["canonical", "hard"], value="canonical", label="Generator", scale=2)
                                    random_btn = gr.Button("Generate a new problem", scale=2)
                            with gr.Tab("Type or paste"):
                                paste_box = gr.Textbox(
                                    lines=6, label="Your day: one event per line, or separated by commas",
                                    elem_id="paste-box", info=about.QUICK_TEXT_HELP,
                                    placeholder="standup 9-9:15, deep work 9:10 to 11\nlunch w/ Sam 12pm-1pm\n"
                                                "gym 12:30-1:30pm (priority)",
                                )
                                paste_btn = gr.Button("Read into the table", elem_id="paste-button")
                                paste_examples = gr.Examples(
                                    examples=[[about.QUICK_TEXT_EXAMPLE]] + [[picker.problem("test", i).to_prompt()] for i in (1, 2, 3)],
                                    inputs=paste_box, outputs=load_outputs, fn=load_text, run_on_click=True,
                                    cache_examples=False, label="Examples (click to load)", api_name="load_example",
                                    example_labels=["a typed day"] + [f"test #{i}" for i in (1, 2, 3)],
                                )
                            with gr.Tab("Import file"):
                                upload = gr.File(label="A .csv or .ics file", file_types=[".csv", ".ics"], type="filepath")
                                gr.Markdown(about.CSV_HELP)
                        events.render()
                        status.render()
                    with gr.Column(scale=2):
                        with gr.Accordion("Generation settings", open=True):
                            # room above the default cap (4,096: the shipped think on a long day); a longer cap set
                            # by the config is the slider's top instead of being clipped
                            top = max(8192, config.max_new_tokens)
                            tuned_tokens = gr.Slider(16, top, value=config.max_new_tokens, step=16,
                                                     label="Max new tokens, fine-tuned model", elem_id="tuned-tokens")
                            base_tokens = gr.Slider(
                                16, top, value=config.base_max_new_tokens, step=16, label="Max new tokens, base model",
                                elem_id="base-tokens",
                                info=f"Capped at {config.base_max_new_tokens} by default: a base model that does not "
                                     "write the answer format (SmolLM2-135M-Instruct: 0/100 valid on the test split) "
                                     "rambles to the full length. Raise it to read more.",
                            )
                            temperature = gr.Slider(0.0, 1.5, value=0.0, step=0.05, label="Temperature (0 = greedy)")
                            top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="Top-p")
                            seed = gr.Number(value=0, precision=0, label="Sampling seed")
                        run_btn = gr.Button("Run both models", variant="primary", size="lg", elem_id="run-button")
                        stop_btn = gr.Button("Stop", variant="stop", size="sm", elem_id="stop-button")
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
                    for side in sides:
                        with gr.Column():
                            gr.Markdown(f"### {'Base' if side.role == 'base' else 'Fine-tuned'}: `{side.label}`")
                            plot = gr.Plot(show_label=False, elem_id=f"{side.role}-plot", visible=side.spec is not None)
                            card = gr.HTML(idle_card(side), elem_id=f"{side.role}-card")
                            text = gr.Textbox(label="Raw answer (streaming)", lines=6, max_lines=14, autoscroll=True,
                                              elem_id=f"{side.role}-text", buttons=["copy"])
                            lanes[side.role] = (side, text, plot, card)
                # The API's one-lane endpoints hang on a trigger the page does not show.
                api_trigger = gr.Button(visible=False)

            with gr.Tab("Leaderboard", id="leaderboard"):
                gr.Markdown(
                    "Every finished run in `results/` and the published reference rows (source *published*: "
                    "sampled at temperature 1.0, not measured here). Mean score is ×100 with its standard error; "
                    "one chart per split (scores of different splits are not comparable)."
                )
                with gr.Row():
                    split_board = gr.Dropdown(board.split_choices(table), value=board.ALL_SPLITS, label="Split", scale=1)
                    refresh_btn = gr.Button("Reload results/", scale=0)
                columns_pick = gr.CheckboxGroup(board.EXTRA_COLUMNS, value=[], label="More columns",
                                                elem_id="leaderboard-columns")
                shown_table = board.for_display(table, [])
                board_table = gr.Dataframe(
                    shown_table, datatype=board.datatypes(shown_table), interactive=False, show_search="filter",
                    pinned_columns=1, buttons=["copy", "fullscreen"], elem_id="leaderboard-table", wrap=True,
                    column_widths=board.column_widths(shown_table),
                )
                board_plot = gr.Plot(board.score_chart(table), label="Mean score", elem_id="leaderboard-plot")

            with gr.Tab("About", id="about"):
                gr.Markdown(about.ABOUT)

        # Inputs -> table -> solver lane and prompt.
        split_pick.change(lambda split: gr.Dropdown(choices=picker.choices(split), value=None), split_pick, test_pick,
                          api_visibility="private", show_progress="hidden")
        test_pick.input(load_problem, [split_pick, test_pick], load_outputs, api_name="load_problem")
        loaders = [
            random_btn.click(load_random, [seed_box, preset_pick], load_outputs, api_name="generate_problem"),
            paste_btn.click(load_text, paste_box, load_outputs, api_name="load_text"),
            upload.upload(load_file, upload, load_outputs, api_name="import_file"),
            paste_examples.load_input_event,
        ]
        for loaded in loaders:  # the table no longer shows the picked test problem
            loaded.then(lambda: None, None, test_pick, api_visibility="private", show_progress="hidden")
        events.change(show_problem, [events, status], [solver_plot, solver_card, prompt_box, status], api_name="solve",
                      concurrency_limit=None)
        # A new problem in the table: the lanes' old answers belonged to the previous one.
        lane_outputs = [c for role in lanes for c in lanes[role][1:]]
        events.change(lambda: tuple(v for side in sides for v in ("", None, idle_card(side))), None, lane_outputs,
                      api_visibility="private", show_progress="hidden", concurrency_limit=None)

        # One button, one request, both lanes streaming at once; each model answers one request at a time
        # (ModelPool.generation_lock), and a lane waiting for its model says so.
        run_event = run_btn.click(
            run_both, [events, base_tokens, tuned_tokens, temperature, top_p, seed], lane_outputs, api_name="run_both",
            # No progress overlay: the cards say what each lane is doing, and on a 2-core machine the overlay's
            # timers redrawing six outputs every frame slowed the models measurably.
            concurrency_limit=config.queue_size, concurrency_id="compare", show_progress="hidden",
        )
        stop_btn.click(stop_both, None, [lanes[role][3] for role in lanes], cancels=[run_event], api_visibility="private",
                       concurrency_limit=None, show_progress="hidden")
        for role, (side, text, plot, card) in lanes.items():
            tokens = base_tokens if role == "base" else tuned_tokens
            api_trigger.click(
                lane_handler(side), [events, tokens, temperature, top_p, seed], [text, plot, card], api_name=f"run_{role}",
                concurrency_limit=1, concurrency_id=side.concurrency_id, show_progress=LANE_PROGRESS,
            )

        def reload_board(split, extra):
            fresh = board.load_table(config.results_dir)
            shown = board.filter_split(fresh, split)
            display = board.for_display(shown, extra)
            return (gr.Dataframe(display, datatype=board.datatypes(display), column_widths=board.column_widths(display)),
                    board.score_chart(shown), gr.Dropdown(choices=board.split_choices(fresh)))

        board_inputs = [split_board, columns_pick]
        board_outputs = [board_table, board_plot, split_board]
        split_board.change(reload_board, board_inputs, board_outputs, api_name="leaderboard")
        columns_pick.change(reload_board, board_inputs, board_outputs, api_visibility="private")
        refresh_btn.click(reload_board, board_inputs, board_outputs, api_visibility="private")
    demo.pool = pool  # for main(): load the models at start-up
    return demo


def warm_up(config: AppConfig, pool: ModelPool) -> None:
    """Provision and load both models in the background now, not on the first user's click."""
    for side in (config.base, config.tuned):
        if side.spec is not None:
            log.info("start-up: loading %s in the background", side.label)
            pool.start_loading(side.spec)


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
    warm_up(config, demo.pool)
    demo.queue(max_size=config.queue_size)
    demo.launch(
        server_name=config.host, server_port=config.port, theme=gr.themes.Soft(primary_hue="blue"), css=CSS,
        footer_links=["api", "gradio"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
