#!/usr/bin/env bash
# One 2-GPU device session in the background: speed benchmarks, a 1-GPU and a 2-GPU GRPO run of the same
# recipe, evals of the result. It outlives each 10-minute call.
#
#   bash scripts/gpu_session.sh start     provision the staged GGUF, then run the plan below detached
#   bash scripts/gpu_session.sh wait      block until the plan ends or WAIT_S (540) passes; show progress
#   bash scripts/gpu_session.sh bundle    results, logs and the new adapter into $OUT (15 MiB parts)
#
# The plan (GPU numbers are CUDA_VISIBLE_DEVICES; every step logs to $WORK/logs/<step>.log):
#   A  GPU 0: benchmarks/gpu_generation.py on the shipped adapter (plain vs static vs loop), then the GRPO
#             recipe on this one GPU for C_STEPS steps (loop rollouts): the 1-GPU side of issue 8
#      GPU 1: benchmarks/grpo_step.py (128 completions x 512 tokens per step: loop and plain rollouts)
#   B  both:  the same recipe and C_STEPS via accelerate (ddp.yaml, 2 processes, the same 128 completions
#             per step), from the shipped adapter
#   C  GPU 0 / GPU 1: eval.run of B's adapter on the test / hard split, at once (SKIP_EVAL=1: not run)
# (2026-11-25, third session: a machine released between calls lost the first run of an earlier order.)
#
# Environment: WORK [/root/work]  GGUF [/root/stage/SmolLM2-135M-Instruct.Q4_1.gguf]
#   PLAN_MINUTES [21] (kept for the log)   C_STEPS [8]   SKIP_EVAL []   WAIT_S [540]
set -euo pipefail

WORK=${WORK:-/root/work}
GGUF=${GGUF:-/root/stage/SmolLM2-135M-Instruct.Q4_1.gguf}
WAIT_S=${WAIT_S:-540}
RECIPE=recipes/SmolLM2-135M-Instruct/grpo/config.yaml
SHIPPED=checkpoints/smollm2-135m-scheduler-grpo
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export LLM_SCHEDULER_CACHE="$WORK/cache" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# NVLink multicast stays off (the device notes: it can take the host's GPUs out of service).
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
mkdir -p "$WORK/logs" "$WORK/results/bench"

log() { echo "[session $(date +%H:%M:%S)] $*" | tee -a "$WORK/logs/plan.log"; }

# step NAME GPUS CMD...: run CMD on the given GPUs, logging to $WORK/logs/NAME.log; never aborts the plan.
step() {
  local name=$1 gpus=$2; shift 2
  log "$name on GPU $gpus: $*"
  local t0=$SECONDS
  if CUDA_VISIBLE_DEVICES=$gpus "$@" >>"$WORK/logs/$name.log" 2>&1; then
    log "$name done in $((SECONDS - t0)) s"
  else
    log "$name FAILED (exit $?) after $((SECONDS - t0)) s: $(tail -n 3 "$WORK/logs/$name.log" | tr '\n' ' ' | cut -c1-600)"
  fi
}

# evaluate RUN_NAME SPLIT [--adapter DIR]: greedy, batch 100, the settings of the committed results
evaluate=(bash "$0" evaluate)

plan() {
  local end_at=$1
  log "plan starts; ends by $(date -d "@$end_at" +%H:%M:%S)"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee -a "$WORK/logs/plan.log"
  python3 -m models.provision --gguf "$GGUF" >>"$WORK/logs/provision.log" 2>&1 || { log "provision FAILED"; tail -n 5 "$WORK/logs/provision.log"; return 1; }
  log "provisioned"

  # A
  (
    step gen_bench 0 timeout 420 python3 benchmarks/gpu_generation.py --adapter "$SHIPPED" --methods plain static loop \
      --json "$WORK/results/bench/gpu_generation.json"
    step grpo_1gpu 0 python3 training/grpo.py --config "$RECIPE" --init_adapter "$SHIPPED" --output_dir "$WORK/grpo1" \
      --max_steps "${C_STEPS:-8}" --save_strategy no --max_train_minutes 4 --rollout_method loop
  ) &
  local a0=$!
  step grpo_bench 1 timeout 480 python3 benchmarks/grpo_step.py --init-adapter "$SHIPPED" --methods loop plain --steps 6 \
    --plain-steps 2 --out "$WORK/grpo_step" --json "$WORK/results/bench/grpo_step.json"
  wait "$a0" || true

  # B: the same recipe and steps on both GPUs (issue 8: step time and reward trend against grpo_1gpu)
  step grpo_2gpu 0,1 python3 -m accelerate.commands.launch --config_file recipes/accelerate_configs/ddp.yaml \
    --num_processes 2 training/grpo.py --config "$RECIPE" --init_adapter "$SHIPPED" --output_dir "$WORK/grpo2" \
    --gradient_accumulation_steps 2 --steps_per_generation 2 --max_steps "${C_STEPS:-8}" --max_train_minutes 4 \
    --save_strategy no --rollout_method loop

  # C
  if [ -z "${SKIP_EVAL:-}" ] && [ -f "$WORK/grpo2/adapter_model.safetensors" ]; then
    step eval_new_test 0 "${evaluate[@]}" smollm2-135m-grpo3 test --adapter "$WORK/grpo2" &
    step eval_new_hard 1 "${evaluate[@]}" smollm2-135m-grpo3 hard --adapter "$WORK/grpo2"
    wait || true
  else
    log "no adapter from B: nothing to evaluate"
  fi
  log "plan finished"
}

