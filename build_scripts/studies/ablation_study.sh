#!/usr/bin/env bash
# The pseudo-hashing ablation (docs/ABLATION.md): vanilla I2SB (none), cat, res and the same-size regression
# baseline, two seeds each, every run the same network, data, degradations, images seen (fixed --steps) and
# objective (the objective study's winner, arm F: precond + step-matched times + OT-ODE + run-sized EMA).
# Runs go one after another on one CPU thread each, so wall time per run is comparable too.
#   bash build_scripts/studies/ablation_study.sh RUNS_DIR [RUN_NAMES...]      e.g. RUN_NAMES: cat-s0 regression-s1
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:?runs folder}; shift || true
DATA=${DATA:-../shared/data/utkface-aligned-200}
STEPS=${STEPS:-1000}
mkdir -p "$RUNS"
common=(--data "$DATA/train" --preset small --batch 8 --lr 3e-4 --warmup 50 --steps "$STEPS" --ema-halflife 0.1
        --log-every 20 --ckpt-every 100 --sample-every 0)
bridge=(--objective bridge --param precond --time-sampling steps --ot-ode)
arm_args() {
  case $1 in
    none|cat|res) echo "${bridge[*]} --hashing $1" ;;
    regression) echo "--objective regression --pixel-loss mse" ;;
    *) echo "unknown arm $1" >&2; return 1 ;;
  esac
}
names=("$@"); [ ${#names[@]} -gt 0 ] || names=(none-s0 cat-s0 res-s0 regression-s0 none-s1 cat-s1 res-s1 regression-s1)
for name in "${names[@]}"; do
  arm=${name%-s*}; seed=${name##*-s}
  # shellcheck disable=SC2046
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/facebridge train "${common[@]}" $(arm_args "$arm") --seed "$seed" \
    --out "$RUNS/$name" > "$RUNS/$name.train.log" 2>&1
  .venv/bin/facebridge export "$RUNS/$name" -o "$RUNS/ablation-$name.safetensors" --template-samples 100 --steps 4 \
    >> "$RUNS/$name.train.log" 2>&1
  echo "trained $name"
done
