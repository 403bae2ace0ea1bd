#!/usr/bin/env bash
# GRPO of the shipped model on the GPU machine: merge the shipped adapter into a full fp32 model (the extracted
# adapter is the fine-tune only when merged), run grpo/config_full.yaml on it for GRPO_MIN minutes, extract a
# rank-64 LoRA from the result and evaluate it on test, hard and names. Stage the GGUF and the wheels first
# (docs/training.md, "On the GPU machine").
#
#   bash scripts/gpu_grpo.sh start     copy the code to $WORK/repo, run the chain detached, return
#   bash scripts/gpu_grpo.sh finish    wait for the chain (at most ~9 min), then results, logs and the adapter into $OUT
#
# Environment: WORK [/root/work]  GRPO_MIN [3]  GRPO_ARGS, EVAL_ARGS: extra flags (a CPU smoke run's small settings)
set -uo pipefail
WORK=${WORK:-/root/work}

chain() {
  local W=$WORK E="--results_dir $WORK/results --batch_size 100 --max_new_tokens 2048"
  export PYTHONPATH="/tmp/site:$PWD" LLM_SCHEDULER_CACHE=$W/cache HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
  export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
  python3 - "$W/merged" <<'PY' >"$W/logs/merge.log" 2>&1
import sys, torch
from models.loading import load_model
from models.specs import resolve_preset
m = load_model(resolve_preset("smollm2-135m").side("tuned"), device="cpu", dtype=torch.float32)
m.model.save_pretrained(sys.argv[1]); m.tokenizer.save_pretrained(sys.argv[1])
PY
  # shellcheck disable=SC2086
  python3 training/grpo.py --config recipes/SmolLM2-135M-Instruct/grpo/config_full.yaml --model_name_or_path "$W/merged" \
    --output_dir "$W/grpo" --max_train_minutes "${GRPO_MIN:-3}" --save_strategy no ${GRPO_ARGS:-} >"$W/logs/grpo.log" 2>&1
  python3 -m training.extract_lora --tuned "$W/grpo" --rank 64 --out "$W/grpo-r64" >"$W/logs/extract.log" 2>&1
  # shellcheck disable=SC2086
  python3 -m eval.run --model smollm2-135m-instruct --adapter "$W/grpo-r64" --split test,hard,names \
    --run_name 'grpo-r64-{split}-greedy' $E ${EVAL_ARGS:-} >"$W/logs/eval.log" 2>&1
  echo ALLDONE >>"$W/logs/grpo.log"
}

case ${1:-} in
  start)
    mkdir -p "$WORK/logs"; rm -rf "$WORK/repo"; mkdir -p "$WORK/repo"
    cp -r scheduler models training eval recipes data checkpoints scripts "$WORK/repo/"
    (cd "$WORK/repo" && setsid -f nohup bash scripts/gpu_grpo.sh chain >"$WORK/logs/chain.out" 2>&1 </dev/null)
    sleep 3; cat "$WORK/logs/chain.out" ;;
  chain) chain ;;
  finish)
    : "${OUT:?finish writes to \$OUT (set by the device call)}"
    W=$WORK
    for _ in $(seq 1 110); do grep -q ALLDONE "$W/logs/grpo.log" 2>/dev/null && break; sleep 5; done
    tail -c 600 "$W/logs/grpo.log" | tr '\r' '\n' | tail -4; tail -n 3 "$W/logs/eval.log" | cut -c1-200
    mkdir -p "$W/b" && cp -r "$W/results" "$W/logs" "$W/b/"
    for f in training_log.jsonl training_summary.json; do cp "$W/grpo/$f" "$W/b/" 2>/dev/null; done
    (cd "$W" && tar czf "$OUT/bundle2.tgz" b)
    if [ -f "$W/grpo-r64/adapter_model.safetensors" ]; then
      split -b 15M -d -a 2 "$W/grpo-r64/adapter_model.safetensors" "$OUT/adapter_model.safetensors.part-"
      (cd "$W/grpo-r64" && sha256sum adapter_model.safetensors) >"$OUT/adapter_model.sha256"
      cp "$W/grpo-r64/adapter_config.json" "$W/grpo-r64/extraction.json" "$OUT/"
    fi
    ls "$OUT"
    for m in "$W"/results/*/metrics.json; do
      python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[1].split('/')[-2], d['valid'], round(d['mean_score'],2))" "$m"
    done ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac
