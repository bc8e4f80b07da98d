"""build_scripts/studies/paired_identity.py: face-by-face identity comparison of two eval results."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "build_scripts" / "studies"))
from paired_identity import compare, paired  # noqa: E402


def result(model, ids):
    return {"model": model, "rows": [{"name": "degraded input", "steps": 0, "identity_per_image": [0.5] * len(ids)},
                                     {"name": "i2sb 8 steps", "steps": 8, "lpips": 0.4, "identity": 0.3,
                                      "identity_per_image": ids}]}


def test_difference_is_taken_face_by_face_over_faces_both_describe():
    p = paired([0.30, 0.40, None, 0.50], [0.28, 0.41, 0.10, 0.46])
    assert p["faces"] == 3 and p["mean"] == pytest.approx((-0.02 + 0.01 - 0.04) / 3)
    assert p["closer"] == pytest.approx(2 / 3) and p["se"] > 0


def test_compare_reads_the_step_row_and_refuses_other_inputs():
    rows = compare(result("ref", [0.3, 0.4, 0.5]), [result("a", [0.2, 0.4, 0.4])], 8)
    assert rows[0]["model"] == "a" and rows[0]["mean"] == pytest.approx(-0.2 / 3) and rows[0]["lpips"] == 0.4
    with pytest.raises(ValueError, match="not the same images"):
        compare(result("ref", [0.3, 0.4]), [result("a", [0.2, 0.4, 0.4])], 8)
    with pytest.raises(ValueError, match="no 4-step row"):
        compare(result("ref", [0.3, 0.4]), [result("a", [0.2, 0.4])], 4)


def test_first_n_compares_a_limited_run_with_the_start_of_a_full_one():
    rows = compare(result("ref", [0.3, 0.4, 0.5, 0.6]), [result("a", [0.2, 0.5])], 8, first=2)
    assert rows[0]["faces"] == 2 and rows[0]["mean"] == pytest.approx(0.0)
