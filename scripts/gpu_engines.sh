#!/usr/bin/env bash
# vLLM and unsloth on the GPU machine (issue 16): their wheels staged in parts, installed beside the machine's own
# packages, then measured against our loop. The machine has torch 2.11.0+cu130, transformers, peft and accelerate;
# vllm 0.26.0 is the last release that pins that torch (requirements-vllm-gpu.txt), unsloth 2026.10.9 requires
# trl<=1.15.0 and datasets<5 (requirements-unsloth-gpu.txt carries those for its own run).
#
#   here:    bash scripts/gpu_engines.sh download   both wheel sets into .vllm-gpu/ (~1.2 GiB), one tar split into parts
#                                                   of PART_MB (58) MiB: .device-stage/eng-NN (one part a device call)
#   device:  bash scripts/gpu_engines.sh receive    the parts this call carries (.device-stage/eng-*) into /root/stage/eng/
#            bash scripts/gpu_engines.sh install    join and check the parts; vLLM's set into /tmp/vllm-site (after the
#                                                   machine's site-packages: its torch and CUDA libraries stay in use),
#                                                   unsloth's into /tmp/unsloth-site (first on its runs' path); imports both
#            bash scripts/gpu_engines.sh eval NAME ADAPTER   eval.run --backend vllm, greedy, the three splits, ADAPTER on
#                                                   the base model (runs NAME-SPLIT-greedy-vllm, wall time logged)
#            bash scripts/gpu_engines.sh grpo       GRPO steps (benchmarks/grpo_step.py, the settings of session 10's
#                                                   loop figure: 7.27 s a step): vllm (TRL's colocate mode), then unsloth
#                                                   in bf16 and with the 7B recipe's 4-bit base
#            bash scripts/gpu_engines.sh session NAME ADAPTER   provision, ADAPTER's greedy figures through our loop
#                                                   (the same machine's baseline), then all
#            bash scripts/gpu_engines.sh all NAME ADAPTER   once every part is staged (eng.sha256 counts them; waits up
#                                                   to ENGINES_WAIT_S, 600): install, eval, grpo (gpu_session.sh's ENGINES=1)
# Results go to $WORK/results (eval runs) and $WORK/results/bench (JSON), which gpu_session.sh's bundle brings back;
# each step's log to $WORK/logs/engines-*.log. Environment: WORK [/root/work], STEPS [6], PART_MB [58],
# METHODS [vllm] (grpo's vLLM-side methods: add loop to time it again).
set -uo pipefail

WORK=${WORK:-/root/work}
STAGE=/root/stage/eng
PLATFORMS=(--platform manylinux_2_39_x86_64 --platform manylinux_2_35_x86_64 --platform manylinux_2_34_x86_64
           --platform manylinux_2_31_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
           --platform manylinux_2_24_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux1_x86_64 --platform linux_x86_64 --platform any)
export LLM_SCHEDULER_CACHE="$WORK/cache" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$WORK/logs" "$WORK/results/bench" 2>/dev/null || true

logged() {  # logged NAME CMD...: run CMD into $WORK/logs/engines-NAME.log, print its wall time and its tail
  local name=$1; shift
  local t0=$SECONDS rc=0
  "$@" >"$WORK/logs/engines-$name.log" 2>&1 || rc=$?
  echo "[engines] $name: exit $rc after $((SECONDS - t0)) s"
  grep -v -i "warning" "$WORK/logs/engines-$name.log" | tail -n "${TAIL:-6}" | cut -c1-400
  return $rc
}

