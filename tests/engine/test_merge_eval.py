"""build_scripts/studies/merge_eval.py: one table from two eval runs of the same model on the same input."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "build_scripts" / "studies"))
from merge_eval import merge  # noqa: E402


def result(steps, ids, dists_images=0, seed=0):
    base = {"model": "m.safetensors", "model_size": 256, "protocol": "p", "images": 3, "faces_found": 3,
            "faces_restored": 3, "config": {"seed": seed, "steps": list(steps)}, "dists_images": dists_images}
    rows = [{"name": "degraded input", "steps": 0, "identity_per_image": [0.5, None, 0.4]}]
    rows += [{"name": f"i2sb {s}", "steps": s, "identity_per_image": ids[s]} for s in steps]
    return {**base, "rows": rows}


def test_rows_are_joined_sorted_and_identity_reaveraged_over_faces_described_everywhere():
    a = result([8], {8: [0.3, 0.2, 0.3]}, dists_images=100)
    b = result([1, 16], {1: [0.4, 0.3, None], 16: [0.2, 0.1, 0.2]})
    m = merge([a, b])
    assert [r["steps"] for r in m["rows"]] == [0, 1, 8, 16] and m["config"]["steps"] == [1, 8, 16]
    assert m["identity_images"] == 1 and m["dists_images"] == 100  # only the first face is described in every row
    assert m["rows"][2]["identity"] == pytest.approx(0.3)


def test_refuses_different_inputs_and_duplicate_rows():
    with pytest.raises(ValueError, match="seed"):
        merge([result([8], {8: [0.1] * 3}), result([1], {1: [0.1] * 3}, seed=1)])
    with pytest.raises(ValueError, match="more than one"):
        merge([result([8], {8: [0.1] * 3}), result([8], {8: [0.1] * 3})])
