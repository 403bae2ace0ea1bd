#!/usr/bin/env bash
# One device session for the model issue: an SFT ablation, GRPO from its best run, LoRA extraction, evals.
# It runs detached on the GPU machine and outlives each 10-minute call.
#
#   bash scripts/gpu_session.sh start     provision the staged GGUF, then run the plan below detached
#   bash scripts/gpu_session.sh wait      block until the plan ends or WAIT_S (540) passes; show progress (and bundle
#                                         what is done so far into $OUT when the call sets it)
#   bash scripts/gpu_session.sh bundle    results and logs into $OUT (tar parts of 15 MiB)
#   bash scripts/gpu_session.sh ship      the next queued adapter parts into $OUT (each extraction queues its adapter;
#                                         `wait` ships too): rejoin here with `cat NAME.adapter_model.safetensors.part-*`
#   bash scripts/gpu_session.sh fetch NAME   queue $WORK/NAME's adapter (if it is not queued yet), then ship
#
# The plan (one GPU, runs side by side: a recap run took 1.02 s a step alone and 1.03-1.08 s beside another in
# sessions 5 and 6; every step logs to $WORK/logs/<name>.log and the plan's own lines go to $WORK/logs/plan.log):
#   1  SFT, the runs of ABLATION (below) at once (a FIT run after its speed probe), each evaluated on test, hard and
#      names (greedy, batch 100, 2,048 new tokens, one process per model) as soon as it ends
#   2  the best run by the mean of its three scores -> GRPO (recipe grpo/config_full.yaml for a full model,
#      grpo/config.yaml for a LoRA), for the minutes left before the plan's deadline less the final evals; a full
#      model's checkpoints (every save_steps: e.g. GRPO_FLAGS="--save_steps 10") are evaluated as GRPO saves them
#   3  full model: the LoRAs of EXTRACTS from the best SFT (while GRPO runs) and from the best GRPO model (the final
#      one or a checkpoint, by the mean of its three scores); every candidate evaluated on the three splits, the
#      GRPO ones also sampled (T=1.0, 4 samples) on test
#
# Environment: WORK [/root/work]  GGUF [/root/stage/SmolLM2-135M-Instruct.Q4_1.gguf]  PLAN_MINUTES [21]
#   SFT_MINUTES [8] (cap), EXTRACTS [b95] the LoRAs extracted from the best SFT (RANK:EMBED_RANK,
#   or bMB: ranks per matrix within MB), EXTRACTS_GRPO [b95] those from the GRPO model,
#   NO_GRPO: set to skip step 2 (the best SFT is still extracted and evaluated),
#   GRPO_FROM: an adapter folder of the repo (e.g. checkpoints/smollm2-135m-scheduler): no SFT; GRPO's start is that
#   LoRA itself when it is a plain one (GRPO keeps training it), else the base model merged with it (its weights
#   staged as /root/stage/adapter_model.safetensors when the tree lacks them),
#   SFT_FROM: the same (or an absolute path: a staged adapter folder), as the start of the ablation's SFT runs: an entry's "--init_adapter FROM" is that plain LoRA
#   (more SFT of it, training/sft.py --init_adapter), its "--model_name_or_path FROM" the base merged with it:
#   training continued on fresh problems,
#   GRAPH_EVAL: with GRPO_FROM or SFT_FROM, a run-name prefix: that adapter evaluated first with SCHEDULER_DECODE_STEP=graph,
#   GRPO_RECIPE: a LoRA's GRPO recipe [grpo/config.yaml] (grpo/config_dp.yaml for a dp-format model),
#   GRPO_FLAGS: extra flags for GRPO (e.g. a longer --max_completion_length for the recap think, --tf32 true),
#   EVAL_ARGS [--batch_size 100 --max_new_tokens 2048], SMOKE_SFT / SMOKE_GRPO: extra flags (CPU smoke runs),
#   FINAL_EVAL_RESERVE [4] minutes kept after GRPO, ONLY: names of the ablation runs to make (default: all),
#   BENCH: set to run scripts/gpu_bench.sh at the end (its own environment: BEFORE, OLD_ADAPTER),
#   CHECKPOINT: set to run scripts/gpu_checkpoint.sh after it (its files staged in /root/stage: see that script),
#   ENGINES: set to run scripts/gpu_engines.sh all at the end (vLLM and unsloth, staged meanwhile: issue 16) with the
#   best SFT run's first extracted LoRA,
#   NUM_PROBLEMS: every entry's --num_train_problems (and its name's nNk) set to this,
#   FIT_MAX [60000] most problems a fitted run (FIT in ABLATION) takes, PART_MB [12] the parts adapters travel in, WAIT_S [540]
set -euo pipefail

