#!/usr/bin/env bash
# SFT then GRPO of SmolLM2-135M-Instruct on the GPU machine, in stages the lead calls one by one.
#
#   bash scripts/gpu_pipeline.sh STAGE [STAGE ...]       (from the repository root)
#
# Stages (each is quick, except sft/grpo, which start in the background and return at once):
#   setup      install the carried wheels (trl, datasets, dill, multiprocess, gguf) into /tmp/site
#   provision  convert the staged GGUF into a transformers checkpoint (python -m models.provision --gguf)
#   sft        start training/sft.py  (setsid nohup; log: $WORK/logs/sft.log, output: $WORK/sft)
#   grpo       start training/grpo.py from the SFT adapter (log: $WORK/logs/grpo.log, output: $WORK/grpo)
#   wait       block until the running stage ends, at most WAIT_S seconds (default 540: fits one 10-min call)
#   status     running stage, last log lines, last training_log.jsonl record of each stage
#   collect    copy the final adapters, logs and summaries to $OUT (adapters split into 15 MiB parts)
#   eval       eval.run (greedy, batch 100) of each of EVAL_MODELS [base sft grpo] on each of EVAL_SPLITS
#              [test hard] that exists, into $WORK/results (run names smollm2-135m[-STAGE]-SPLIT-greedy)
#   bundle     one tar of $WORK/results and the adapters, split into 15 MiB parts in $OUT (a call brings
#              back at most 8 files); unpack here with: cat bundle.tgz.part-* | tar xzf - -C DIR
#   plot       training_log.png for each stage (needs matplotlib; otherwise plot after collecting)
#
# Environment (defaults in brackets):
#   WORK [/root/work]   GGUF [/root/stage/SmolLM2-135M-Instruct.Q4_1.gguf]   WHEELS [.whl]
#   SFT_ARGS / GRPO_ARGS: extra flags for the scripts, e.g. SFT_ARGS="--num_train_problems 10000"
#   EVAL_MODELS [base sft grpo]  EVAL_SPLITS [test hard]  EVAL_MAX_NEW_TOKENS [2048]  EVAL_BASE  EVAL_ARGS
#
# A typical session (each line one device call, made back to back so the machine stays warm):
#   bash scripts/gpu_pipeline.sh setup provision sft wait     # SFT runs ~6-7 min of the 10-min call
#   bash scripts/gpu_pipeline.sh wait status grpo wait        # finish SFT if needed, start GRPO
#   bash scripts/gpu_pipeline.sh wait status collect          # finish GRPO, bring the results back
set -euo pipefail

WORK=${WORK:-/root/work}
GGUF=${GGUF:-/root/stage/SmolLM2-135M-Instruct.Q4_1.gguf}
WHEELS=${WHEELS:-.whl}
WAIT_S=${WAIT_S:-540}
SFT_RECIPE=recipes/SmolLM2-135M-Instruct/sft/config.yaml
GRPO_RECIPE=recipes/SmolLM2-135M-Instruct/grpo/config.yaml

# The carried wheels live in /tmp/site; the project itself is imported from the repository root.
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
# The provisioned checkpoint goes under $WORK so every stage (and a later call) finds it.
export LLM_SCHEDULER_CACHE="$WORK/cache"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$WORK/logs"

log() { echo "[pipeline $(date +%H:%M:%S)] $*"; }

