"""What a user waits for in the Space, measured in a real browser: click "Run both models" -> both lanes done.

    python benchmarks/app_latency.py                          # the embedded smollm2-135m pair, test #0 and #1
    python benchmarks/app_latency.py --problems 0 1 5 --repeat 2 --json benchmarks/results/app_latency_cpu.json
    python benchmarks/app_latency.py --url http://127.0.0.1:7860/   # a Space already running
    python benchmarks/app_latency.py --tuned-adapter DIR      # other flags are app.py's (--preset, --max-new-tokens ...)
    python benchmarks/app_latency.py --split hard --problems 0 1  # a long day, pasted as a user would (also: names)

It starts ``python app.py`` on a free port (unless ``--url``), opens the page in headless Chromium
(Debian's, through Playwright, as tests/app/test_browser.py does), and clicks the run button once to
warm up: first use provisions and loads the models (timed as ``first_use_s``). Then, for each
canonical test problem, it picks the problem in the page, clicks the button, and a script inside the
page samples every 20 ms, on the page's own clock: when each lane's raw answer first shows text,
when each lane's card shows its final verdict, and how long both lanes were generating at the same
time (``overlap_s``: 0 means the lanes ran one after the other). Nothing is timed server-side. The
load average is recorded because other processes on the machine slow every figure down.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from app_concurrency import start_app  # noqa: E402

from scheduler.data import load_problems  # noqa: E402
from space.browser import LANES, open_page, paste  # noqa: E402

TARGETS = {"both_done_s": 10.0, "tuned_done_s": 8.0, "first_text_s": 1.0}

# Samples the page every 20 ms from the click on; a lane is done when its card leaves the running state
# (the final card says "generated in", or the lane failed, stopped or has no model).
WATCH_JS = """(lanes) => {
  const t0 = performance.now();
  const rec = {};
  for (const lane of lanes) rec[lane] = {first_text: null, done: null, card: ''};
  const finished = (text) => /generated in|could not|failed|stopped|not in this checkout|not available/i.test(text);
  window.__lat = {rec, t0, busy: 0, last: t0};
  const tick = () => {
    const now = performance.now();
    let running = 0;
    for (const lane of lanes) {
      const r = rec[lane];
      const area = document.querySelector(`#${lane}-text textarea`);
      const card = document.querySelector(`#${lane}-card`);
      const text = area ? area.value : '';
      const cardText = card ? card.innerText : '';
      if (r.first_text === null && text.trim()) r.first_text = now - t0;
      if (r.first_text !== null && r.done === null) running += 1;
      if (r.done === null && r.first_text !== null && finished(cardText)) { r.done = now - t0; r.card = cardText.slice(0, 300); }
    }
    if (running === 2) window.__lat.busy += now - window.__lat.last;
    window.__lat.last = now;
    if (lanes.some(l => rec[l].done === null)) setTimeout(tick, 20);
  };
  setTimeout(tick, 0);
}"""
CLEAR_JS = """(lanes) => { for (const lane of lanes) {
  const area = document.querySelector(`#${lane}-text textarea`); if (area) area.value = ''; } }"""


def pick_problem(page, index: int) -> None:
    """Choose canonical test problem ``index`` in the page's dropdown and wait for the table to follow."""
    page.get_by_role("tab", name="Compare").click()
    page.get_by_role("tab", name="Test problems").click()
    box = page.locator("#test-pick input")
    box.click()
    box.fill(f"test #{index}:")
    page.locator("ul.option-list li", has_text=f"test #{index}:").first.click()
    page.wait_for_function(
        f"document.querySelector('#input-status')?.innerText.includes('#{index}')", timeout=30_000
    )
    page.wait_for_timeout(300)  # the solver lane and prompt preview follow the table


