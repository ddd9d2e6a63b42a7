"""The upper face put back onto BlazeFace's eyes (synthetic shapes, fast)."""

from __future__ import annotations

import numpy as np

from unmask.face.mean_shape import MEAN_SHAPE
from unmask.region.upper import EYE_DRAG, EYE_OFFSET, UPPER_FACE, eye_centres, pulled_down, upper_face_on_eyes


def _face() -> np.ndarray:
    """The mean shape at 100 px eye distance, eyes around (300, 200)."""
    return MEAN_SHAPE * 100.0 + [300.0, 200.0]


def _blazeface_eyes(landmarks: np.ndarray) -> np.ndarray:
    """Where BlazeFace puts the eyes of a face with these true landmarks (its usual offset)."""
    return eye_centres(landmarks) - [0.0, EYE_OFFSET * 100.0]


def test_a_dragged_upper_face_goes_back_onto_the_eyes():
    truth = _face()
    eyes = _blazeface_eyes(truth)
    dragged = truth.copy()
    # the mask pulls the upper face down and squeezes it a little, as a similarity about the nose
    dragged[UPPER_FACE] = (dragged[UPPER_FACE] - truth[30]) * 0.95 + truth[30] + [3.0, 20.0]
    assert pulled_down(dragged, eyes) and not pulled_down(truth, eyes)
    moved = upper_face_on_eyes(dragged, eyes)
    np.testing.assert_allclose(moved[UPPER_FACE], truth[UPPER_FACE], atol=1e-3)
    hidden = np.setdiff1d(np.arange(68), UPPER_FACE)
    np.testing.assert_array_equal(moved[hidden], dragged[hidden])  # jaw, lower nose, mouth kept


def test_small_and_huge_disagreements_move_nothing():
    truth = _face()
    eyes = _blazeface_eyes(truth)
    for drop in (EYE_DRAG * 0.8, 0.7):  # within the tolerance; BlazeFace elsewhere (a drawn face)
        dragged = truth.copy()
        dragged[UPPER_FACE, 1] += drop * 100.0
        assert not pulled_down(dragged, eyes), drop
    raised = truth.copy()
    raised[UPPER_FACE, 1] -= 0.3 * 100.0  # dlib's eyes above BlazeFace's: not a mask's drag
    assert not pulled_down(raised, eyes)
