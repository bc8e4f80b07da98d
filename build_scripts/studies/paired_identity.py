"""Paired identity comparison of two or more `facebridge eval --protocol celeba-test` results on the same input.

Identity distances differ far more between faces than between models, so two models' means are compared face by
face: the mean of (candidate - reference) over the faces both describe, its standard error, and the share of faces
the candidate brings closer to the person. Negative is better. Compares the reference model's default-step row
(or --steps) with the same step count of each candidate.

    .venv/bin/python build_scripts/studies/paired_identity.py docs/eval/celeba-test/v9.json CAND.json [...]

A candidate scored with `facebridge eval --limit N` saw the reference's first N images under the same seeded
degradation: `--first N` compares those N of each.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def step_row(result: dict, steps: int) -> dict:
    for row in result["rows"]:
        if row["steps"] == steps:
            return row
    raise ValueError(f"{result.get('model', '?')}: no {steps}-step row (has {[r['steps'] for r in result['rows']]})")


def paired(reference: list, candidate: list) -> dict:
    """Mean, standard error and share closer of candidate - reference, over the faces both describe."""
    if len(reference) != len(candidate):
        raise ValueError(f"not the same images: {len(reference)} against {len(candidate)} faces")
    diffs = [c - r for r, c in zip(reference, candidate) if r is not None and c is not None]
    if len(diffs) < 2:
        raise ValueError("fewer than two faces described by both")
    n = len(diffs)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    return {"faces": n, "mean": mean, "se": sd / math.sqrt(n), "closer": sum(d < 0 for d in diffs) / n}


def compare(reference: dict, candidates: list[dict], steps: int, first: int | None = None) -> list[dict]:
    ref = step_row(reference, steps)["identity_per_image"][:first]
    out = []
    for cand in candidates:
        row = step_row(cand, steps)
        out.append({"model": cand.get("model", "?"), "steps": steps,
                    **{k: row.get(k) for k in ("psnr", "ssim", "lpips", "dists", "identity")},
                    **paired(ref, row["identity_per_image"][:first])})
    return out


def _load(path: str) -> dict:
    return json.loads(Path(path).read_text())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reference")
    ap.add_argument("candidates", nargs="+")
    ap.add_argument("--steps", type=int, default=8, help="step count to compare (default 8, the shipped default)")
    ap.add_argument("--first", type=int, help="compare only the first N images of each (candidates run with --limit N)")
    args = ap.parse_args(argv)
    try:
        rows = compare(_load(args.reference), [_load(p) for p in args.candidates], args.steps, args.first)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"paired identity against {args.reference} at {args.steps} steps (negative: closer to the person)")
    for r in rows:
        metrics = "  ".join(f"{k} {r[k]:.4f}" for k in ("psnr", "ssim", "lpips", "dists", "identity") if r[k] is not None)
        print(f"{r['model']}: {metrics}  |  paired {r['mean']:+.4f} +- {r['se']:.4f} over {r['faces']} faces, "
              f"closer on {r['closer']:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
