#!/usr/bin/env bash
# Score models at mild/moderate/severe with `facebridge eval` (steps 1/2/4/8/16), two at a time, one thread each.
#   LIMIT=100 OUT=docs/eval/objective-study bash build_scripts/studies/evaluate_arms.sh MODEL.safetensors...
# Writes OUT/<model name>-<level>.json and .md.
set -euo pipefail
cd "$(dirname "$0")/../.."
HQ=${HQ:-../shared/data/utkface-aligned-200/eval}
OUT=${OUT:-docs/eval/objective-study}
LIMIT=${LIMIT:-100}
STEPS=${STEPS:-1,2,4,8,16}
mkdir -p "$OUT"
score() {
  local model=$1 level=$2 name
  name=$(basename "$model" .safetensors)-$level
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/facebridge eval --hq "$HQ" --model "$model" --degradation "$level" \
    --steps "$STEPS" --limit "$LIMIT" --out "$OUT/$name.json" > "$OUT/$name.md" 2>/dev/null
  echo "scored $name"
}
jobs_list=()
for model in "$@"; do for level in mild moderate severe; do jobs_list+=("$model $level"); done; done
for ((i = 0; i < ${#jobs_list[@]}; i += 2)); do
  # shellcheck disable=SC2086
  score ${jobs_list[i]} &
  # shellcheck disable=SC2086
  if [ $((i + 1)) -lt ${#jobs_list[@]} ]; then score ${jobs_list[i+1]} & fi
  wait
done
