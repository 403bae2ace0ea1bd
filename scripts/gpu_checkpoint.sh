#!/usr/bin/env bash
# The shipped checkpoint's GPU figures from its checkpoints/ path, and the decode step with fused norms (issue 15),
# in one device call after staging. Run from the repo root on the GPU machine:
#
#   bash scripts/gpu_checkpoint.sh            # results as $OUT/checkpoint-results.tgz, logs in $OUT
#
# Staged in /root/stage (by the calls before it, as one tar in parts: docs/training.md "Session 16"):
#   SmolLM2-135M-Instruct.Q4_1.gguf, shipped/adapter_model.safetensors (the weights of
#   checkpoints/smollm2-135m-scheduler, which travel apart from the tree), old-adapter/ (the adapter issue 15's
#   "<= 2.5 s" figure was set with: checkpoints/smollm2-135m-scheduler-grpo at commit 1c60241^).
# What it runs, one process each:
#   1  eval.run of checkpoints/smollm2-135m-scheduler on test, hard and names (greedy, batch 100, 2,048 new tokens)
#      with the default step (graph), then the same with SCHEDULER_DECODE_STEP=graph-fused
#   2  benchmarks/batch_generation.py on the old adapter (the decode loop's first and second call on the test
#      prompts) with each of the two steps
# Environment: WORK [/root/work], STAGE [/root/stage], STEPS ["graph graph-fused"]: the decode steps item 1 runs
set -uo pipefail
WORK=${WORK:-/root/work}
STAGE=${STAGE:-/root/stage}
SHIPPED=checkpoints/smollm2-135m-scheduler
STEPS=${STEPS:-graph graph-fused}
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export LLM_SCHEDULER_CACHE="$WORK/cache" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$WORK/results" "$WORK/logs"
: "${OUT:=$WORK/out}"; mkdir -p "$OUT"

run() {  # run NAME CMD...: logged to $WORK/logs/NAME.log, timed; never stops the script
  local name=$1; shift
  local t0=$SECONDS
  echo "[checkpoint $(date +%H:%M:%S)] $name: $*"
  if "$@" >"$WORK/logs/$name.log" 2>&1; then echo "[checkpoint] $name done in $((SECONDS - t0)) s"
  else echo "[checkpoint] $name FAILED after $((SECONDS - t0)) s: $(tail -n 3 "$WORK/logs/$name.log" | tr '\n' ' ' | cut -c1-400)"; fi
}

rm -f "$SHIPPED/adapter_model.safetensors"  # the tree's link to where the weights live off the device
cp "$STAGE/shipped/adapter_model.safetensors" "$SHIPPED/"
SHA=$(sha256sum "$SHIPPED/adapter_model.safetensors" | cut -c1-8)  # the runs are named by the weights they measured
echo "shipped weights: sha256 $SHA..."
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1 | grep -oiE '[a-z][0-9]{3}' | head -n 1 | tr 'A-Z' 'a-z')
GPU=${GPU:-gpu}  # h100, h200: the benchmark files say which card
run provision python3 -m models.provision --gguf "$STAGE/SmolLM2-135M-Instruct.Q4_1.gguf"

EVAL=(python3 -m eval.run --model smollm2-135m-instruct --adapter "$SHIPPED" --split test,hard,names
      --results_dir "$WORK/results" --batch_size 100 --max_new_tokens 2048)
for step in $STEPS; do
  suffix=""; [ "$step" = graph ] || suffix="-$step"
  SCHEDULER_DECODE_STEP=$step run "eval-$step" "${EVAL[@]}" --run_name "smollm2-135m-scheduler-$SHA-{split}-greedy$suffix"
done

if [ -f "$STAGE/old-adapter/adapter_model.safetensors" ]; then
  for step in $STEPS; do
    SCHEDULER_DECODE_STEP=$step run "decode-$step" python3 benchmarks/batch_generation.py --adapter "$STAGE/old-adapter" \
      --methods loop --json "$WORK/results/batch_generation_${GPU}_old_adapter_$step.json"
  done
fi

for m in "$WORK"/results/*/metrics.json; do
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[1].split('/')[-2], d['valid'], round(d['mean_score'], 2), d['wall_time_s'], 's')" "$m"
done
(cd "$WORK" && tar czf "$OUT/checkpoint-results.tgz" results logs)
ls -la "$OUT"
