#!/usr/bin/env bash
# The equal-budget objective study (docs/TRAINING.md): each arm trains for the same wall time on one CPU
# thread, two arms side by side, then every arm is scored by `facebridge eval`.
#   bash build_scripts/studies/objective_study.sh RUNS_DIR [MINUTES] [ARMS...]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:?runs folder}; MIN=${2:-12}; shift 2 || true
DATA=${DATA:-../shared/data/utkface-aligned-200}
mkdir -p "$RUNS"
common=(--data "$DATA/train" --preset small --batch 8 --lr 3e-4 --warmup 50 --minutes "$MIN" --log-every 20
        --ckpt-every 100 --sample-every 0 --seed 0)
# steps = the cosine schedule's length, sized to what each arm reaches in the budget (measured images/s)
declare -A ARM=(
  [A-eps]="--param eps --ema 0.999 --steps 900"
  [B-precond]="--param precond --ema-halflife 0.1 --steps 900"
  [C-precond-steps]="--param precond --time-sampling steps --ema-halflife 0.1 --steps 900"
  [D-precond-steps-lpips]="--param precond --time-sampling steps --ema-halflife 0.1 --perceptual 1.0 --steps 450"
  [F-precond-steps-ode]="--param precond --time-sampling steps --ema-halflife 0.1 --ot-ode --steps 900"
  [G-precond-steps-ode-lpips]="--param precond --time-sampling steps --ema-halflife 0.1 --ot-ode --perceptual 1.0 --steps 450"
  [H-regression-mse]="--objective regression --pixel-loss mse --ema-halflife 0.1 --steps 900"
  [E-regression-lpips]="--objective regression --pixel-loss mse --ema-halflife 0.1 --perceptual 1.0 --steps 500"
)
train_arm() {
  local name=$1
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/facebridge train "${common[@]}" ${ARM[$name]} \
    --out "$RUNS/$name" > "$RUNS/$name.train.log" 2>&1
  .venv/bin/facebridge export "$RUNS/$name" -o "$RUNS/$name.safetensors" --template-samples 100 --steps 1 \
    >> "$RUNS/$name.train.log" 2>&1
  echo "trained $name"
}
arms=("$@"); [ ${#arms[@]} -gt 0 ] || arms=(A-eps B-precond C-precond-steps D-precond-steps-lpips E-regression-lpips F-precond-steps-ode
  G-precond-steps-ode-lpips H-regression-mse)
for ((i = 0; i < ${#arms[@]}; i += 2)); do
  train_arm "${arms[i]}" &
  if [ $((i + 1)) -lt ${#arms[@]} ]; then train_arm "${arms[i+1]}" & fi
  wait
done