WORK=${WORK:-/root/work}
GGUF=${GGUF:-/root/stage/SmolLM2-135M-Instruct.Q4_1.gguf}
WAIT_S=${WAIT_S:-540}
SFT_FULL=recipes/SmolLM2-135M-Instruct/sft/config_full.yaml
SFT_LORA=recipes/SmolLM2-135M-Instruct/sft/config.yaml
GRPO_FULL=recipes/SmolLM2-135M-Instruct/grpo/config_full.yaml
GRPO_LORA=${GRPO_RECIPE:-recipes/SmolLM2-135M-Instruct/grpo/config.yaml}
read -r -a EVAL <<<"${EVAL_ARGS:---batch_size 100 --max_new_tokens 2048}"
FROM=${GRPO_FROM:-${SFT_FROM:-}}  # the adapter merged into the start model, if any
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export LLM_SCHEDULER_CACHE="$WORK/cache" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
mkdir -p "$WORK/logs" "$WORK/results"

# name | recipe | flags: the SFT ablation. A FIT in a run's name and flags is the problem count fitted to SFT_MINUTES
# by a probe (fit_problems). Session 7 ran "sft-full-recap-FIT-h50-q15-mb16" (docs/training.md): the shipped recipe
# in micro-batches of 16 (0.63 s a step against ~1.05 s for 8 x 4), 33,000 problems fitted to 14 minutes, names from
# the `qualified` source; it was the shipped model until session 9. Micro-batches of 16 held 106 GiB: one such run
# alone. Session 9 (the model shipped until session 16) ran that recipe with one change, names from the `coined`
# source (15% of the pool's names with a made-up first word), at the same 33,000 problems.
# Session 10 ran "sft-cont-s9-n33k-g2-lr1e4|$SFT_FULL|--model_name_or_path FROM --generator_seed 2 --learning_rate 1e-4
# --per_device_train_batch_size 16 --gradient_accumulation_steps 2 --name_source coined --num_train_problems 33000" with
# SFT_FROM=checkpoints/smollm2-135m-scheduler: the shipped model one more epoch on fresh problems (names -9.5).
# Session 12 ran the shipped recipe (session 9's run, the same problems) with one change, the numbered think (tokenizing
# with 12 processes: 2 took 1:52 of the H200's 16 cores in session 10; the data are the same), and lost that run
# ("sft-full-numbered-n33k-h50-c15-mb16") with its machine; session 13 ran it with gradient checkpointing on an
# 80 GB H100 ("sft-full-numbered-n33k-h50-c15-mb16-gc": the same flags with --think_format numbered, 10.8 GiB instead of
# 110, 0.78 s a step): level within noise, not shipped. The entry below is the model issue's one design question not yet
# measured here: a LoRA trained directly against the full fine-tune whose extracted LoRA ships, at the shipped recipe's
# data (session 9's problems) and within the same size (r128 on every linear layer: 39.1 M parameters, 78.2 MB in bf16;
# smoke-run on the CPU). fp32 master weights as the full recipe; lr 5e-4 and no dropout as the LoRA recipe (sft/config.yaml).
# Session 14 ran it in micro-batches of 16 x 2 ("sft-lora-r128-recap-n33k-h50-c15-mb16-gc"): 1.24 s a step on an H100
# (the GPU a third busy), stopped by SFT_MINUTES=15 at step 727 of 1,032; names +4.79 +- 3.19, test -2.67 +- 1.43
# against the shipped model. The entry below is that LoRA to the end of its epoch in micro-batches of 32 (the same 32
# examples a step, fewer and larger launches). Session 15 measured its step on an H100 before the machine was lost
# (a 20,000-problem run of it): 0.91 s a step over steps 10-110, against 1.45 s for session 14's 16 x 2 over the same
# steps, the GPU 100 % busy, 21.6 GB: the 1,032 steps of 33,000 problems take ~14-16 min; SFT_MINUTES=17 caps it.
# Gradient checkpointing lets it run on either card (its adapter's parts are queued as it ends). Session 16 ran it
# (1,032 steps in 923 s on an H100): shipped, and now the LoRA recipe itself (sft/config.yaml), so the entry has no
# flags. Session 17 ran GRPO from it (GRPO_FROM=checkpoints/smollm2-135m-scheduler, 28 steps): shipped; sampled +1.97,
# greedy level, hard not moved. The entry below is the next arm, aimed at hard: the shipped LoRA one more epoch of SFT on
# fresh problems (generator seed 3) with 70 % of hard sizes, at half the first epoch's learning rate (session 10's
# continuation of the full model, at half its rate, gave hard +1.68 and cost names -9.5: the LoRA copies names better).
# 70 % hard makes an example ~10 % longer (1,640 tokens against 1,490 at 50 %): 31,000 problems take ~16 min on an H100
# ("sft-lora-cont-s18-n31k-g3-h70|$SFT_LORA|--init_adapter FROM --generator_seed 3 --hard_fraction 0.7
# --learning_rate 2.5e-4 --num_train_problems 31000"). Session 18 (which got no machine) queued instead the arm below,
# after counting what the shipped model gets wrong on hard (47 of its 73 suboptimal answers first keep an event that the optimum drops for a
# set starting later): the dp think (scheduler/reference.py), the shipped LoRA trained on it, 20,000 problems (its
# targets are ~23 % longer than the recap's: ~11.5 min on an H100).
# Session 21 ran it at 25,000 problems ("sft-lora-dp-n25k-g3", 782 steps in 15 min on an H100): test 98.92, names
# 95.68, sampled 97.96, but hard 69.17 (24 overlaps). eval.dp_steps: nearly every first wrong step is a lookup by number
# across the think (a next, a walk step, an end, a best-from); a 3-minute pilot of the dpcheck think from it made the
# search's own copies go wrong instead (docs/training.md, session 21). The entry below is session 21's run with one
# change, the dplocal think: each programme line led by its event's times and value, so that its search reads the
# starts of the lines just above it (~11 % longer SFT examples at hard sizes than dp: ~16.5 min on an H100 at 25,000
# problems). Its longest hard answers pass 2,048 tokens (reference: 95th percentile 2,071, longest 2,112), so its
# evaluations take 2,560 new tokens (EVAL_ARGS); no recap or dp answer came near 2,048.
# Session 22 ran it at 22,000 problems ("sft-lora-dplocal-n22k-g3", 655 of 688 steps in its 15-minute cap): test 99.16,
# hard 76.56 (dp: 69.17), names 88.81, sampled 95.15. The programme now holds on hard (a wrong next first in 1 answer,
# dp 41); the walk, the last lookup by number up the think, is the first wrong step of 70 of the 100 answers. The entry
# below is the dpset think, whose lines end with the set their best keeps (no walk: the schedule is line 1's set),
# trained from the dplocal adapter, staged as /root/stage/sft-lora-dplocal-n22k-g3 (docs/training.md, session 22):
# SFT_FROM=/root/stage/sft-lora-dplocal-n22k-g3 NO_GRPO=1 SFT_MINUTES=16 PLAN_MINUTES=22 NUM_PROBLEMS=22000
# EVAL_ARGS="--batch_size 100 --max_new_tokens 2560" (0.72 min per 1,000 problems at dplocal's lengths).
ABLATION=(
  "sft-lora-dpset-n22k-g4|$SFT_LORA|--init_adapter FROM --think_format dpset --generator_seed 4 --num_train_problems 22000"
)
# A FIT entry's 4th field: the flags added to the fallback (micro-batches of 8, 20,000 problems: session 6's run),
# used when the probe fails or the fitted run dies in its first five minutes (its longest batches come first).
# the LoRAs extracted from the best full SFT model (training/extract_lora.py): rank:embed_rank, or bMB for ranks
# chosen per matrix within MB. r64 is 45.6 MB in bf16, r128 with the embedding at 64 ~85 MB; b95 fills 95 MB.
read -r -a EXTRACTS <<<"${EXTRACTS:-b95}"
# and from the GRPO model (sampled too)
EXTRACTS_GRPO=${EXTRACTS_GRPO:-b95}

