"""The 3-D face shape: pose of a known rotated shape (synthetic)."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.face.hidden import MIRROR, VISIBLE
from unmask.face.mean_shape3d import MEAN_SHAPE3D
from unmask.face.shape3d import Pose, fit_pose, rotation

POSES = [(0, 0, 0), (20, 0, 0), (-35, 10, 5), (40, -15, -10), (-25, -20, 12), (30, 15, 20)]


def _perspective(shape: np.ndarray, angles, distance: float) -> np.ndarray:
    """(68, 2) pixels of the shape turned by `angles` and seen by a pinhole camera `distance` eye
    distances away (focal length chosen so that one eye distance is about 100 px)."""
    camera = shape @ rotation(*angles).T + [0.0, 0.0, distance]
    return 100 * distance * camera[:, :2] / camera[:, 2:] + [320.0, 240.0]


def test_the_shape_is_in_its_frame_and_left_right_symmetric():
    eyes = np.array([MEAN_SHAPE3D[36:42].mean(0), MEAN_SHAPE3D[42:48].mean(0)])
    np.testing.assert_allclose(eyes[:, :2], [[-0.5, 0], [0.5, 0]], atol=1e-3)
    mirrored = MEAN_SHAPE3D[MIRROR] * [-1, 1, 1]
    assert np.abs(mirrored - MEAN_SHAPE3D).max() < 0.08
    # the nose tip stands out towards the camera, the jaw ends at the ears lie behind the eyes
    assert MEAN_SHAPE3D[30, 2] < eyes[:, 2].mean() - 0.3 and MEAN_SHAPE3D[[0, 16], 2].min() > eyes[:, 2].max() + 0.3
    assert 1.5 < MEAN_SHAPE3D[8, 1] < 2.2 and 0.9 < MEAN_SHAPE3D[51, 1] < 1.3  # chin, mouth below the eyes


@pytest.mark.parametrize("angles", POSES)
def test_the_pose_of_a_rotated_shape_is_recovered(angles):
    truth = Pose(rotation(*angles), 87.0, np.array([310.0, 250.0]))
    points = truth.project(MEAN_SHAPE3D)
    pose = fit_pose(points, MEAN_SHAPE3D)
    np.testing.assert_allclose(pose.angles(), angles, atol=1e-3)
    assert pose.scale == pytest.approx(87.0) and np.allclose(pose.translation, [310, 250])
    # from the points a mask leaves visible, under a real camera (perspective), with landmark noise
    seen = _perspective(MEAN_SHAPE3D, angles, distance=12.0)  # about 75 cm
    seen = seen + np.random.default_rng(3).normal(0, 1.0, seen.shape)
    pose = fit_pose(seen[VISIBLE], MEAN_SHAPE3D[VISIBLE])
    assert np.abs(np.array(pose.angles()) - angles).max() < 2.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        fit_pose(np.zeros((3, 2)), np.zeros((3, 3)))
