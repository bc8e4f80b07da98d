"""Join two or more `facebridge eval --protocol celeba-test` results of one model on the same input (the same
images, seed and degraded-input row, e.g. 8 steps with DISTS in one run and the other step counts in another)
into one result: every step row once, sorted, identity re-averaged over the images described in every row.

    .venv/bin/python build_scripts/studies/merge_eval.py A.json B.json --out docs/eval/celeba-test/vN.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine.evaluation.photo_protocol import common_identity, markdown_table  # noqa: E402

SAME = ("model", "model_size", "protocol", "images", "faces_found", "faces_restored")


def merge(results: list[dict]) -> dict:
    first = results[0]
    for other in results[1:]:
        differ = [k for k in SAME if other.get(k) != first.get(k)]
        if differ or other["config"]["seed"] != first["config"]["seed"]:
            raise ValueError(f"not the same model and input: {differ or ['seed']} differ")
    rows, seen = [first["rows"][0]], set()
    for r in sorted((r for res in results for r in res["rows"][1:]), key=lambda r: (r["steps"] == 0, r["steps"])):
        key = (r["name"], r["steps"])
        if key in seen:
            raise ValueError(f"row {r['name']!r} is in more than one result")
        seen.add(key)
        rows.append(r)
    merged = {**first, "rows": rows}
    merged["config"] = {**first["config"], "steps": sorted({s for res in results for s in res["config"]["steps"]})}
    merged["dists_images"] = max(res.get("dists_images", 0) for res in results)
    merged["identity_images"] = common_identity(rows)
    return merged


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+")
    ap.add_argument("--out", required=True, help="merged JSON; the table goes beside it as .md")
    args = ap.parse_args(argv)
    merged = merge([json.loads(Path(p).read_text()) for p in args.results])
    out = Path(args.out)
    out.write_text(json.dumps(merged, indent=2))
    out.with_suffix(".md").write_text(markdown_table(merged))
    print(markdown_table(merged))
    return 0


if __name__ == "__main__":
    sys.exit(main())