log() { echo "[plan $(date +%H:%M:%S)] $*" | tee -a "$WORK/logs/plan.log"; }

# step NAME CMD...: run CMD, logging to $WORK/logs/NAME.log; never aborts the plan.
step() {
  local name=$1; shift
  log "$name: $*"
  local t0=$SECONDS
  if "$@" >>"$WORK/logs/$name.log" 2>&1; then
    log "$name done in $((SECONDS - t0)) s"
  else
    log "$name FAILED (exit $?) after $((SECONDS - t0)) s: $(tail -n 3 "$WORK/logs/$name.log" | tr '\n' ' ' | cut -c1-500)"
    return 1
  fi
}

# model_args DIR: eval.run's model flags for a training output (a full model folder or a LoRA adapter)
model_args() {
  if [ -f "$1/adapter_model.safetensors" ]; then echo "--model smollm2-135m-instruct --adapter $1"; else echo "--model $1"; fi
}

# evaluate NAME DIR: greedy on test, hard and names in one process (one load, one compile)
evaluate() {
  # shellcheck disable=SC2046
  step "eval-$1" python3 -m eval.run $(model_args "$2") --split test,hard,names --run_name "$1-{split}-greedy" \
    --results_dir "$WORK/results" "${EVAL[@]}"
}

sampled() {
  # shellcheck disable=SC2046
  step "sampled-$1" python3 -m eval.run $(model_args "$2") --split test --temperature 1.0 --samples 4 \
    --run_name "$1-test-t1x4" --results_dir "$WORK/results" "${EVAL[@]}"
}

