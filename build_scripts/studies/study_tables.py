"""Markdown tables from `facebridge eval` JSON files named <arm>-<level>.json (the objective study).

    .venv/bin/python build_scripts/studies/study_tables.py docs/eval/objective-study [--logs docs/eval/objective-study/logs]

Prints, per level, one row per arm and step count (PSNR, SSIM, LPIPS, DISTS, identity), and with --logs the
training loss per tenth of bridge time at the end of each run (from the runs' log.jsonl, copied as <arm>.jsonl).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

LEVELS = ("mild", "moderate", "severe")


def load(folder: Path) -> dict[tuple[str, str], dict]:
    out = {}
    for path in sorted(folder.glob("*.json")):
        arm, _, level = path.stem.rpartition("-")
        if level in LEVELS:
            out[(arm, level)] = json.loads(path.read_text())
    return out


def level_table(results: dict, level: str) -> str:
    lines = [f"**{level}**", "", "| arm | steps | PSNR | SSIM | LPIPS | DISTS | identity |", "|---|---|---|---|---|---|---|"]
    arms = sorted(a for a, lv in results if lv == level)
    shown_input = False
    for arm in arms:
        for row in results[(arm, level)]["rows"]:
            if row["steps"] == 0:
                if shown_input:
                    continue
                shown_input, name, steps = True, "degraded input", "-"
            else:
                name, steps = arm, str(row["steps"])
            lines.append(f"| {name} | {steps} | {row['psnr']:.2f} | {row['ssim']:.3f} | {row['lpips']:.3f} | "
                         f"{row.get('dists', float('nan')):.3f} | {row.get('identity', float('nan')):.3f} |")
    faces = {results[(a, level)]["faces"] for a in arms}
    return "\n".join(lines) + f"\n\n({', '.join(map(str, sorted(faces)))} faces)\n"


def loss_table(logs: Path) -> str:
    lines = ["| arm | images seen | wall s | loss per tenth of bridge time (t = 0 ... 1) |", "|---|---|---|---|"]
    for log in sorted(logs.glob("*.jsonl")):
        records = [json.loads(line) for line in log.read_text().splitlines()]
        last = records[-1]
        # average the last five logged windows: one window is only log_every steps
        tail = [r["loss_by_t"] for r in records[-5:] if r.get("loss_by_t")]
        if tail:
            cols = [sum(v[i] for v in tail if v[i] is not None) / max(1, sum(v[i] is not None for v in tail))
                    for i in range(len(tail[0]))]
            curve = " ".join(f"{c:.3f}" for c in cols)
        else:
            curve = f"(regression: loss {last['loss']:.3f})"
        lines.append(f"| {log.stem} | {last['images_seen']} | {last['wall_s']:.0f} | {curve} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--logs", type=Path, default=None)
    args = ap.parse_args()
    results = load(args.folder)
    for level in LEVELS:
        if any(lv == level for _, lv in results):
            print(level_table(results, level))
    if args.logs:
        print(loss_table(args.logs))


if __name__ == "__main__":
    main()