case ${1:-} in
  start)
    [ -f "$GGUF" ] || { echo "no GGUF at $GGUF: stage it first (../shared/tools/device-stage)"; exit 1; }
    end_at=$(( $(date +%s) + ${PLAN_MINUTES:-21} * 60 ))
    # The plan runs from its own copy: a later call re-syncs this tree under a running bash script.
    mkdir -p "$WORK/repo" && cp -r scheduler models training eval benchmarks recipes scripts checkpoints data "$WORK/repo/"
    # setsid -f: the plan leaves this call's session and output at once (a call waits for its output's end).
    (cd "$WORK/repo" && setsid -f nohup bash scripts/gpu_session.sh plan "$end_at" >>"$WORK/logs/plan.out" 2>&1 < /dev/null)
    sleep 15; tail -n 5 "$WORK/logs/plan.log" ;;
  plan) plan "$2" ;;
  evaluate)
    name=$2 split=$3; shift 3
    python3 -m eval.run --model smollm2-135m-instruct "$@" --split "$split" --batch_size 100 \
      --max_new_tokens 2048 --run_name "$name-$split-greedy" --results_dir "$WORK/results" ;;
  wait)
    # setsid may fork, so the saved pid can be a parent that is gone: look for the plan itself.
    running() { pgrep -f "gpu_session.sh plan" >/dev/null; }
    waited=0
    while running && [ "$waited" -lt "$WAIT_S" ]; do sleep 5; waited=$((waited + 5)); done
    running && log "plan still running after ${waited}s" || log "plan not running"
    tail -n 25 "$WORK/logs/plan.log" | cut -c1-700
    for f in "$WORK"/grpo2/training_log.jsonl "$WORK"/grpo1/training_log.jsonl; do
      [ -f "$f" ] && { echo "--- $f: $(wc -l <"$f") records; last:"; tail -n 1 "$f" | python3 -c "import json,sys; r=json.loads(sys.stdin.read()); print({k: r[k] for k in r if k in ('step','elapsed_s','reward','rewards/score_reward/mean','completions/mean_length','completions/clipped_ratio')})"; }
    done
    nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader || true ;;
  bundle)
    : "${OUT:?bundle writes to \$OUT (set by the device call)}"
    rm -rf "$WORK/bundle"; mkdir -p "$WORK/bundle"
    cp -r "$WORK/results" "$WORK/logs" "$WORK/bundle/"
    for d in grpo2 grpo1 grpo_step; do [ -d "$WORK/$d" ] && cp -r "$WORK/$d" "$WORK/bundle/"; done
    # Checkpoints stay behind, and so do the benchmark runs' adapters: only B's adapter comes back.
    find "$WORK/bundle" -name 'checkpoint-*' -prune -exec rm -rf {} +
    find "$WORK/bundle/grpo_step" "$WORK/bundle/grpo1" -name 'adapter_model.safetensors' -delete 2>/dev/null || true
    (cd "$WORK" && tar czf - bundle) | split -b 15M -d -a 2 - "$OUT/bundle.tgz.part-"
    ls -la "$OUT"; tail -n 40 "$WORK/logs/plan.log" ;;
  *) sed -n '2,22p' "$0"; exit 2 ;;
esac
