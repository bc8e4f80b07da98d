"""The batch engine: results never depend on how photos are grouped or where faces are prepared."""

import pytest

from engine.batch import BatchRunner, OutputOptions, collect_inputs
from engine.io.images import Photo, write_image
from engine.pipeline import PhotoRestorer, RestoreOptions
from engine.restorer import Restorer
from tests.engine.helpers import face_like, tiny_model, tiny_spec


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    from engine.io.checkpoints import save_checkpoint

    spec = tiny_spec("cat", size=32)
    path = save_checkpoint(tmp_path_factory.mktemp("m") / "tiny.safetensors", tiny_model(spec), spec)
    restorer = Restorer(path, device="cpu")  # loaded from a file, as the app does (channels_last on CPU)
    assert restorer.channels_last
    return PhotoRestorer(restorer, None)


@pytest.fixture()
def folder(tmp_path):
    src = tmp_path / "in"
    for i in range(5):
        write_image(src / f"{i}.png", Photo(face_like(48, seed=i)))
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return src


@pytest.mark.parametrize("face_batch,detect_ahead", [(1, False), (16, False), (1, True), (3, True)])
def test_grouping_and_prefetch_do_not_change_results(session, folder, tmp_path, face_batch, detect_ahead):
    options = RestoreOptions(steps=2, aligned=True, seed=7)
    items, _ = collect_inputs([folder])
    reference = BatchRunner(session, options, OutputOptions(output_dir=tmp_path / "ref"), face_batch=1,
                            max_group=1, detect_ahead=False).run(items)
    summary = BatchRunner(session, options, OutputOptions(output_dir=tmp_path / "out"), face_batch=face_batch,
                          detect_ahead=detect_ahead).run(items)
    assert summary.count("done") == 5 and summary.count("failed") == 1  # the broken file, and the rest go on
    failed = next(f for f in summary.files if f.status == "failed")
    assert "broken.png" in failed.input and failed.error
    assert failed.output is None and not (tmp_path / "out" / "broken_restored.png").exists()  # never written
    for f in summary.files:
        if f.status == "done":
            # each file's own stage times, not the batch's elapsed time when it finished
            assert {"read", "detect_align", "restore", "paste", "write"} <= set(f.timings)
            assert f.seconds == pytest.approx(sum(f.timings.values()), abs=2e-3)
            assert f.output and f.seconds < summary.seconds
    for i in range(5):
        assert (tmp_path / "out" / f"{i}_restored.png").read_bytes() == (tmp_path / "ref" / f"{i}_restored.png").read_bytes()
    assert reference.count("done") == 5
