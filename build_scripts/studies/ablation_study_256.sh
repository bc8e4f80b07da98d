#!/usr/bin/env bash
# The pseudo-hashing ablation at the whole-head 256 px setting (docs/ABLATION.md, "At 256 px"): vanilla I2SB
# (none) against the paper's cat, the same head256d network from scratch, the same faces, mixed degradation,
# objective (precond + step-matched times + OT-ODE + run-sized EMA) and images seen (1,000 steps of 8), one CPU
# thread each; then each model on all 300 CelebA-Test faces at 512 px, steps 1/4/16 (DISTS off: it is slow).
#   bash build_scripts/studies/ablation_study_256.sh RUNS_DIR [ARMS...]      (ARMS default: none cat)
# The data folder comes from build_scripts/prepare_head256_data.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:?runs folder}; shift || true
DATA=${DATA:-/work/data/head256}
HQ=${HQ:-../shared/data/celebahq-faces/eval}
TEMPLATE=${TEMPLATE:-resources/models/facebridge-pi2sb-none-256-v13.safetensors}  # the same aligned faces
SEED=${SEED:-0}
arms=("$@"); [ ${#arms[@]} -gt 0 ] || arms=(none cat)
mkdir -p "$RUNS"
train() {
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/facebridge train --data "$DATA" --preset head256d --image-size 256 \
    --degradation mixed --batch 8 --lr 3e-4 --warmup 50 --steps "${STEPS:-1000}" --ema-halflife 0.1 --log-every 20 \
    --ckpt-every 100 --sample-every 0 --objective bridge --param precond --time-sampling steps --ot-ode \
    --hashing "$1" --seed "$SEED" --out "$RUNS/$1-s$SEED" > "$RUNS/$1-s$SEED.train.log" 2>&1
  .venv/bin/facebridge export "$RUNS/$1-s$SEED" -o "$RUNS/ablation256-$1-s$SEED.safetensors" \
    --template-model "$TEMPLATE" --steps 4 >> "$RUNS/$1-s$SEED.train.log" 2>&1
  OMP_NUM_THREADS=1 .venv/bin/facebridge eval --protocol celeba-test --hq "$HQ" \
    --model "$RUNS/ablation256-$1-s$SEED.safetensors" --steps 1,4,16 --no-dists \
    --out "$RUNS/ablation256-$1-s$SEED.json" > "$RUNS/ablation256-$1-s$SEED.md"
}
pids=()
for arm in "${arms[@]}"; do train "$arm" & pids+=($!); done  # the arms run side by side, one thread each
for pid in "${pids[@]}"; do wait "$pid"; done  # a bare `wait` would report success when an arm failed
echo "trained and scored: ${arms[*]} in $RUNS"
