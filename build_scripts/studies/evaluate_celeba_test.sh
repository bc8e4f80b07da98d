#!/usr/bin/env bash
# Score a model on the peers' protocol: the 300 celebahq-faces/eval images at 512 px, degraded by GFPGAN's
# CelebA-Test recipe (seeded per image), restored through the whole-photo path, steps 1/2/4/8/16; PSNR, SSIM,
# LPIPS and identity on all images, DISTS on the first DISTS_LIMIT at the input and the default step count.
#   bash build_scripts/studies/evaluate_celeba_test.sh [MODEL]      -> docs/eval/celeba-test/<version>.json/.md
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:-resources/models/$(.venv/bin/python -c "from engine.cli.paths import MODEL_NAME; print(MODEL_NAME)")}
HQ=${HQ:-../shared/data/celebahq-faces/eval}
NAME=$(basename "$MODEL" .safetensors)
OUT=${OUT:-docs/eval/celeba-test}
mkdir -p "$OUT"
.venv/bin/facebridge eval --protocol celeba-test --hq "$HQ" --model "$MODEL" --steps "${STEPS:-1,2,4,8,16}" \
  --dists-limit "${DISTS_LIMIT:-100}" ${REUSE_INPUT:+--reuse-input "$REUSE_INPUT"} --out "$OUT/${NAME##*-}.json" > "$OUT/${NAME##*-}.md"
echo "wrote $OUT/${NAME##*-}.md"