setup() {
  if python3 -c "import trl, datasets, gguf" 2>/dev/null; then log "trl, datasets and gguf already importable"; return; fi
  ls "$WHEELS"/*.whl >/dev/null 2>&1 || { log "no wheels in $WHEELS (carry them there)"; exit 1; }
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl
  python3 -c "import trl, datasets, gguf, peft, transformers, torch; print('trl', trl.__version__, 'transformers', transformers.__version__, 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
}

provision() {
  python3 -m models.provision --gguf "$GGUF"
}

# start NAME CMD...: run CMD detached from this call (it survives the call's end), remember its pid.
start() {
  local name=$1; shift
  if [ -f "$WORK/$name.pid" ] && kill -0 "$(cat "$WORK/$name.pid")" 2>/dev/null; then
    log "$name is already running (pid $(cat "$WORK/$name.pid"))"; return
  fi
  log "starting $name: $*"
  setsid nohup "$@" >>"$WORK/logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$WORK/$name.pid"
  echo "$name" >"$WORK/current_stage"
  log "$name started (pid $!); follow it with: tail -f $WORK/logs/$name.log"
}

sft() {
  # --resume_from_checkpoint true continues a run a previous machine left behind (no checkpoint: fresh start).
  # shellcheck disable=SC2086
  start sft python3 training/sft.py --config "$SFT_RECIPE" --output_dir "$WORK/sft" \
    --resume_from_checkpoint true ${SFT_ARGS:-}
}

grpo() {
  [ -f "$WORK/sft/adapter_model.safetensors" ] || { log "no SFT adapter in $WORK/sft: run (and finish) the sft stage first"; exit 1; }
  # shellcheck disable=SC2086
  start grpo python3 training/grpo.py --config "$GRPO_RECIPE" --init_adapter "$WORK/sft" \
    --output_dir "$WORK/grpo" --resume_from_checkpoint true ${GRPO_ARGS:-}
}

wait_stage() {
  local name pid waited=0
  name=$(cat "$WORK/current_stage" 2>/dev/null || true)
  [ -n "$name" ] && [ -f "$WORK/$name.pid" ] || { log "nothing running"; return; }
  pid=$(cat "$WORK/$name.pid")
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$WAIT_S" ]; do sleep 3; waited=$((waited + 3)); done
  if kill -0 "$pid" 2>/dev/null; then log "$name still running after ${waited}s"; else log "$name finished"; fi
  tail -n 3 "$WORK/logs/$name.log" | cut -c1-400
}

status() {
  local name
  name=$(cat "$WORK/current_stage" 2>/dev/null || true)
  if [ -n "$name" ] && kill -0 "$(cat "$WORK/$name.pid" 2>/dev/null || echo 0)" 2>/dev/null; then log "running: $name"; else log "running: nothing"; fi
  for s in sft grpo; do
    [ -f "$WORK/logs/$s.log" ] || continue
    log "--- $s.log (last lines)"; tail -n 5 "$WORK/logs/$s.log" | cut -c1-400
    [ -f "$WORK/$s/training_log.jsonl" ] && { log "--- $s last step record"; tail -n 1 "$WORK/$s/training_log.jsonl" | cut -c1-800; }
    [ -f "$WORK/$s/training_summary.json" ] && log "$s done: $(python3 -c "import json;d=json.load(open('$WORK/$s/training_summary.json'));print('steps', d['global_step'], 'wall', d['train_wall_time_s'], 's')")"
  done
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null || true
}

collect() {
  : "${OUT:?collect writes to \$OUT (set by the device call)}"
  for s in sft grpo; do
    [ -f "$WORK/$s/adapter_model.safetensors" ] || continue
    mkdir -p "$OUT/$s"
    for f in adapter_config.json README.md training_summary.json training_log.jsonl training_log.png train_results.json \
             tokenizer.json tokenizer_config.json chat_template.jinja; do
      [ -f "$WORK/$s/$f" ] && cp "$WORK/$s/$f" "$OUT/$s/"
    done
    cp "$WORK/logs/$s.log" "$OUT/$s/run.log" 2>/dev/null || true
    # Files come back only up to 16 MiB each: split the adapter, rejoin with
    #   cat adapter_model.safetensors.part-* > adapter_model.safetensors && sha256sum -c adapter_model.sha256
    (cd "$WORK/$s" && sha256sum adapter_model.safetensors >"$OUT/$s/adapter_model.sha256")
    split -b 15M -d -a 2 "$WORK/$s/adapter_model.safetensors" "$OUT/$s/adapter_model.safetensors.part-"
    log "collected $s: $(du -sh "$OUT/$s" | cut -f1)"
  done
}

eval_runs() {
  local m s adapter name
  for m in ${EVAL_MODELS:-base sft grpo}; do
    adapter=""; name="smollm2-135m-instruct"
    if [ "$m" != base ]; then
      [ -f "$WORK/$m/adapter_model.safetensors" ] || { log "no $m adapter: skipped"; continue; }
      adapter="--adapter $WORK/$m"; name="smollm2-135m-$m"
    fi
    for s in ${EVAL_SPLITS:-test hard}; do
      # shellcheck disable=SC2086
      python3 -m eval.run --model "${EVAL_BASE:-smollm2-135m-instruct}" $adapter --split "$s" --batch_size 100 \
        --max_new_tokens "${EVAL_MAX_NEW_TOKENS:-2048}" --run_name "$name-$s-greedy" --results_dir "$WORK/results" \
        ${EVAL_ARGS:-} 2>&1 | tail -n 1
    done
  done
}

bundle() {
  : "${OUT:?bundle writes to \$OUT (set by the device call)}"
  local dirs=()
  [ -d "$WORK/results" ] && dirs+=(results)
  for s in sft grpo; do [ -f "$WORK/$s/adapter_model.safetensors" ] && dirs+=("$s"); done
  [ ${#dirs[@]} -gt 0 ] || { log "nothing to bundle"; return; }
  # adapters, configs, logs and summaries only: checkpoints stay behind
  (cd "$WORK" && tar czf - --exclude='checkpoint-*' --exclude='*.bin' "${dirs[@]}") | split -b 15M -d -a 2 - "$OUT/bundle.tgz.part-"
  log "bundled ${dirs[*]} into $(ls "$OUT"/bundle.tgz.part-* | wc -l) part(s)"
}

plot() {
  for s in sft grpo; do
    [ -f "$WORK/$s/training_log.jsonl" ] || continue
    python3 -m training.log "$WORK/$s" || log "plotting $s failed (matplotlib missing?): plot the collected log locally"
  done
}

[ $# -gt 0 ] || { sed -n '2,25p' "$0"; exit 2; }
for stage in "$@"; do
  case $stage in
    setup) setup ;; provision) provision ;; sft) sft ;; grpo) grpo ;; wait) wait_stage ;;
    status) status ;; collect) collect ;; plot) plot ;; eval) eval_runs ;; bundle) bundle ;;
    *) echo "unknown stage: $stage (see the header of $0)"; exit 2 ;;
  esac
done
