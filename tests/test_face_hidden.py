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


def test_yaw_ignores_tilt_and_scale_and_flips_with_a_mirror():
    from unmask.face.hidden import mirror_landmarks, yaw

    turned = MEAN_SHAPE.copy()
    turned[27:36, 0] += 0.15  # nose further right than the jaw ends: turned
    assert yaw(turned) > 0.05
    assert yaw(_similar(turned, 80, 35, (300, 200))) == pytest.approx(yaw(turned))
    assert yaw(mirror_landmarks(turned, 0.0)) == pytest.approx(-yaw(turned))



def test_turn_shift_moves_only_the_jaw_and_is_left_right_symmetric():
    from unmask.face.hidden import JAW, fitted_hidden, mirror_landmarks

    source = _similar(MEAN_SHAPE, 100, 0, (300, 300))
    target = source.copy()
    target[[0, 16], 0] -= 12.0  # jaw ends moved left: the target looks another way than the source
    estimate = estimate_hidden_landmarks(target, source)
    plain = target.copy()
    plain[HIDDEN] = fitted_hidden(target, source)
    moved = np.linalg.norm(estimate - plain, axis=1)
    assert moved[JAW].max() > 2.0 and np.delete(moved, JAW).max() == 0.0
    flipped = estimate_hidden_landmarks(mirror_landmarks(target, 600.0), mirror_landmarks(source, 600.0))
    np.testing.assert_allclose(flipped, mirror_landmarks(estimate, 600.0), atol=1e-9)


def test_turn_shift_brings_the_jaw_of_real_photos_closer(people_dir):
    """Each photo of one person, its hidden jaw estimated from the person's other photos: the
    turn shift lowers the mean error against the detected jaw."""
    from unmask.face import find_face
    from unmask.face.hidden import JAW, fitted_hidden
    from unmask.images import read_image

    shapes = [find_face(read_image(path)).landmarks for path in sorted((people_dir / "p01").glob("*.jpg"))[:5]]
    with_shift, without = [], []
    for i, target in enumerate(shapes):
        for j, source in enumerate(shapes):
            if i != j:
                plain = target.copy()
                plain[HIDDEN] = fitted_hidden(target, source)
                with_shift.append(np.linalg.norm(estimate_hidden_landmarks(target, source)[JAW] - target[JAW], axis=1).mean())
                without.append(np.linalg.norm(plain[JAW] - target[JAW], axis=1).mean())
    assert np.mean(with_shift) < 0.95 * np.mean(without)
