"""Where a face shows its own skin even under a face mask: the nose bridge between the eyes and the
forehead just above the brows. Colour decisions about the lower face (is it masked, what colour
should the fill have) compare against these patches, or against the one of them that a hat, a
fringe or glasses leave uncovered (`visible_skin`)."""

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


COVERED_DARKER = 25.0
"""A skin patch (nose bridge or forehead) this much darker (CIELAB L, 0-100) than the other is taken
as covered: a hat or cap brim, a dark fringe, glasses, a mask drawn up to the bridge."""

SKIN_CHROMA = 8.0
"""The other patch stands alone for the skin only with at least this chroma (CIELAB a, b distance to
grey): a white mask border or a grey cap is lighter than skin but not skin."""


def visible_skin(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Bool (H, W): the skin patches of the face with 68 landmarks (68, 2) in the uint8 RGB `image`
    (H, W, 3): both `SKIN_PATCHES`, or the lighter one alone when the other is covered (at least
    `COVERED_DARKER` darker while the lighter one has skin's colour, `SKIN_CHROMA`)."""
    patches = each_skin_patch(landmarks, image.shape[:2])
    if all(patch.any() for patch in patches):
        medians = [np.median(_lab(image[patch]), axis=0) for patch in patches]
        for lit, dark in ((0, 1), (1, 0)):
            light, shade = medians[lit], medians[dark]
            if light[0] - shade[0] > COVERED_DARKER and np.hypot(light[1], light[2]) >= SKIN_CHROMA:
                return patches[lit]
    return np.logical_or.reduce(patches)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (N, 3) float32 (L 0-100, a and b signed) of uint8 RGB pixels (N, 3)."""
    return cv2.cvtColor(rgb.reshape(1, -1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB).reshape(-1, 3)