case ${1:-} in
  download)
    rm -rf .vllm-gpu && mkdir -p .vllm-gpu .device-stage
    for set in vllm unsloth; do
      pip download -q --no-deps -r "requirements-$set-gpu.txt" --python-version 3.12 "${PLATFORMS[@]}" \
        --only-binary=:all: -d ".vllm-gpu/$set" || exit 1
    done
    (cd .vllm-gpu && sha256sum vllm/* unsloth/* >SHA256SUMS && tar cf ../.vllm-gpu.tar SHA256SUMS vllm unsloth)
    rm -f .device-stage/eng-*
    split -b "${PART_MB:-58}M" -d -a 2 .vllm-gpu.tar .device-stage/eng-
    # the joined tar's sha256 and the number of parts: install checks the first, all waits for the second
    echo "$(sha256sum .vllm-gpu.tar | cut -d' ' -f1) $(ls .device-stage/eng-[0-9]* | wc -l)" >.device-stage/eng.sha256
    rm -f .vllm-gpu.tar
    echo "$(ls .device-stage/eng-[0-9]* | wc -l) parts in .device-stage/ (carry one a call, and eng.sha256 with any)" ;;
  receive)
    mkdir -p "$STAGE"
    for p in .device-stage/eng-* .device-stage/eng.sha256; do [ -f "$p" ] && cp "$p" "$STAGE/"; done
    echo "[engines] staged: $(ls "$STAGE" | grep -c '^eng-[0-9]') parts, $(du -sh "$STAGE" | cut -f1)" ;;
  install)
    echo "[engines] $(ldd --version | head -n 1)"  # the wheels' newest tag is manylinux_2_34
    cd "$STAGE" || exit 1
    if [ ! -d wheels ]; then
      [ "$(cat eng-[0-9]* | sha256sum | cut -d' ' -f1)" = "$(cut -d' ' -f1 eng.sha256)" ] || { echo "[engines] the parts do not join"; exit 1; }
      mkdir -p wheels && cat eng-[0-9]* | tar x -C wheels && (cd wheels && sha256sum -c --quiet SHA256SUMS) || exit 1
      rm -f eng-[0-9]*
    fi
    logged pip-vllm pip install --no-deps --no-compile --target /tmp/vllm-site wheels/vllm/*.whl
    logged pip-unsloth pip install --no-deps --no-compile --target /tmp/unsloth-site wheels/unsloth/*.whl
    # after the machine's own site-packages (a .pth is read in order there): its torch, CUDA libraries and
    # transformers win where both have a package
    site=$(python3 -c 'import site; print(site.getsitepackages()[0])')
    echo /tmp/vllm-site >"$site/zz-vllm-site.pth"
    cd - >/dev/null
    PYTHONPATH="/tmp/site:$PWD" logged import-vllm python3 -c 'import torch, vllm; print("vllm", vllm.__version__, "torch", torch.__version__)'
    PYTHONPATH="/tmp/unsloth-site:/tmp/site:$PWD" logged import-unsloth python3 -c 'import unsloth, trl; print("unsloth", unsloth.__version__, "trl", trl.__version__)' ;;
  eval)
    name=${2:?eval NAME ADAPTER}; adapter=${3:?eval NAME ADAPTER}
    PYTHONPATH="/tmp/site:$PWD" logged "eval-$name" python3 -m eval.run --model smollm2-135m-instruct --adapter "$adapter" \
      --split test,hard,names --backend vllm --run_name "$name-{split}-greedy-vllm" --results_dir "$WORK/results" \
      --batch_size 100 --max_new_tokens 2048 ;;
  grpo)
    B=$WORK/results/bench
    gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1 | awk '{print tolower($2)}')  # h100, h200
    # shellcheck disable=SC2086
    PYTHONPATH="/tmp/site:$PWD" logged grpo-vllm python3 benchmarks/grpo_step.py --methods ${METHODS:-vllm} --steps "${STEPS:-6}" \
      --out "$WORK/grpo_step_vllm" --json "$B/grpo_step_${gpu}_vllm.json"
    PYTHONPATH="/tmp/unsloth-site:/tmp/site:$PWD" logged grpo-unsloth python3 benchmarks/grpo_step.py --methods unsloth \
      --steps "${STEPS:-6}" --out "$WORK/grpo_step_unsloth" --json "$B/grpo_step_${gpu}_unsloth.json"
    PYTHONPATH="/tmp/unsloth-site:/tmp/site:$PWD" logged grpo-unsloth-4bit python3 benchmarks/grpo_step.py --methods unsloth \
      --steps "${STEPS:-6}" --out "$WORK/grpo_step_unsloth4" --json "$B/grpo_step_${gpu}_unsloth_4bit.json" \
      --extra --load_in_4bit true ;;
  all)
    name=${2:?all NAME ADAPTER}; adapter=${3:?all NAME ADAPTER}
    staged() { [ -d "$STAGE/wheels" ] || { [ -f "$STAGE/eng.sha256" ] && [ "$(ls "$STAGE" | grep -c '^eng-[0-9]')" -ge "$(cut -d' ' -f2 "$STAGE/eng.sha256")" ]; }; }
    waited=0
    while ! staged && [ "$waited" -lt "${ENGINES_WAIT_S:-600}" ]; do sleep 10; waited=$((waited + 10)); done
    # each part logs its own failure; one that fails (unsloth's import, say) does not stop the others
    bash "$0" install; bash "$0" eval "$name" "$adapter"; bash "$0" grpo ;;
  session)
    # a whole engines session without the model plan: provision, the loop's greedy figures for ADAPTER on this
    # machine (the baseline the vLLM ones are paired with), then all
    name=${2:?session NAME ADAPTER}; adapter=${3:?session NAME ADAPTER}
    PYTHONPATH="/tmp/site:$PWD" logged provision python3 -m models.provision --gguf "${GGUF:-/root/stage/SmolLM2-135M-Instruct.Q4_1.gguf}"
    PYTHONPATH="/tmp/site:$PWD" logged "eval-$name-loop" python3 -m eval.run --model smollm2-135m-instruct --adapter "$adapter" \
      --split test,hard,names --run_name "$name-{split}-greedy-loop" --results_dir "$WORK/results" \
      --batch_size 100 --max_new_tokens 2048
    bash "$0" all "$name" "$adapter" ;;
  *) sed -n '2,24p' "$0"; exit 2 ;;
esac
