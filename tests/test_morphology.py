"""Bool-mask operations (`unmask.region.morphology`), the face frame's pixel grid and the loop search
(`unmask.region.loops`) on drawn pictures whose answer is known."""

from __future__ import annotations

import cv2
import numpy as np

from unmask.region.frame import FaceFrame
from unmask.region.loops import line_maps, with_loops
from unmask.region.morphology import attached, disc, fill_holes, grow, opened, touching


def test_disc_and_grow():
    assert disc(0.2).shape == (3, 3) and disc(2.6).shape == (7, 7)
    dot = np.zeros((11, 11), bool)
    dot[5, 5] = True
    grown = grow(dot, 3)
    assert grown[5, 2] and grown[2, 5] and not grown[2, 2] and grown.sum() == disc(3).sum()


def test_opened_drops_thin_parts():
    mask = np.zeros((20, 20), bool)
    mask[4:14, 4:14] = True  # 10 px wide: kept (but its corners, rounded by the disc)
    mask[16, 2:18] = True  # a line 1 px wide: removed
    out = opened(mask, 2)
    assert out[5:13, 5:13].all() and out[4, 9] and not out[4, 4] and not out[16].any()


def test_attached_and_touching_pieces():
    body = np.zeros((20, 20), bool)
    body[5:10, 5:10] = True
    mask = np.zeros((20, 20), bool)
    mask[10:12, 7] = True  # touches the body from below
    mask[15:18, 15:18] = True  # far away
    pieces = attached(mask, body)
    assert len(pieces) == 1 and pieces[0].sum() == 2
    assert touching(mask, mask & (np.arange(20)[:, None] > 14)).sum() == 9


def test_fill_holes_leaves_open_bays():
    ring = np.zeros((12, 12), bool)
    ring[2:9, 2:9] = True
    ring[4:7, 4:7] = False  # a hole
    ring[4:6, 8] = False  # a bay in the outline, open to the outside: not a hole
    filled = fill_holes(ring)
    assert filled[5, 5] and not filled[4, 8] and not filled[0, 0]


def test_frame_grid_gives_each_pixel_its_frame_coordinates():
    frame = FaceFrame(np.array([10.0, 20.0]), np.array([0.0, 1.0]), np.array([-1.0, 0.0]), 5.0)
    grid = frame.grid((30, 40))
    assert grid.shape == (30, 40, 2)
    assert np.allclose(grid[20, 10], 0) and np.allclose(grid[25, 10], (1, 0)) and np.allclose(grid[20, 5], (0, 1))


def _face_with_a_loop(loop_colour: int) -> tuple[np.ndarray, np.ndarray, FaceFrame]:
    """A flat skin picture (200 x 200), eyes 50 px apart round (100, 60), a mask body under them
    and a thin loop of `loop_colour` from the body's side up round where the ear is."""
    frame = FaceFrame(np.array([100.0, 60.0]), np.array([1.0, 0.0]), np.array([0.0, 1.0]), 50.0)
    image = np.full((200, 200, 3), 190, np.uint8)
    body = np.zeros((200, 200), bool)
    body[80:170, 60:140] = True
    image[body] = (90, 120, 200)
    cv2.ellipse(image, (150, 95), (16, 30), 0, 0, 360, (loop_colour,) * 3, 2)
    return image, body, frame


def test_a_thin_dark_loop_beside_the_face_joins_the_region():
    image, body, frame = _face_with_a_loop(20)
    lines, weak = line_maps(image, frame)
    assert lines[95, 166] and not lines[120, 100]  # on the loop, not inside the flat body
    keep = with_loops(body, body, body, lines, weak, grow(body, 20), np.ones(body.shape, bool), frame)
    assert keep[95, 166] and keep[66, 150] and keep[body].all()
    assert not keep[40, 100] and not keep[95, 20]


def test_no_loop_outside_the_zone_or_in_a_field_of_lines():
    image, body, frame = _face_with_a_loop(20)
    lines, weak = line_maps(image, frame)
    outside = np.ones(body.shape, bool)
    outside[:, 145:] = False  # the loop is where loops may not be
    assert not with_loops(body, body, body, lines, weak, grow(body, 20), outside, frame)[95, 166]
    hair = image.copy()
    hair[::2, 140:] = 20  # a field of dark lines: hair, not a loop
    lines, weak = line_maps(hair, frame)
    assert not lines[96:130, 150:190].any()