def click_and_time(page, timeout_ms: int = 300_000) -> dict:
    """Click the run button; seconds from the click to each lane's first text and final card."""
    page.evaluate(CLEAR_JS, list(LANES))
    page.evaluate(WATCH_JS, list(LANES))
    page.click("#run-button")
    page.wait_for_function(
        "() => Object.values(window.__lat.rec).every(r => r.done !== null)", timeout=timeout_ms, polling=100
    )
    raw = page.evaluate("window.__lat")
    lanes = {}
    for lane in LANES:
        r = raw["rec"][lane]
        lanes[lane] = {
            "first_text_s": round(r["first_text"] / 1000, 2),
            "done_s": round(r["done"] / 1000, 2),
            "chars": len(page.input_value(f"#{lane}-text textarea")),
            "card": " ".join(r["card"].split())[:160],
        }
    return {
        "lanes": lanes,
        "both_done_s": max(v["done_s"] for v in lanes.values()),
        "first_text_s": min(v["first_text_s"] for v in lanes.values()),
        "overlap_s": round(raw["busy"] / 1000, 2),
    }


def summarise(runs: list[dict]) -> dict:
    median = lambda key: round(statistics.median(key(r) for r in runs), 2)  # noqa: E731
    out = {"both_done_s": median(lambda r: r["both_done_s"]), "first_text_s": median(lambda r: r["first_text_s"]),
           "overlap_s": median(lambda r: r["overlap_s"])}
    for lane in LANES:
        out[f"{lane}_done_s"] = median(lambda r, lane=lane: r["lanes"][lane]["done_s"])
        out[f"{lane}_first_text_s"] = median(lambda r, lane=lane: r["lanes"][lane]["first_text_s"])
    out["meets_targets"] = (out["both_done_s"] <= TARGETS["both_done_s"] and out["tuned_done_s"] <= TARGETS["tuned_done_s"]
                            and max(out["base_first_text_s"], out["tuned_first_text_s"]) < TARGETS["first_text_s"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=False)
    parser.add_argument("--problems", type=int, nargs="+", default=[0, 1], help="rows of the split")
    parser.add_argument("--split", default="test", help="test (picked in the page's list) or another committed split "
                        "such as hard or names (each row pasted into the paste box)")
    parser.add_argument("--repeat", type=int, default=1, help="clicks per problem (the median is reported)")
    parser.add_argument("--url", help="a Space already running (default: start app.py here)")
    parser.add_argument("--label", default="", help="a note stored with the figures (e.g. 'before')")
    parser.add_argument("--json", help="also write the report here (e.g. benchmarks/results/app_latency_cpu.json)")
    own, app_args = parser.parse_known_args(argv)
    report: dict = {"label": own.label, "app_args": app_args, "cpu_count": os.cpu_count(),
                    "load_average_1m": os.getloadavg()[0], "targets": TARGETS, "problems": {}}
    with contextlib.ExitStack() as stack:
        url = own.url or stack.enter_context(start_app(app_args, env={"HF_HUB_OFFLINE": "1"}))
        page = stack.enter_context(open_page(url))
        started = time.perf_counter()
        warm = click_and_time(page, timeout_ms=600_000)  # first use: provisioning and loading
        report["first_use"] = {**warm, "wall_s": round(time.perf_counter() - started, 2)}
        problems = load_problems(own.split) if own.split != "test" else None
        for index in own.problems:
            if problems is None:
                pick_problem(page, index)
            else:
                paste(page, problems[index].to_prompt())
                page.wait_for_timeout(300)  # the solver lane and prompt preview follow the table
            runs = [click_and_time(page) for _ in range(own.repeat)]
            report["problems"][f"{own.split} #{index}"] = {"runs": runs, "median": summarise(runs)}
    report["load_average_1m_end"] = os.getloadavg()[0]

    print(f"{own.label + ': ' if own.label else ''}{os.cpu_count()} CPUs, load average {report['load_average_1m']:.2f}; "
          f"first click (loads the models): both done in {report['first_use']['both_done_s']:.1f} s")
    for name, row in report["problems"].items():
        m = row["median"]
        print(f"{name}: both done {m['both_done_s']:.1f} s (base {m['base_done_s']:.1f} s, tuned {m['tuned_done_s']:.1f} s), "
              f"first text base {m['base_first_text_s']:.2f} s / tuned {m['tuned_first_text_s']:.2f} s, "
              f"both generating at once for {m['overlap_s']:.1f} s; targets {'met' if m['meets_targets'] else 'NOT met'}")
        for lane, v in row["runs"][-1]["lanes"].items():
            print(f"    {lane:5} {v['chars']:5} chars  {v['card'][:110]}")
    if own.json:
        Path(own.json).parent.mkdir(parents=True, exist_ok=True)
        Path(own.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
