#!/usr/bin/env bash
# Evaluate the shipped model and the baselines on the UTKFace eval split; tables go to docs/eval/.
#   bash build_scripts/evaluate_model.sh MODEL REGRESSION_BASELINE EQUAL_BUDGET_BRIDGE
# Two evaluation streams run side by side, one CPU thread each.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-resources/models/facebridge-pi2sb-cat-128.safetensors}
REG=${2:-}
EQ=${3:-}
HQ=${HQ:-../shared/data/utkface-aligned-200/eval}
OUT=docs/eval
mkdir -p "$OUT"
fb() { OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/facebridge eval --hq "$HQ" "$@"; }
run() { local name=$1; shift; fb "$@" --out "$OUT/$name.json" > "$OUT/$name.md" 2>/dev/null; echo "done $name"; }
N=${LIMIT:-100}
(
  run moderate-i2sb --model "$MODEL" --degradation moderate --steps 1,2,4,8,16,100 --limit "$N"
  run mild-i2sb --model "$MODEL" --degradation mild --steps 1,4,16 --limit "$N"
  run moderate-i3sb --model "$MODEL" --degradation moderate --sampler i3sb --eta 0.6 --steps 2,4,16 --limit "$N" --no-identity
) &
(
  run moderate-all300 --model "$MODEL" --degradation moderate --steps 1,4
  run severe-i2sb --model "$MODEL" --degradation severe --steps 1,4,16 --limit "$N"
  run mild-i3sb --model "$MODEL" --degradation mild --sampler i3sb --eta 0.6 --steps 4,16 --limit "$N" --no-identity
  run severe-i3sb --model "$MODEL" --degradation severe --sampler i3sb --eta 0.6 --steps 4,16 --limit "$N" --no-identity
  if [ -n "$REG" ]; then
    for lv in moderate mild severe; do run "regression-$lv" --model "$REG" --degradation $lv --limit "$N"; done
  fi
  if [ -n "$EQ" ]; then run equal-budget-bridge --model "$EQ" --degradation moderate --steps 1,4 --limit "$N"; fi
) &
wait
