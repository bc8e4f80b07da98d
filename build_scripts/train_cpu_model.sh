#!/usr/bin/env bash
# Train (or resume) the shipped CPU model with the objective the study picked (docs/TRAINING.md).
#   PROCS=2 MINUTES=75 [HASHING=cat] [INIT=model.safetensors] bash build_scripts/train_cpu_model.sh RUN_DIR
# MINUTES is the run's total wall-clock budget (it carries across resumes). PROCS=1 trains in one process;
# PROCS=2 uses two DDP processes of one thread each (faster than one process with two threads on this
# 2-core machine). Resume is exact whatever PROCS was before: the global batch and its noise are the same.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:?run folder}
PROCS=${PROCS:-2}
DATA=${DATA:-../shared/data/utkface-aligned-200}
TRAIN_DATA=${TRAIN_DATA:-$DATA/train}  # the whole-head model: a folder with celebahq-faces/train and aligned webmorph
#   (build it with: .venv/bin/python build_scripts/prepare_head256_data.py --out /work/data/head256)
PRESET=${PRESET:-small}  # head256: the whole-head 256 px model (with SIZE=256 DEGRADATION=wide)
INIT=${INIT:-}
HASHING=${HASHING:-none}  # none (the ablation's winner, docs/ABLATION.md) | cat (models v1, v2) | res
args=(--data "$TRAIN_DATA" --out "$RUN" --preset "$PRESET" --image-size "${SIZE:-128}"
      --degradation "${DEGRADATION:-narrow}" --hashing "$HASHING" --batch 16 --lr 3e-4 --warmup 100
      --param precond --time-sampling steps --ema-halflife 0.1 --ot-ode --perceptual "${PERCEPTUAL:-0}"
      --steps "${STEPS:-2500}" --minutes "${MINUTES:-60}" --log-every 20 --ckpt-every 50 --sample-every 200 --seed 0)
[ -n "$INIT" ] && args+=(--init "$INIT")
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
if [ "$PROCS" -gt 1 ]; then
  exec .venv/bin/python -m torch.distributed.run --standalone --nproc_per_node="$PROCS" -m engine train "${args[@]}"
fi
exec .venv/bin/facebridge train "${args[@]}"
