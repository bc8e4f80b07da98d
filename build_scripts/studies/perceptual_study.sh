#!/usr/bin/env bash
# The equal-budget loss study of issue #32: four arms fine-tuned from the same whole-head model for the same
# wall-clock time, all four at once on one machine (one thread each): MSE alone, + LPIPS-VGG, + a patch GAN,
# + both. Then each exported and scored on the peers' protocol (CelebA-Test recipe, 512 px, whole-photo path)
# at the default step count, reusing the init model's degraded-input row.
#   INIT=resources/models/preview/facebridge-pi2sb-none-256-v6.safetensors DATA=/work/data/head256 \
#   RUNS=/work/runs/study32 MINUTES=65 bash build_scripts/studies/perceptual_study.sh [train|score|table]
# DATA: celebahq-faces/train plus the aligned webmorph faces (docs/TRAINING.md, "The whole-head 256 px model").
set -euo pipefail
cd "$(dirname "$0")/../.."
INIT=${INIT:-resources/models/preview/facebridge-pi2sb-none-256-v6.safetensors}
DATA=${DATA:-/work/data/head256}
RUNS=${RUNS:-/work/runs/study32}
MINUTES=${MINUTES:-65}
OUT=${OUT:-docs/eval/perceptual-study}
REUSE=${REUSE:-docs/eval/celeba-test/v6.json}
ARMS=(mse lpips gan both)
extra() {
  case $1 in
    mse) echo "" ;;
    lpips) echo "--perceptual 1.0" ;;
    gan) echo "--gan 0.1" ;;
    both) echo "--perceptual 1.0 --gan 0.1" ;;
  esac
}
train() {
  mkdir -p "$RUNS"
  for arm in "${ARMS[@]}"; do
    # shellcheck disable=SC2046
    OMP_NUM_THREADS=1 .venv/bin/facebridge train --data "$DATA" --out "$RUNS/$arm" --preset head256 --image-size 256 \
      --degradation wide --hashing none --batch 8 --lr 5e-5 --warmup 50 --param precond --time-sampling steps \
      --ema-halflife 0.1 --ot-ode --steps 40000 --schedule time --minutes "$MINUTES" --log-every 20 \
      --ckpt-every 50 --sample-every 400 --seed 0 --init "$INIT" $(extra "$arm") > "$RUNS/$arm.log" 2>&1 &
  done
  wait
}
score() {
  mkdir -p "$OUT"
  for arm in "${ARMS[@]}"; do
    .venv/bin/facebridge export "$RUNS/$arm" -o "$RUNS/$arm.safetensors" \
      --template-from ../shared/data/celebahq-faces/train --steps 8 > /dev/null
    cp "$RUNS/$arm/log.jsonl" "$OUT/$arm-train.jsonl"
  done
  # two at a time, one thread each
  for pair in "mse lpips" "gan both"; do
    for arm in $pair; do
      OMP_NUM_THREADS=1 .venv/bin/facebridge eval --protocol celeba-test --hq ../shared/data/celebahq-faces/eval \
        --model "$RUNS/$arm.safetensors" --steps 8 --dists-limit 100 --reuse-input "$REUSE" \
        --out "$OUT/$arm.json" > "$OUT/$arm.md" &
    done
    wait
  done
}
table() {
  .venv/bin/python - "$OUT" "$REUSE" "${ARMS[@]}" <<'EOF'
import json, sys
from pathlib import Path
out, start, arms = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
print("| arm | images seen | steps | PSNR | SSIM | LPIPS | DISTS | identity |")
print("|---|---|---|---|---|---|---|---|")
for row in json.loads(start.read_text())["rows"]:
    if row["steps"] == 8:  # where every arm starts from
        print(f"| start ({start.stem}) | - | 8 | {row['psnr']:.2f} | {row['ssim']:.3f} | {row['lpips']:.3f} | "
              f"{row['dists']:.3f} | {row['identity']:.3f} |")
first = True
for arm in arms:
    d = json.loads((out / f"{arm}.json").read_text())
    log = [json.loads(l) for l in (out / f"{arm}-train.jsonl").read_text().splitlines() if l.strip()]
    for row in d["rows"]:
        if row["steps"] == 0 and not first:
            continue
        name = "degraded input" if row["steps"] == 0 else arm
        seen = "" if row["steps"] == 0 else f"{log[-1]['images_seen']:,}"
        dists = f"{row['dists']:.3f}" if row.get("dists") is not None else "-"
        print(f"| {name} | {seen} | {row['steps'] or '-'} | {row['psnr']:.2f} | {row['ssim']:.3f} | "
              f"{row['lpips']:.3f} | {dists} | {row['identity']:.3f} |")
    first = False
EOF
}
case ${1:-all} in
  train) train ;;
  score) score ;;
  table) table ;;
  all) train; score; table ;;
esac
