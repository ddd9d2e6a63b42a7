"""Where the landmarks hidden by a face mask probably are.

Under a mask the detector's jaw, lower nose and mouth points are guesses. `estimate_hidden_landmarks`
keeps the points a mask leaves visible (brows, eyes, upper nose bridge, the jaw ends at ear level)
and places the hidden ones from a source shape fitted onto the visible points by a similarity
transform: the reference photo's own landmarks (same person: their own proportions) or, without
one, the mean face shape in `unmask.face.mean_shape` (numbers derived from detections, see
`scripts/derive_mean_shape.py`).
"""

from __future__ import annotations

import numpy as np

VISIBLE = np.r_[0, 16, 17:27, 27:29, 36:48]
"""Landmarks a face mask leaves visible: the jaw ends at ear level 0 and 16, brows 17-26, upper
nose bridge 27-28, eyes 36-47 (iBUG 300-W indices)."""

HIDDEN = np.setdiff1d(np.arange(68), VISIBLE)
"""Landmarks a face mask hides: jaw 1-15, lower nose bridge 29-30 (under most masks), lower nose
31-35, mouth 48-67."""


def estimate_hidden_landmarks(landmarks: np.ndarray, reference_landmarks: np.ndarray | None = None) -> np.ndarray:
    """(68, 2) landmarks with the hidden points (`HIDDEN`) replaced by the source shape's, mapped by
    the similarity transform that best fits the source's `VISIBLE` points onto these; the visible
    points are returned unchanged. The source is `reference_landmarks` (68, 2, any photo of the
    same person) when given, else the mean face shape.

    On 8 people/ photos with synthetic masks, taking the jaw ends as visible and the lower nose
    bridge as hidden put the hidden points 0.104 eye distances from the truth on average, against
    0.120 with the jaw hidden and the whole bridge visible (measured 2026-11-25)."""
    from unmask.face.mean_shape import MEAN_SHAPE

    target = _check(landmarks)
    source = MEAN_SHAPE if reference_landmarks is None else _check(reference_landmarks)
    matrix = fit_similarity(source[VISIBLE], target[VISIBLE])
    out = target.copy()
    out[HIDDEN] = source[HIDDEN] @ matrix[:, :2].T + matrix[:, 2]
    return out


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
    eyes = np.array([shape[36:42].mean(axis=0), shape[42:48].mean(axis=0)])
    matrix = fit_similarity(eyes, np.array([[-0.5, 0.0], [0.5, 0.0]]))
    return shape @ matrix[:, :2].T + matrix[:, 2]


def _check(landmarks: np.ndarray) -> np.ndarray:
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {lm.shape}")
    return lm
