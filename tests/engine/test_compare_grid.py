from types import SimpleNamespace

import numpy as np

from engine.compare import render_grid, steps_label
from engine.io.images import Photo


def test_face_rows_fill_the_grid_under_the_photos():
    photo = Photo(np.full((300, 400, 3), 200, np.uint8))
    face = SimpleNamespace(before=np.full((128, 128, 3), 90, np.uint8), after=np.full((128, 128, 3), 160, np.uint8))
    runs = [SimpleNamespace(steps=n, seconds=0.1, result=SimpleNamespace(photo=photo, faces=[face, face]))
            for n in (1, 4)]
    grid = render_grid(photo, runs, cell=64)
    column = 128  # every column is 2 x cell wide
    assert grid.shape[1] == 3 * column
    photo_h = round(300 * column / 400)
    face_row = grid[photo_h + column // 2]  # the middle line of the first face row
    # no filler (value 24) anywhere along it: the faces span the whole width
    assert not (face_row == 24).all(axis=1).any()
    assert grid.shape[0] == photo_h + 2 * column


def test_steps_label():
    assert steps_label(1) == "1 step" and steps_label(4) == "4 steps"
