"""The 3-D face shape: pose of a known rotated shape, hidden points of a turned head (synthetic)."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.face.hidden import HIDDEN, MIRROR, VISIBLE, estimate_hidden_landmarks, fit_similarity
from unmask.face.mean_shape3d import MEAN_SHAPE3D
from unmask.face.shape3d import Pose, fit_pose, hidden_landmarks, lift, rotation

POSES = [(0, 0, 0), (20, 0, 0), (-35, 10, 5), (40, -15, -10), (-25, -20, 12), (30, 15, 20)]


def _person(seed: int = 0) -> np.ndarray:
    """A face other than the mean: longer chin, wider jaw, nose further out, a little noise."""
    shape = np.array(MEAN_SHAPE3D)
    shape[0:17, 0] *= 1.08
    shape[5:12, 1] += 0.12
    shape[27:36, 2] -= 0.1
    return shape + np.random.default_rng(seed).normal(0, 0.01, shape.shape)


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


@pytest.mark.parametrize("angles", [(30, 0, 0), (-35, 10, 5), (25, -10, -8)])
def test_hidden_points_of_a_turned_head_follow_the_turn(angles):
    person = _person()
    reference = _perspective(person, (0, 0, 0), distance=20.0) * 0.7  # a frontal photo of the person
    truth = _perspective(person, angles, distance=20.0)
    masked = truth.copy()
    masked[HIDDEN] += np.random.default_rng(4).normal(0, 20, (len(HIDDEN), 2))  # what a mask does
    estimate = hidden_landmarks(masked, reference)
    np.testing.assert_array_equal(estimate[VISIBLE], masked[VISIBLE])
    error = np.linalg.norm(estimate[HIDDEN] - truth[HIDDEN], axis=1) / 100  # eye distances
    flat = np.linalg.norm(estimate_hidden_landmarks(masked, reference)[HIDDEN] - truth[HIDDEN], axis=1) / 100
    assert error.mean() < 0.05 and error.max() < 0.12
    assert error.mean() < flat.mean() / 3  # the 2-D similarity (with its yaw shift) misses more


def test_lift_keeps_the_photo_points_and_the_reference_proportions():
    person = _person(1)
    photo = Pose(rotation(-20, 5, 3), 60.0, np.array([100.0, 90.0])).project(person)
    lifted = lift(photo)
    np.testing.assert_allclose(fit_pose(photo, lifted).project(lifted), photo, atol=1e-6)
    # turned to the front, the lifted points have the person's proportions (longer chin, wider jaw),
    # up to the depth it could not see
    frontal = Pose(np.eye(3), 1.0, np.zeros(2)).project(lifted)
    matrix = fit_similarity(frontal, person[:, :2])
    assert np.abs(frontal @ matrix[:, :2].T + matrix[:, 2] - person[:, :2]).max() < 0.05
    matrix = fit_similarity(MEAN_SHAPE3D[:, :2], person[:, :2])
    assert np.abs(MEAN_SHAPE3D[:, :2] @ matrix[:, :2].T + matrix[:, 2] - person[:, :2]).max() > 0.08


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        fit_pose(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError):
        hidden_landmarks(np.zeros((67, 2)))


def test_warp_takes_the_shape_option():
    from unmask.methods.warp import WarpMethod

    assert WarpMethod().shape == "2d" and WarpMethod(shape="3d").shape == "3d"
    with pytest.raises(ValueError):
        WarpMethod(shape="4d")
