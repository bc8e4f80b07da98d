"""The identity meter: distances, verdicts, 'unknown', and no cost when switched off."""

import numpy as np
import pytest

from engine.identity import DIFFERENT, KEPT, IdentityMeter, IdentityReading
from tests.conftest import SHARED_DATA

pytest.importorskip("dlib")


@pytest.fixture(scope="module")
def session():
    from engine.session import open_session

    return open_session(device="cpu", detector="mtcnn")


@pytest.fixture(scope="module")
def sample_crop(session):
    from engine.cli.paths import resources_dir
    from engine.io.images import read_image
    from engine.pipeline import RestoreOptions

    photo = read_image(resources_dir() / "samples" / "astronaut_low_quality.jpg")
    return session.prepare(photo, RestoreOptions()).crops[0]


def test_verdicts_follow_the_calibrated_thresholds():
    assert IdentityReading(None).verdict == "unknown"
    assert IdentityReading(KEPT - 0.01).verdict == "kept"
    assert IdentityReading(KEPT + 0.01).verdict == "changed"
    assert IdentityReading(DIFFERENT).verdict == "different"
    assert IdentityReading(0.123456).to_dict() == {"distance": 0.1235, "verdict": "kept"}


def test_same_face_is_distance_zero(session, sample_crop):
    meter = session.identity_meter()
    reading = meter.distance(sample_crop, sample_crop.copy())
    assert reading.distance is not None and reading.distance < 1e-6 and reading.verdict == "kept"


def test_faces_dlib_cannot_describe_are_unknown(session, sample_crop):
    meter = session.identity_meter()
    flat = np.full_like(sample_crop, 128)
    assert meter.describe(flat) is None
    assert meter.distance(sample_crop, flat).verdict == "unknown"
    step = 10 * sample_crop.shape[0] // 128  # 10 for a 128 px crop, 20 for the 256 px whole-head one
    tiny = sample_crop[::step, ::step]  # a 13 px crop: nothing for dlib's 150 px chip to describe
    assert meter.distance(tiny, tiny).verdict == "unknown"


def test_switched_off_nothing_is_computed(session):
    from engine.pipeline import PhotoRestorer, RestoreOptions
    from engine.cli.paths import resources_dir
    from engine.io.images import read_image

    fresh = PhotoRestorer(session.restorer, session.detector)
    photo = read_image(resources_dir() / "samples" / "astronaut_low_quality.jpg")
    result = fresh.restore_photo(photo, RestoreOptions(steps=1))
    assert fresh._meter is None and all(f.identity is None for f in result.faces)
    assert "identity" not in result.timings
    measured = fresh.restore_photo(photo, RestoreOptions(steps=1, identity=True))
    assert fresh._meter is not None and measured.faces[0].identity.verdict in ("kept", "changed", "different")
    assert "identity" in measured.timings


@pytest.mark.skipif(not (SHARED_DATA / "utkface-aligned-200" / "eval").is_dir(), reason="shared faces not available")
def test_different_people_are_further_apart_than_a_person_and_their_degraded_self():
    from engine.degradations import degrade_for_eval
    from engine.modelspec import TIGHT_128
    from engine.training.data import load_faces

    template = TIGHT_128  # the faces are UTKFace crops in the tight 128 px alignment, whatever the default model is
    faces = load_faces(SHARED_DATA / "utkface-aligned-200" / "eval", template.size, limit=6)
    meter = IdentityMeter(template)
    same = [meter.distance(f, degrade_for_eval(f, "mild", seed=0, index=i)).distance for i, f in enumerate(faces)]
    other = [meter.distance(faces[i], faces[i + 1]).distance for i in range(len(faces) - 1)]
    assert max(same) < min(other)
    assert np.median(same) < KEPT and np.median(other) > DIFFERENT
