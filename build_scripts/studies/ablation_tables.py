"""Markdown tables for docs/ABLATION.md from `facebridge eval` JSON named ablation-<arm>-s<seed>-<level>.json.

    .venv/bin/python build_scripts/studies/ablation_tables.py docs/eval/ablation [--logs docs/eval/ablation/logs]

Per level: one row per arm and step count with the mean over seeds and, after the ±, half the range between
seeds (the seed spread); the number of seeds scored is shown. With --logs: the training loss per tenth of
bridge time at the end of each run (study_tables.loss_table).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from study_tables import loss_table  # noqa: E402

NAME = re.compile(r"ablation-(?P<arm>[a-z]+)-s(?P<seed>\d+)-(?P<level>mild|moderate|severe)\.json")
METRICS = (("psnr", "PSNR", 2), ("ssim", "SSIM", 3), ("lpips", "LPIPS", 3), ("dists", "DISTS", 3), ("identity", "identity", 3))
ARMS = ("none", "cat", "res", "regression")


def load(folder: Path) -> dict:
    """{level: {arm: {steps: [row per seed]}}} and the degraded input's row per level."""
    table, inputs = defaultdict(lambda: defaultdict(lambda: defaultdict(list))), {}
    for path in sorted(folder.glob("ablation-*.json")):
        m = NAME.fullmatch(path.name)
        if not m:
            continue
        result = json.loads(path.read_text())
        for row in result["rows"]:
            if row["steps"] == 0:
                inputs[m["level"]] = row
            else:
                table[m["level"]][m["arm"]][row["steps"]].append(row)
    return table, inputs


def cell(rows: list, key: str, digits: int) -> str:
    values = [r[key] for r in rows if key in r]
    if not values:
        return "-"
    mean = sum(values) / len(values)
    spread = (max(values) - min(values)) / 2
    return f"{mean:.{digits}f} ± {spread:.{digits}f}" if len(values) > 1 else f"{mean:.{digits}f}"


def level_table(level: str, arms: dict, inp: dict) -> str:
    head = "| arm | steps | seeds | " + " | ".join(m[1] for m in METRICS) + " |"
    lines = [f"**{level}** (mean over seeds ± half their range)", "", head, "|---|---|---|" + "---|" * len(METRICS)]
    if inp:
        lines.append("| degraded input | - | - | " + " | ".join(f"{inp[k]:.{d}f}" if k in inp else "-" for k, _, d in METRICS) + " |")
    for arm in [a for a in ARMS if a in arms]:
        for steps in sorted(arms[arm]):
            rows = arms[arm][steps]
            lines.append(f"| {arm} | {steps} | {len(rows)} | " + " | ".join(cell(rows, k, d) for k, _, d in METRICS) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--logs", type=Path, default=None)
    ap.add_argument("--write", type=Path, default=None,
                    help="replace the text between '<!-- tables -->' and '<!-- /tables -->' in this Markdown file")
    args = ap.parse_args()
    table, inputs = load(args.folder)
    parts = [level_table(level, table[level], inputs.get(level, {})) for level in ("moderate", "severe", "mild")
             if level in table]
    if args.logs:
        parts.append("Training loss per tenth of bridge time at the end of each run (mean of the last five logged "
                     "windows; each arm's preconditioning normalises its own target, so scales differ between arms):"
                     "\n\n" + loss_table(args.logs))
    text = "\n".join(parts)
    if args.write:
        doc = args.write.read_text()
        head, _, rest = doc.partition("<!-- tables -->")
        _, _, tail = rest.partition("<!-- /tables -->")
        args.write.write_text(f"{head}<!-- tables -->\n{text}\n<!-- /tables -->{tail}")
    else:
        print(text)


if __name__ == "__main__":
    main()