# extract_all SRC [SPECS]: each LoRA of SPECS (default EXTRACTS) from the full model $WORK/SRC, each then evaluated
# (SAMPLED=1: sampled too). A spec is RANK:EMBED_RANK, or bMB[:FLOOR]: each matrix its own rank, at least FLOOR
# (64), within MB (--budget_mb).
extract_all() {
  local src=$1 spec r e name flags mb floor
  local specs; read -r -a specs <<<"${2:-${EXTRACTS[*]}}"
  for spec in "${specs[@]}"; do
    if [[ $spec == b* ]]; then
      mb=${spec#b}; floor=64; [[ $mb == *:* ]] && { floor=${mb##*:}; mb=${mb%%:*}; }
      name="$src-b$mb"; [ "$floor" = 64 ] || name="$name""f$floor"
      flags="--budget_mb $mb --rank $floor"
    else
      r=${spec%%:*}; e=${spec##*:}; name="$src-r$r"; [ "$e" = "$r" ] || name="$name""e$e"
      flags="--rank $r --embed_rank $e"
    fi
    # shellcheck disable=SC2086
    ( step "extract-$name" python3 -m training.extract_lora --tuned "$WORK/$src" $flags --out "$WORK/$name" \
        && queue_parts "$name" && { evaluate "$name" "$WORK/$name" & [ -z "${SAMPLED:-}" ] || sampled "$name" "$WORK/$name"; wait; } ) &
  done
  wait
}

# queue_parts NAME: $WORK/NAME's adapter split into parts of PART_MB (12) MiB under $WORK/parts/NAME, queued for
# the calls that follow (each `wait` and `ship` carries the next ones into $OUT): weights leave the machine as soon
# as they exist, not in a last call that a lost machine never answers.
queue_parts() {
  local dir=$WORK/$1 p
  mkdir -p "$WORK/parts/$1"
  (cd "$dir" && sha256sum adapter_model.safetensors) >"$dir/adapter_model.sha256"
  split -b "${PART_MB:-12}M" -d -a 2 "$dir/adapter_model.safetensors" "$WORK/parts/$1/$1.adapter_model.safetensors.part-"
  for p in "$WORK/parts/$1"/*; do echo "$p" >>"$WORK/ship_queue"; done
  log "queued $1: $(ls "$WORK/parts/$1" | wc -l) parts, sha256 $(cut -d' ' -f1 "$dir/adapter_model.sha256")"
}

# ship_parts: the next queued parts into $OUT, as many as fit beside what $OUT holds (8 files, 64 MiB)
ship_parts() {
  touch "$WORK/ship_queue" "$WORK/shipped"
  local used files p size
  used=$(du -cb "$OUT" | tail -n 1 | cut -f1); files=$(find "$OUT" -type f | wc -l)
  while read -r p; do
    grep -qxF "$p" "$WORK/shipped" && continue
    size=$(stat -c %s "$p")
    (( files < 8 && used + size < 63 * 1048576 )) || break
    cp "$p" "$OUT/"; echo "$p" >>"$WORK/shipped"; used=$((used + size)); files=$((files + 1))
    echo "shipped $(basename "$p") ($size bytes)"
  done <"$WORK/ship_queue"
  echo "parts left to ship: $(( $(sort -u "$WORK/ship_queue" | wc -l) - $(sort -u "$WORK/shipped" | wc -l) ))"
}

# fit_problems FLAGS: the problem count whose one epoch fits SFT_MINUTES at the speed the full recipe with FLAGS
# trains at, from a 24-step probe (the seconds between its steps 10 and 20), in thousands, within 1,000-FIT_MAX
# (60,000); empty if the probe fails. The data follows the minutes, so the time cap never cuts an epoch short.
fit_problems() {
  local flags=$1
  rm -rf "$WORK/probe"
  # shellcheck disable=SC2086
  step probe python3 training/sft.py --config "$SFT_FULL" --output_dir "$WORK/probe" $flags --num_train_problems 1600 \
    --max_steps 24 --save_strategy no --max_train_minutes 5 ${SMOKE_SFT:-} >&2 || return 0
  python3 - "$WORK/probe" "${SFT_MINUTES:-8}" "${FIT_MAX:-60000}" <<'PY'
import json, sys
from pathlib import Path
probe, minutes, most = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
at = {r["step"]: r["elapsed_s"] for r in map(json.loads, open(probe / "training_log.jsonl")) if "elapsed_s" in r}
per_step = (at[20] - at[10]) / 10
args = json.loads((probe / "training_summary.json").read_text())["training_args"]
batch = args["per_device_train_batch_size"] * args["gradient_accumulation_steps"]
n = int(minutes * 60 * 0.95 / per_step) * batch // 1000 * 1000  # 5% for the save and the longest batches
print(f"probe: {per_step:.3f} s a step of {batch} -> {n} problems in {minutes} min", file=sys.stderr)
print(min(max(n, 1000), most))
PY
}

# watch_checkpoints: while GRPO runs, each complete checkpoint it saves (trainer_state.json written) is copied out
# without its optimizer state (save_total_limit keeps only the newest) and evaluated on the three splits as
# grpo-stepN: the curve says which step to keep, and step 3 takes the best of them and the final model.
watch_checkpoints() {
  local ck step out
  while pgrep -f "training/grpo.py" >/dev/null; do
    for ck in "$WORK"/grpo/checkpoint-*; do
      [ -f "$ck/trainer_state.json" ] || continue
      step=${ck##*-}; out="$WORK/grpo-step$step"
      [ -e "$out" ] && continue
      mkdir -p "$out"
      find "$ck" -maxdepth 1 -type f \( -name '*.json' -o -name '*.safetensors' -o -name '*.jinja' \) \
        ! -name 'trainer_state.json' -exec cp {} "$out/" \;
      log "checkpoint $step copied to $out"
      evaluate "grpo-step$step" "$out" || true
    done
    sleep 10
  done
}

sft_and_eval() {
  local name=$1 recipe=$2 flags=$3
  # shellcheck disable=SC2086
  step "$name" python3 training/sft.py --config "$recipe" --output_dir "$WORK/$name" --max_train_minutes "${SFT_MINUTES:-8}" \
    $flags ${SMOKE_SFT:-} && evaluate "$name" "$WORK/$name"
}

# best_run PREFIX: the run named PREFIX* (its results PREFIX*-SPLIT-greedy) with the best mean of its three greedy
# scores: "sft-" for the best SFT, "grpo" for the best GRPO model (the final one or a grpo-stepN checkpoint)
best_run() {
  python3 - "$WORK/results" "$1" <<'PY'
import json, sys
from pathlib import Path
root = Path(sys.argv[1]); best = None
for run in sorted({p.name.rsplit("-", 2)[0] for p in root.glob(f"{sys.argv[2]}*-greedy")}):
    scores = []
    for split in ("test", "hard", "names"):
        m = root / f"{run}-{split}-greedy" / "metrics.json"
        if not m.is_file():
            break
        scores.append(json.loads(m.read_text())["mean_score"])
    if len(scores) == 3:
        mean = sum(scores) / 3
        print(f"{run}: test {scores[0]:.2f} hard {scores[1]:.2f} names {scores[2]:.2f} mean {mean:.2f}", file=sys.stderr)
        if best is None or mean > best[1]:
            best = (run, mean)
print(best[0] if best else "")
PY
}

plan() {
  local deadline=$1
  log "plan starts; ends by $(date -d "@$deadline" +%H:%M:%S)"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | tee -a "$WORK/logs/plan.log" || true
  step provision python3 -m models.provision --gguf "$GGUF" || return 1

  # 0: a shipped adapter (GRPO_FROM or SFT_FROM) merged into a full model: GRPO's start (no SFT) or the SFT runs';
  # a plain LoRA (one vLLM's LoRA serves as it is: no embedding factors, no modules_to_save) given as GRPO_FROM is
  # GRPO's start as that adapter, which GRPO keeps training (the LoRA recipe, --init_adapter)
  # (and an ablation entry's "--init_adapter FROM" is that LoRA too: more SFT of it)
  local plain_lora=""
  if [ -n "$FROM" ] && python3 -c "import sys; from models.generation import adapter_needs_merge; sys.exit(bool(adapter_needs_merge(sys.argv[1])))" "$FROM"; then
    plain_lora=1
    mkdir -p "$WORK/start-lora"
    cp "$FROM/adapter_config.json" "$FROM/adapter_model.safetensors" "$WORK/start-lora/"
    log "$FROM is a plain LoRA: training continues it as one (start-lora)"
  fi
  if [ -n "$FROM" ] && { [ -z "$plain_lora" ] || { [ -z "${GRPO_FROM:-}" ] && [[ "${ABLATION[*]}" == *"--model_name_or_path FROM"* ]]; }; }; then
    step merge python3 - "$FROM" "$WORK/start-full" <<'PY' || return 1
import shutil, sys
from models.generation import merged_adapter_folder
from models.loading import resolve_model_path
from models.specs import ModelSpec
folder = merged_adapter_folder(ModelSpec(model="smollm2-135m-instruct", adapter=sys.argv[1]), resolve_model_path("smollm2-135m-instruct"))
shutil.copytree(folder, sys.argv[2], dirs_exist_ok=True)
print(f"merged {sys.argv[1]} into {sys.argv[2]}")
PY
  fi
  # The start (e.g. the shipped adapter from its checkpoints/ path) with the decode step in one CUDA graph (issue 15's
  # first-call figure), alone on the GPU so that its wall time is its own; paired later with the committed runs.
  if [ -n "$FROM" ] && [ -n "${GRAPH_EVAL:-}" ]; then
    SCHEDULER_DECODE_STEP=graph step eval-graph python3 -m eval.run \
      --model smollm2-135m-instruct --adapter "$FROM" --split test,hard,names \
      --run_name "$GRAPH_EVAL-{split}-greedy-graph" --results_dir "$WORK/results" "${EVAL[@]}" || true
  fi

  # 1: the ablation, side by side
  local pids=() entry name recipe flags
  for entry in "${ABLATION[@]}"; do
    [ -z "${GRPO_FROM:-}" ] || break
    IFS='|' read -r name recipe flags extra <<<"$entry"
    flags=${flags//--model_name_or_path FROM/--model_name_or_path $WORK/start-full}
    flags=${flags//--init_adapter FROM/--init_adapter $WORK/start-lora}
    # NUM_PROBLEMS: the entry's problem count, and the nNk of its name, sized to the device time the session has left
    if [ -n "${NUM_PROBLEMS:-}" ] && [[ $flags =~ --num_train_problems\ [0-9]+ ]]; then
      flags=${flags/${BASH_REMATCH[0]}/--num_train_problems $NUM_PROBLEMS}
      [[ $name =~ -n[0-9]+k ]] && name=${name/${BASH_REMATCH[0]}/-n$((NUM_PROBLEMS / 1000))k}
    fi
    [[ -z "${ONLY:-}" || " $ONLY " == *" $name "* ]] || continue
    local fallback="--per_device_train_batch_size 8 --gradient_accumulation_steps 4 --num_train_problems 20000 ${extra:-}"
    local fb_name="${name/FIT/n20k}-fb"  # the fallback's name says what it ran
    if [[ $flags == *FIT* ]]; then
      local n; n=$(fit_problems "${flags/--num_train_problems FIT/}" 2>>"$WORK/logs/plan.log")
      if [ -n "$n" ]; then
        flags=${flags/FIT/$n}; name=${name/FIT/n$((n / 1000))k}
      else
        flags=$fallback; name=$fb_name; log "the probe failed: the fallback"
      fi
      log "fitted: $name ($flags)"
    fi
    # A fitted run that dies in its first five minutes is made again as the fallback.
    ( t0=$SECONDS
      sft_and_eval "$name" "$recipe" "$flags" && exit 0
      [[ $entry == *FIT* && $name != "$fb_name" ]] && (( SECONDS - t0 < 300 )) || exit 1
      log "$name failed early: again as $fb_name"; rm -rf "${WORK:?}/$name"
      sft_and_eval "$fb_name" "$recipe" "$fallback" ) &
    pids+=($!)
  done
  wait "${pids[@]}" || true

  # 2: GRPO from the best (or from the merged GRPO_FROM)
  local best; best=$(best_run sft- 2>>"$WORK/logs/plan.log")
  if [ -n "${GRPO_FROM:-}" ]; then best=start-full; [ -n "$plain_lora" ] && best=start-lora; fi
  [ -n "$best" ] || { log "no SFT run was evaluated on all three splits: no GRPO"; return 1; }
  local minutes=$(( (deadline - $(date +%s)) / 60 - ${FINAL_EVAL_RESERVE:-4} ))
  (( minutes >= 1 )) || minutes=1
  log "best SFT: $best; GRPO for $minutes min"
  echo "$best" >"$WORK/best_sft"
  # The best SFT's shippable forms first (alongside GRPO): they survive a plan cut short.
  # With NO_GRPO they are the candidates to ship: sampled on test too. A LoRA SFT is its own shippable form.
  if [ "$best" = start-lora ]; then :  # the repo has its weights
  elif [ -f "$WORK/$best/adapter_model.safetensors" ]; then queue_parts "$best" || true
  elif [ -z "${GRPO_FROM:-}" ]; then SAMPLED=${NO_GRPO:+1} extract_all "$best" &
  fi
  if [ -n "${NO_GRPO:-}" ]; then
    log "GRPO skipped (NO_GRPO is set)"
  elif [ -f "$WORK/$best/adapter_model.safetensors" ]; then
    # shellcheck disable=SC2086
    # the recipe's dtype (bf16 base, fp32 LoRA weights): session 17's GRPO of the shipped LoRA ran so
    step grpo python3 training/grpo.py --config "$GRPO_LORA" --init_adapter "$WORK/$best" \
      --output_dir "$WORK/grpo" --max_train_minutes "$minutes" ${GRPO_FLAGS:-} ${SMOKE_GRPO:-} || true
  else
    # shellcheck disable=SC2086
    step grpo python3 training/grpo.py --config "$GRPO_FULL" --model_name_or_path "$WORK/$best" \
      --output_dir "$WORK/grpo" --max_train_minutes "$minutes" ${GRPO_FLAGS:-} ${SMOKE_GRPO:-} &
    local grpo_pid=$!
    sleep 5; watch_checkpoints &
    local watch_pid=$!
    wait "$grpo_pid" || true
    wait "$watch_pid" || true
  fi

  # 3: what could ship, measured as it would ship
  local done_grpo=""; [ -f "$WORK/grpo/training_summary.json" ] && done_grpo=1
  if [ -f "$WORK/$best/adapter_model.safetensors" ]; then
    if [ -n "$done_grpo" ]; then
      queue_parts grpo || true
      evaluate grpo "$WORK/grpo" &
      sampled grpo "$WORK/grpo" &
    fi
    sampled "$best" "$WORK/$best" || true
  elif [ -n "$done_grpo" ]; then
    evaluate grpo "$WORK/grpo" || true
    local pick; pick=$(best_run grpo 2>>"$WORK/logs/plan.log")
    log "best GRPO model: ${pick:-grpo} (of the final model and its checkpoints)"
    SAMPLED=1 extract_all "${pick:-grpo}" "$EXTRACTS_GRPO" &
  fi
  wait || true
  # 4: the engine's GPU figures (scripts/gpu_bench.sh), alone on the GPU once the model work is done
  [ -z "${BENCH:-}" ] || step bench bash scripts/gpu_bench.sh || true
  # 4b: the shipped checkpoint from its checkpoints/ path with each decode step (scripts/gpu_checkpoint.sh, issue 15),
  # alone on the GPU; its runs and logs land in $WORK/results and $WORK/logs, which every bundle carries
  [ -z "${CHECKPOINT:-}" ] || OUT="$WORK/checkpoint-out" step checkpoint bash scripts/gpu_checkpoint.sh || true
  # 5: vLLM and unsloth (issue 16), their wheels staged by the calls made while the plan ran
  [ -z "${ENGINES:-}" ] || step engines bash scripts/gpu_engines.sh all "$best-${EXTRACTS[0]}" "$WORK/$best-${EXTRACTS[0]}" || true
  log "plan finished"
}

# bundle: results and logs (never weights) as tar parts of 15 MiB in $OUT
bundle() {
  rm -rf "$WORK/bundle"; mkdir -p "$WORK/bundle/runs"
  cp -r "$WORK/results" "$WORK/logs" "$WORK/bundle/"
  # every training output's record (summaries, logs, configs, extraction reports), never its weights
  for d in "$WORK"/sft-* "$WORK"/grpo "$WORK"/grpo-*; do
    [ -d "$d" ] || continue
    mkdir -p "$WORK/bundle/runs/$(basename "$d")"
    find "$d" -maxdepth 1 -type f \( -name '*.json' -o -name '*.jsonl' -o -name '*.md' -o -name '*.yaml' -o -name '*.sha256' \) \
      ! -name 'tokenizer*.json' -exec cp {} "$WORK/bundle/runs/$(basename "$d")/" \;
  done
  (cd "$WORK" && tar czf - bundle) | split -b 15M -d -a 2 - "$OUT/bundle.tgz.part-"
}

case ${1:-} in
  start)
    [ -f "$GGUF" ] || { echo "no GGUF at $GGUF: stage it first (../shared/tools/device-stage)"; exit 1; }
    deadline=$(( $(date +%s) + ${PLAN_MINUTES:-21} * 60 ))
    # The plan runs from its own copy: a later call re-syncs this tree under a running bash script.
    rm -rf "$WORK/repo"; mkdir -p "$WORK/repo"
    cp -r scheduler models training eval benchmarks recipes scripts checkpoints data "$WORK/repo/"
    # an adapter's weights travel apart from the tree (a call carries 64 MiB): staged, they go where the tree has its card
    # (an absolute FROM, e.g. a staged folder /root/stage/NAME, is used where it is)
    if [ -n "$FROM" ] && [[ $FROM != /* ]] && [ ! -f "$WORK/repo/$FROM/adapter_model.safetensors" ]; then
      cp /root/stage/adapter_model.safetensors "$WORK/repo/$FROM/" || { echo "stage $FROM's weights first"; exit 1; }
    fi
    # setsid -f: the plan leaves this call's session and output at once (a call waits for its output's end).
    (cd "$WORK/repo" && setsid -f nohup bash scripts/gpu_session.sh plan "$deadline" >>"$WORK/logs/plan.out" 2>&1 < /dev/null)
    sleep "${START_WAIT_S:-20}"; tail -n 8 "$WORK/logs/plan.log" ;;
  plan) plan "$2" ;;
  wait)
    running() { pgrep -f "gpu_session.sh plan" >/dev/null; }
    waited=0
    while running && [ "$waited" -lt "$WAIT_S" ]; do sleep 5; waited=$((waited + 5)); done
    running && log "plan still running after ${waited}s" || log "plan not running"
    tail -n 30 "$WORK/logs/plan.log" | cut -c1-600
    for f in "$WORK"/*/training_log.jsonl; do
      [ -f "$f" ] && echo "--- $f: $(wc -l <"$f") records; last: $(tail -n 1 "$f" | cut -c1-300)"
    done
    for m in "$WORK"/results/*/metrics.json; do
      [ -f "$m" ] && python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[1].split('/')[-2], d['valid'], round(d['mean_score'],2))" "$m"
    done
    nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null || true
    # what is done so far comes back with every wait: a machine lost between two calls loses no finished figure
    if [ -n "${OUT:-}" ]; then bundle; ship_parts; fi ;;
  ship)
    : "${OUT:?ship writes to \$OUT (set by the device call)}"
    ship_parts; tail -n 5 "$WORK/logs/plan.log" ;;
  bundle)
    : "${OUT:?bundle writes to \$OUT (set by the device call)}"
    bundle; ls -la "$OUT"; tail -n 40 "$WORK/logs/plan.log" ;;
  fetch)
    : "${OUT:?fetch writes to \$OUT (set by the device call)}"
    [ -f "$WORK/$2/adapter_model.safetensors" ] || { echo "no adapter in $WORK/$2"; exit 1; }
    [ -d "$WORK/parts/$2" ] || queue_parts "$2"
    ship_parts ;;
  *) sed -n '2,26p' "$0"; exit 2 ;;
esac
