#!/usr/bin/env bash
# Evaluate the shipped model on all 300 UTKFace eval faces at mild/moderate/severe, steps 1/2/4/8/16, and
# the previous model at one step, moderate, for comparison; tables and JSON go to docs/eval/<version>/, the
# version being the model name's last part (v5 for facebridge-pi2sb-none-128-v5).
#   bash build_scripts/studies/evaluate_model.sh [MODEL] [PREVIOUS_MODEL]
# Three evaluation streams run side by side, one CPU thread each.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:-resources/models/$(.venv/bin/python -c "from engine.cli.paths import MODEL_NAME; print(MODEL_NAME)")}
PREV=${2:-}
HQ=${HQ:-../shared/data/utkface-aligned-200/eval}
NAME=$(basename "$MODEL" .safetensors)
OUT=${OUT:-docs/eval/${NAME##*-}}
STEPS=${STEPS:-1,2,4,8,16}
mkdir -p "$OUT"
fb() { OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/facebridge eval --hq "$HQ" "$@"; }
run() { local name=$1; shift; fb "$@" --out "$OUT/$name.json" > "$OUT/$name.md" 2>/dev/null; echo "done $name"; }
for level in moderate mild severe; do
  run "$level" --model "$MODEL" --degradation "$level" --steps "$STEPS" &
done
wait
if [ -n "$PREV" ]; then run previous-moderate --model "$PREV" --degradation moderate --steps 1; fi
