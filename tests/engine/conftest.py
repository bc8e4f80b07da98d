import pytest
from PIL import Image

from .helpers import face_like


@pytest.fixture()
def faces_dir(tmp_path):
    """Eight small generated face-like images: a training folder for the tiny-model tests."""
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(8):
        Image.fromarray(face_like(48, i)).save(folder / f"{i}.png")
    return folder
