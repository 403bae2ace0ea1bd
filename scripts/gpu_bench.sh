#!/usr/bin/env bash
# The generation engine's GPU figures (issue 15), run by gpu_session.sh's plan (BENCH=1) once the model work is done,
# alone on the GPU; each figure goes to $WORK/results/bench/ as JSON and comes back with the plan's bundle.
#   1  decoding the test split with the model the "<= 2.5 s" figure was set with (the adapter shipped until
#      2026-12-02, checkpoints/smollm2-135m-scheduler-grpo at commit 1c60241^, staged as OLD_ADAPTER): the decode
#      loop's first and second call (benchmarks/batch_generation.py, default step: the CUDA graph)
#   2  a GRPO step (benchmarks/grpo_step.py, loop rollouts, 6 steps of 128 completions) with this tree and with the
#      tree from before the one-engine change (commit 3399b1d^, staged as BEFORE): the same settings, one machine
# A missing staged input skips its item. Environment: WORK [/root/work], BEFORE [/root/stage/before],
#   OLD_ADAPTER [/root/stage/old-adapter], STEPS [6]
set -uo pipefail
WORK=${WORK:-/root/work}
BEFORE=${BEFORE:-/root/stage/before}
OLD_ADAPTER=${OLD_ADAPTER:-/root/stage/old-adapter}
STEPS=${STEPS:-6}
BENCH=$WORK/results/bench
mkdir -p "$BENCH"

if [ -f "$OLD_ADAPTER/adapter_model.safetensors" ]; then
  echo "[bench] batch_generation, the adapter of 2026-12-02"
  python3 benchmarks/batch_generation.py --adapter "$OLD_ADAPTER" --methods loop \
    --json "$BENCH/batch_generation_h200_adapter_2026-12-02.json" || echo "[bench] batch_generation failed"
else
  echo "[bench] no $OLD_ADAPTER: batch_generation skipped"
fi

echo "[bench] grpo_step, this tree"
python3 benchmarks/grpo_step.py --methods loop --steps "$STEPS" --out "$WORK/grpo_step_after" \
  --json "$BENCH/grpo_step_h200_after.json" || echo "[bench] grpo_step (this tree) failed"

if [ -f "$BEFORE/training/grpo.py" ]; then
  echo "[bench] grpo_step, the tree before the one-engine change"
  # the other tree's own modules first: a subprocess's PYTHONPATH must not reach this tree's
  (cd "$BEFORE" && PYTHONPATH="/tmp/site:$BEFORE" python3 benchmarks/grpo_step.py --methods loop --steps "$STEPS" \
    --out "$WORK/grpo_step_before" --json "$BENCH/grpo_step_h200_before.json") || echo "[bench] grpo_step (before) failed"
else
  echo "[bench] no $BEFORE: the before run skipped"
fi
