"""Where the landmarks hidden by a face mask probably are.

Under a mask the detector's jaw, lower nose and mouth points are guesses. `estimate_hidden_landmarks`
keeps the points a mask leaves visible (brows, eyes, upper nose bridge, the jaw ends at ear level)
and places the hidden ones from a source shape fitted onto the visible points by a similarity
transform: the reference photo's own landmarks (same person: their own proportions) or, without
one, the mean face shape in `unmask.face.mean_shape` (numbers derived from detections, see
`scripts/derive_mean_shape.py`). A similarity cannot turn a head: when the target looks more to
one side than the source, its jaw line sits elsewhere than the fitted shape says (the jaw is
further back than the eyes and the near side widens). `unmask.face.yaw_shift` holds that shift
per hidden jaw point and unit of `yaw` difference, measured on pairs of photos of one person
(`scripts/derive_yaw_shift.py`); it is added to the fitted jaw points.
"""

from __future__ import annotations

import numpy as np

VISIBLE = np.r_[0, 16, 17:27, 27:29, 36:48]
"""Landmarks a face mask leaves visible: the jaw ends at ear level 0 and 16, brows 17-26, upper
nose bridge 27-28, eyes 36-47 (iBUG 300-W indices)."""

HIDDEN = np.setdiff1d(np.arange(68), VISIBLE)
"""Landmarks a face mask hides: jaw 1-15, lower nose bridge 29-30 (under most masks), lower nose
31-35, mouth 48-67."""

JAW = np.r_[1:16]
"""The hidden jaw points, which `turn_shift` moves."""

MIRROR = np.r_[16:-1:-1, 26:16:-1, 27:31, 35:30:-1, 45:41:-1, 47, 46, 39:35:-1, 41, 40,
               54:47:-1, 59:54:-1, 64:59:-1, 67:64:-1]
"""Index of each landmark's left-right counterpart (iBUG 300-W order)."""


def estimate_hidden_landmarks(landmarks: np.ndarray, reference_landmarks: np.ndarray | None = None) -> np.ndarray:
    """(68, 2) landmarks with the hidden points (`HIDDEN`) replaced by the source shape's, mapped by
    the similarity transform that best fits the source's `VISIBLE` points onto these; the visible
    points are returned unchanged. The source is `reference_landmarks` (68, 2, any photo of the
    same person) when given, else the mean face shape.

    The head-turn shift (`turn_shift`) for the `yaw` difference of target and source is added to
    the fitted jaw points 1-15. On the template and procedural cases of seeds 3, 5 and 9 (masked
    photos' visible points, the first reference; the points of the unmasked truth) it lowered the
    mean error of the hidden jaw points from 0.139-0.148 to 0.118-0.127 eye distances (the shift
    learned without the person scored; measured 2026-11-29). The same kind of shift for the nose
    and mouth lowered their error too, but made the `warp` results no closer to the truth."""
    from unmask.face.mean_shape import MEAN_SHAPE

    target = _check(landmarks)
    source = MEAN_SHAPE if reference_landmarks is None else _check(reference_landmarks)
    out = target.copy()
    out[HIDDEN] = fitted_hidden(target, source)
    out[JAW] += turn_shift(target, yaw(target) - yaw(source))
    return out


def fitted_hidden(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """The `HIDDEN` points (n, 2) of `source` (68, 2) mapped by the similarity transform that best
    fits its `VISIBLE` points onto those of `target` (68, 2)."""
    matrix = fit_similarity(source[VISIBLE], target[VISIBLE])
    return source[HIDDEN] @ matrix[:, :2].T + matrix[:, 2]


def turn_shift(landmarks: np.ndarray, turn: float) -> np.ndarray:
    """(len(JAW), 2): how far the hidden jaw points of the face `landmarks` (68, 2) move, in its
    pixels, when its `yaw` grows by `turn` (about -2..2) at fixed visible points: `YAW_SHIFT`
    (eye-distance units, eyes level) scaled and rotated into this face's frame."""
    from unmask.face.yaw_shift import YAW_SHIFT

    to_frame = eye_frame(landmarks)
    return turn * YAW_SHIFT @ np.linalg.inv(to_frame[:, :2]).T


def yaw(points: np.ndarray) -> float:
    """Signed head turn from landmarks (68, 2), about -1..1, 0 = frontal: where the top of the nose
    bridge sits between the jaw's two ends at ear level (visible above a face mask), measured
    along the line through the eyes (a tilted head has the same yaw)."""
    axis = points[42:48].mean(axis=0) - points[36:42].mean(axis=0)
    along = points[[0, 27, 16]] @ axis
    left, right = along[1] - along[0], along[2] - along[1]
    return float((left - right) / max(left + right, 1e-6))


def mirror_landmarks(points: np.ndarray, right: float) -> np.ndarray:
    """68 landmarks (68, 2) flipped left-right about x = right / 2 (x -> right - x), renumbered
    so that a left eye point stays a left eye point."""
    flipped = np.array(points, dtype=np.float64)
    flipped[:, 0] = right - flipped[:, 0]
    return flipped[MIRROR]


def eye_frame(points: np.ndarray) -> np.ndarray:
    """(2, 3) similarity taking the face `points` (68, 2) to its eye frame: eye centres at
    (-0.5, 0) and (0.5, 0)."""
    eyes = np.array([points[36:42].mean(axis=0), points[42:48].mean(axis=0)])
    return fit_similarity(eyes, np.array([[-0.5, 0.0], [0.5, 0.0]]))


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) taking points src (N, 2)
    to dst (N, 2), as a (2, 3) matrix."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - src_mean, dst - dst_mean
    # complex-number form: dst = z * src, z = a + ib
    denom = (s**2).sum()
    a = (s * d).sum() / denom
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / denom
    linear = np.array([[a, -b], [b, a]])
    return np.hstack([linear, (dst_mean - linear @ src_mean)[:, None]])


def mean_shape(landmark_sets: list[np.ndarray], iterations: int = 10) -> np.ndarray:
    """Mean of several (68, 2) landmark sets after similarity (Procrustes) alignment, in a frame
    where the eye centres are at (-0.5, 0) and (0.5, 0)."""
    shapes = [_check(lm) for lm in landmark_sets]
    if not shapes:
        raise ValueError("need at least one landmark set")
    mean = _eye_frame(shapes[0])
    for _ in range(iterations):
        fitted = [s @ m[:, :2].T + m[:, 2] for s in shapes for m in [fit_similarity(s, mean)]]
        mean = _eye_frame(np.mean(fitted, axis=0))
    return mean


def _eye_frame(shape: np.ndarray) -> np.ndarray:
    matrix = eye_frame(shape)
    return shape @ matrix[:, :2].T + matrix[:, 2]


def _check(landmarks: np.ndarray) -> np.ndarray:
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {lm.shape}")
    return lm
