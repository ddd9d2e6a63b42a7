"""Where a face shows its own skin even under a face mask: the nose bridge between the eyes and the
forehead just above the brows. Colour decisions about the lower face (is it masked, what colour
should the fill have) compare against these patches."""

from __future__ import annotations

import cv2
import numpy as np

SKIN_PATCHES = (
    np.array([[-0.12, -0.1], [0.12, -0.1], [0.1, 0.15], [-0.1, 0.15]]),
    np.array([[-0.35, -0.75], [0.35, -0.75], [0.35, -0.5], [-0.35, -0.5]]),
)
"""The nose bridge between the eyes and a forehead band above the brows, as polygons in units of
the eye distance, origin between the eye centres, x towards the right eye, y down the face."""


def skin_patches(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bool (H, W) of `shape`: the `SKIN_PATCHES` of the face with 68 landmarks (68, 2) (x, y)
    pixels of the same image. Empty when the two eyes coincide."""
    return np.logical_or.reduce(each_skin_patch(landmarks, shape))


def each_skin_patch(landmarks: np.ndarray, shape: tuple[int, int]) -> list[np.ndarray]:
    """`skin_patches` one by one: a bool (H, W) per polygon of `SKIN_PATCHES`, in its order
    (nose bridge, forehead). All empty when the two eyes coincide."""
    left, right = landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)
    across = right - left
    if np.hypot(*across) < 1e-6:
        return [np.zeros(shape, bool) for _ in SKIN_PATCHES]
    down = np.array([-across[1], across[0]])  # across and down both have the eye distance's length
    patches = []
    for patch in SKIN_PATCHES:
        canvas = np.zeros(shape, np.uint8)
        corners = (left + right) / 2 + patch[:, :1] * across + patch[:, 1:] * down
        cv2.fillPoly(canvas, [np.round(corners).astype(np.int32)], 1)
        patches.append(canvas.astype(bool))
    return patches
