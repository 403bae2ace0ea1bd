"""Several users at once through gradio_client against a running Space: every answer belongs to its
own problem, each model generates for one request at a time, and the latency users see.

    python benchmarks/app_concurrency.py                                   # 8 clients, the embedded pair, 48 tokens
    python benchmarks/app_concurrency.py --clients 8 --max-new-tokens 48 --tuned-adapter DIR --json out.json
    python benchmarks/app_concurrency.py --url http://127.0.0.1:7860/ --preset qwen-7b   # an app already running

It starts ``python app.py`` on a free port (other flags are app.py's: ``--preset``, ``--base-model``,
``--tuned-adapter``, ``--device`` ...; the same flags tell it which lanes exist when ``--url`` is given),
warms each model up with one request (first use loads it), then releases all clients at once. Each
client, with its own canonical test problem (distinct optimal scores, so a mix-up shows), asks for
the solver lane, then runs both model lanes as the page's button does. Checks: the solver lane and
the prompt are its own problem's; each model card judges against its own problem's optimum and its
timeline shows its own events; each model's generations never overlap (the app gives every model a
queue with ``concurrency_limit=1``), measured twice: the summed generation times a model's cards
report fit in the burst's wall time, and the processing windows seen by the clients do not overlap.
Exit status 1 if any check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scheduler import Problem, load_problems, parse_problem, solve  # noqa: E402

OPTIMUM_RE = re.compile(r"(?:weighted duration \d+ / |the optimum is )(\d+)\)")
GENERATED_RE = re.compile(r"generated in ([0-9.]+) s")
OVERLAP_SLACK_S = 0.25  # client-side clocks see a queue hand-over a little late
PROCESSING = {"PROCESSING", "ITERATING", "PROGRESS", "FINISHED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def start_app(app_args: list[str], env: dict | None = None, timeout_s: float = 300) -> Iterator[str]:
    """``python app.py`` with ``app_args`` on a free port; yields its URL, stops it on exit (shows its log if it fails).

    Also the app tests' server (tests/app/conftest.py).
    """
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    command = [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port), *app_args]
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"app.py did not start:\n{log.read()[-3000:]}")
                time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def pick_problems(n: int, skip: int = 0) -> list[tuple[int, Problem]]:
    """Canonical test problems with pairwise distinct optimal scores and event sets (mix-ups show)."""
    picked: list[tuple[int, Problem]] = []
    scores: set[int] = set()
    names: list[frozenset] = []
    for index, problem in enumerate(load_problems("test")):
        if index < skip:
            continue
        score, events = solve(problem).score, frozenset(ev.name for ev in problem.events)
        if score in scores or events in names:
            continue
        picked.append((index, problem))
        scores.add(score)
        names.append(events)
        if len(picked) == n:
            return picked
    raise ValueError(f"the test split has fewer than {n} problems with distinct optima after #{skip}")


def table_payload(problem: Problem) -> dict:
    rows = [[ev.name, ev.start_hhmm, ev.end_hhmm, ev.name in problem.priorities] for ev in problem.events]
    return {"headers": ["name", "start", "end", "priority"], "data": rows, "metadata": None}


def plot_rows(plot) -> set[str]:
    if not plot:
        return set()
    figure = json.loads(plot["plot"]) if isinstance(plot, dict) else plot
    return {y for trace in figure.get("data", []) for y in (trace.get("y") or [])}


def check_solver(problem: Problem, outputs) -> list[str]:
    plot, card, prompt, _ = outputs
    found = []
    prompt = str(prompt)
    sent = parse_problem(prompt[prompt.rfind("Events:"):])  # the page sends the events sorted by start
    if set(sent.events) != set(problem.events) or sent.priorities != problem.priorities:
        found.append("the prompt is another problem's")
    if plot_rows(plot) != {ev.name for ev in problem.events}:
        found.append("the solver timeline shows other events")
    optimum = solve(problem).score
    if f"weighted duration {optimum} / {optimum}" not in card:
        found.append("the solver card is not this problem's optimum")
    return found


def check_lane(lane: str, problem: Problem, outputs) -> list[str]:
    _, plot, card = outputs
    if "generated in" not in card:
        return [f"{lane}: no final card ({re.sub(r'<[^>]+>', ' ', card)[:200].strip()})"]
    found = []
    optima = {int(x) for x in OPTIMUM_RE.findall(card)}
    if optima != {solve(problem).score}:
        found.append(f"{lane}: the card judges against optimum {sorted(optima)}, not {solve(problem).score}")
    if not {ev.name for ev in problem.events} <= plot_rows(plot):
        found.append(f"{lane}: the timeline lacks this problem's events")
    return found


def run_job(client, lane: str, problem: Problem, max_new_tokens: int, timeout_s: float) -> dict:
    """Submit one lane and follow it: when it started processing (first seen), when it ended, its checks."""
    submitted = time.perf_counter()
    job = client.submit(table_payload(problem), max_new_tokens, 0.0, 1.0, 0, api_name=f"/run_{lane}")
    started = None
    while not job.done():
        if started is None and (job.outputs() or job.status().code.name in PROCESSING):
            started = time.perf_counter()
        if time.perf_counter() - submitted > timeout_s:
            job.cancel()
            return {"lane": lane, "problems": [f"{lane}: no answer within {timeout_s:.0f} s"]}
        time.sleep(0.02)
    ended = time.perf_counter()
    outputs = job.result()
    generated = GENERATED_RE.search(outputs[2])
    return {
        "lane": lane, "submitted": submitted, "started": started or ended, "ended": ended,
        "latency_s": ended - submitted, "generation_s": float(generated.group(1)) if generated else None,
        "problems": check_lane(lane, problem, outputs),
    }


def one_client(url: str, index: int, problem: Problem, lanes: list[str], max_new_tokens: int,
               barrier: threading.Barrier | None, timeout_s: float) -> dict:
    """One user: the solver lane, then every model lane at once (the page's button)."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    if barrier is not None:
        barrier.wait()
    started = time.perf_counter()
    found = check_solver(problem, client.predict(table_payload(problem), api_name="/solve"))
    solve_s = time.perf_counter() - started
    jobs: dict[str, dict] = {}
    threads = [threading.Thread(target=lambda lane=lane: jobs.__setitem__(
        lane, run_job(client, lane, problem, max_new_tokens, timeout_s))) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for job in jobs.values():
        found += job["problems"]
    return {"problem": index, "solve_s": solve_s, "total_s": time.perf_counter() - started, "jobs": jobs, "problems": found}


def percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    values = sorted(values)
    p90 = values[max(0, math.ceil(0.9 * len(values)) - 1)]  # nearest rank
    return {"p50": round(statistics.median(values), 2), "p90": round(p90, 2), "max": round(values[-1], 2), "n": len(values)}


def concurrency_report(clients: list[dict], groups: dict[str, list[str]], wall_s: float) -> dict:
    """Per model (a Gradio concurrency group): most generations seen at once, summed generation time vs wall."""
    out = {}
    for group, lanes in groups.items():
        jobs = [c["jobs"][lane] for c in clients for lane in lanes if "started" in c["jobs"].get(lane, {})]
        windows = sorted((j["started"], j["ended"]) for j in jobs)
        # At each window's start: itself plus the earlier windows still open (beyond the slack).
        most = max((1 + sum(e - OVERLAP_SLACK_S > start for _, e in windows[:i]) for i, (start, _) in enumerate(windows)),
                   default=0)
        generation = sum(j["generation_s"] or 0.0 for j in jobs)
        out[group] = {"lanes": lanes, "requests": len(jobs), "most_at_once_seen": most,
                      "summed_generation_s": round(generation, 2), "burst_wall_s": round(wall_s, 2),
                      "ok": most <= 1 and generation <= wall_s + OVERLAP_SLACK_S * len(jobs)}
    return out


def run_clients(url: str, problems: list[tuple[int, Problem]], lanes: list[str], groups: dict[str, list[str]],
                max_new_tokens: int, timeout_s: float = 600) -> dict:
    """All clients at once (released by a barrier once connected); the full report."""
    barrier = threading.Barrier(len(problems) + 1)
    results: list[dict] = [{} for _ in problems]

    def client(k: int, index: int, problem: Problem) -> None:
        try:
            results[k] = one_client(url, index, problem, lanes, max_new_tokens, barrier, timeout_s)
        except Exception as err:  # a refused or failed request is a finding, not a crash of the benchmark
            barrier.abort()
            results[k] = {"problem": index, "jobs": {}, "problems": [f"client failed: {type(err).__name__}: {err}"]}

    threads = [threading.Thread(target=client, args=(k, index, problem)) for k, (index, problem) in enumerate(problems)]
    for thread in threads:
        thread.start()
    try:
        barrier.wait(timeout=120)
    except threading.BrokenBarrierError:
        pass
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    jobs = [j for c in results for j in c["jobs"].values() if "latency_s" in j]
    return {
        "clients": len(problems), "lanes": lanes, "max_new_tokens": max_new_tokens, "wall_s": round(wall, 2),
        "latency_s": {
            "solver lane": percentiles([c["solve_s"] for c in results if "solve_s" in c]),
            **{lane: percentiles([j["latency_s"] for j in jobs if j["lane"] == lane]) for lane in lanes},
            "all lanes answered": percentiles([c["total_s"] for c in results if "total_s" in c]),
        },
        "concurrency": concurrency_report(results, groups, wall),
        "problems": {f"test #{c['problem']}": c["problems"] for c in results if c["problems"]},
        "answered": sum(len(c["jobs"]) == len(lanes) and not c["problems"] for c in results),
    }


def lane_groups(sides) -> dict[str, list[str]]:
    """Lanes by the model queue they share (``Side.concurrency_id``), named by the model's label."""
    by_queue: dict[str, list] = {}
    for side in sides:
        by_queue.setdefault(side.concurrency_id, []).append(side)
    return {members[0].label: [side.role for side in members] for members in by_queue.values()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=False)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--url", help="an app already running (default: start app.py here)")
    parser.add_argument("--queue-size", type=int, help="app.py's queue size (default: 4 per client, at least 16)")
    parser.add_argument("--first-problem", type=int, default=0, help="take the problems from this test row on")
    parser.add_argument("--timeout", type=float, default=900, help="seconds one request may take")
    parser.add_argument("--json", help="also write the report here")
    own, app_args = parser.parse_known_args(argv)

    from space.config import parse_config

    config = parse_config(app_args)
    sides = [side for side in (config.base, config.tuned) if side.spec is not None]
    lanes = [side.role for side in sides]
    groups = lane_groups(sides)
    problems = pick_problems(own.clients + 1, skip=own.first_problem)
    warmup, problems = problems[0], problems[1:]
    queue_size = own.queue_size or max(16, 4 * own.clients)
    launch = ["--max-new-tokens", str(own.max_new_tokens), "--queue-size", str(queue_size), *app_args]
    with contextlib.ExitStack() as stack:
        url = own.url or stack.enter_context(start_app(launch))
        started = time.perf_counter()  # first use loads each model: not part of the figures below
        warm = one_client(url, warmup[0], warmup[1], lanes, own.max_new_tokens, None, own.timeout)
        load_s = time.perf_counter() - started
        report = run_clients(url, problems, lanes, groups, own.max_new_tokens, own.timeout)
    report.update(warmup_s=round(load_s, 2), warmup_problems=warm["problems"], cpu_count=os.cpu_count(),
                  load_average_1m=os.getloadavg()[0], app_args=app_args, queue_size=None if own.url else queue_size)

    print(f"{report['clients']} clients at once, lanes {', '.join(lanes)}, greedy, max {own.max_new_tokens} new tokens; "
          f"warm-up (model loading) {load_s:.1f} s; {os.cpu_count()} CPUs, load average {report['load_average_1m']:.2f}")
    print(f"burst wall time {report['wall_s']:.1f} s; {report['answered']}/{report['clients']} clients answered correctly")
    for what, p in report["latency_s"].items():
        if p:
            print(f"  {what:20} p50 {p['p50']:6.2f} s   p90 {p['p90']:6.2f} s   max {p['max']:6.2f} s   (n={p['n']})")
    for group, row in report["concurrency"].items():
        print(f"  model {group}: {row['requests']} requests, at most {row['most_at_once_seen']} generating at once, "
              f"summed generation {row['summed_generation_s']:.1f} s in {row['burst_wall_s']:.1f} s wall: "
              f"{'ok' if row['ok'] else 'LIMIT NOT RESPECTED'}")
    for problem, found in {**report["problems"], **({"warm-up": warm["problems"]} if warm["problems"] else {})}.items():
        print(f"  {problem}: {'; '.join(found)}")
    if own.json:
        Path(own.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    ok = not report["problems"] and not warm["problems"] and all(r["ok"] for r in report["concurrency"].values())
    return 0 if ok and report["answered"] == report["clients"] else 1


if __name__ == "__main__":
    sys.exit(main())
