"""The hidden-landmark estimate (fast, synthetic shapes)."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.face.hidden import HIDDEN, VISIBLE, estimate_hidden_landmarks, fit_similarity, mean_shape
from unmask.face.mean_shape import MEAN_SHAPE


def _similar(shape: np.ndarray, scale: float, angle: float, shift) -> np.ndarray:
    a = np.radians(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return shape @ rot.T * scale + shift


def test_visible_and_hidden_split_the_68_points():
    assert sorted(np.r_[VISIBLE, HIDDEN].tolist()) == list(range(68))
    assert {48, 54, 8, 33}.issubset(HIDDEN.tolist()) and {36, 45, 27, 19}.issubset(VISIBLE.tolist())
    assert {0, 16, 28}.issubset(VISIBLE.tolist()) and {1, 15, 29, 30}.issubset(HIDDEN.tolist())  # ears: visible


def test_fit_similarity_recovers_a_known_transform():
    src = np.random.default_rng(0).normal(size=(20, 2))
    dst = _similar(src, 3.5, 28.0, (10.0, -4.0))
    matrix = fit_similarity(src, dst)
    np.testing.assert_allclose(src @ matrix[:, :2].T + matrix[:, 2], dst, atol=1e-9)


def test_reference_of_the_same_shape_restores_the_hidden_points_exactly():
    truth = _similar(MEAN_SHAPE + np.random.default_rng(1).normal(0, 0.03, (68, 2)), 120, -14, (400, 300))
    reference = _similar(truth, 0.4, 30, (-50, 20))  # same face, other photo (scale, roll, place)
    guessed = truth.copy()
    guessed[HIDDEN] += np.random.default_rng(2).normal(0, 15, (len(HIDDEN), 2))  # a mask's effect
    estimate = estimate_hidden_landmarks(guessed, reference)
    np.testing.assert_array_equal(estimate[VISIBLE], guessed[VISIBLE])
    np.testing.assert_allclose(estimate[HIDDEN], truth[HIDDEN], atol=1e-6)


def test_mean_shape_estimate_follows_pose_and_scale():
    target = _similar(MEAN_SHAPE, 90, 20, (200, 200))
    estimate = estimate_hidden_landmarks(target)
    np.testing.assert_allclose(estimate, target, atol=1e-6)


def test_mean_shape_frame_and_plausibility():
    eyes = np.array([MEAN_SHAPE[36:42].mean(0), MEAN_SHAPE[42:48].mean(0)])
    np.testing.assert_allclose(eyes, [[-0.5, 0], [0.5, 0]], atol=1e-3)
    assert 0.9 < MEAN_SHAPE[51, 1] < 1.3 and 1.5 < MEAN_SHAPE[8, 1] < 2.2  # mouth, chin below eyes
    shapes = [_similar(MEAN_SHAPE, s, a, (s, -a)) for s, a in [(50, 0), (80, 40), (30, -70)]]
    np.testing.assert_allclose(mean_shape(shapes), MEAN_SHAPE, atol=1e-3)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        estimate_hidden_landmarks(np.zeros((5, 2)))
