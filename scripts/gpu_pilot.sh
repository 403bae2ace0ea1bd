#!/usr/bin/env bash
# A pilot on the GPU machine: a staged LoRA trained briefly on another think format, then greedy evals, detached.
# Used when the device time left is too short for a plan of scripts/gpu_session.sh (docs/training.md, session 21).
#
#   NAME=... FROM=/root/stage/dp THINK=dpcheck PROBLEMS=6000 MINUTES=4 SPLITS=hard,names bash scripts/gpu_pilot.sh start
#   bash scripts/gpu_pilot.sh wait        # progress; results and logs as $OUT/pilot.tgz once done (WAIT_S, 500)
#
# FROM: a folder with adapter_config.json and adapter_model.safetensors (staged); the GGUF staged at GGUF;
# MAX_NEW_TOKENS [2048] the evals' cap (2560 for a dplocal model: docs/training.md, session 21).
set -uo pipefail
WORK=${WORK:-/root/work}
GGUF=${GGUF:-/root/stage/SmolLM2-135M-Instruct.Q4_1.gguf}
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export LLM_SCHEDULER_CACHE="$WORK/cache" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$WORK/logs" "$WORK/results"
case ${1:-} in
  start)
    : "${NAME:?}" "${FROM:?}" "${THINK:?}"
    rm -rf "$WORK/pilot-repo"; mkdir -p "$WORK/pilot-repo"
    cp -r scheduler models training eval recipes scripts data "$WORK/pilot-repo/"
    cd "$WORK/pilot-repo" && setsid -f nohup bash -c "
      python3 -m models.provision --gguf '$GGUF' &&
      python3 training/sft.py --config recipes/SmolLM2-135M-Instruct/sft/config.yaml --output_dir '$WORK/$NAME' \
        --init_adapter '$FROM' --think_format '$THINK' --generator_seed ${SEED:-4} \
        --num_train_problems ${PROBLEMS:-6000} --max_train_minutes ${MINUTES:-4} &&
      python3 -m eval.run --model smollm2-135m-instruct --adapter '$WORK/$NAME' --split '${SPLITS:-hard,names}' \
        --run_name '$NAME-{split}-greedy' --results_dir '$WORK/results' --batch_size 100 --max_new_tokens ${MAX_NEW_TOKENS:-2048}
      echo \"pilot exit \$?\" >> '$WORK/logs/pilot.log'" >>"$WORK/logs/pilot.log" 2>&1 </dev/null
    sleep 2; tail -n 3 "$WORK/logs/pilot.log" ;;
  wait)
    waited=0
    while ! grep -q '^pilot exit' "$WORK/logs/pilot.log" && [ "$waited" -lt "${WAIT_S:-500}" ]; do sleep 5; waited=$((waited + 5)); done
    tail -c 1500 "$WORK/logs/pilot.log" | tr '\r' '\n' | tail -n 6
    if grep -q '^pilot exit' "$WORK/logs/pilot.log" && [ -n "${OUT:-}" ]; then
      (cd "$WORK" && tar czf "$OUT/pilot.tgz" results logs $(ls -d sft-* 2>/dev/null | sed 's|$|/training_log.jsonl|') \
        $(ls -d sft-* 2>/dev/null | sed 's|$|/training_summary.json|'))
    fi ;;
  *) echo "usage: gpu_pilot.sh start|wait"; exit 2 ;;
esac
