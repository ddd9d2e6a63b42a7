"""A face frame from the landmarks a face mask leaves visible: origin between the eyes, the eye
line's direction, the inter-ocular distance as the unit. The region finder and the mask evidence
place their areas in it (frame coordinates: units of d, y down)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class FaceFrame:
    """A face frame from the reliable upper landmarks: origin between the eyes, unit vectors
    `right` and `down`, and the inter-ocular distance `d` (photo pixels)."""

    origin: np.ndarray
    right: np.ndarray
    down: np.ndarray
    d: float

    def to_photo(self, coords: np.ndarray) -> np.ndarray:
        """Frame coordinates (N, 2) in units of d -> photo pixels (N, 2)."""
        coords = np.atleast_2d(coords)
        return self.origin + self.d * (coords[:, :1] * self.right + coords[:, 1:2] * self.down)

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        """Photo pixels (N, 2) -> frame coordinates (N, 2) in units of d."""
        rel = np.atleast_2d(points) - self.origin
        return np.stack([rel @ self.right, rel @ self.down], axis=1) / self.d

    def grid(self, shape: tuple[int, int]) -> np.ndarray:
        """Float (h, w, 2): the frame coordinates (x, y, units of d) of every pixel of a `shape` image."""
        ys, xs = np.mgrid[: shape[0], : shape[1]]
        pixels = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
        return self.to_frame(pixels).reshape(tuple(shape) + (2,))


def face_frame(landmarks: np.ndarray) -> FaceFrame:
    """The frame of the face with 68 landmarks (68, 2): origin between the eye centres, `right`
    along the eye line, `down` perpendicular to it, `d` the distance between the eye centres."""
    left_eye = landmarks[36:42].mean(axis=0)
    right_eye = landmarks[42:48].mean(axis=0)
    right = right_eye - left_eye
    d = float(np.linalg.norm(right))
    if d < 1e-6:
        raise ValueError("degenerate landmarks: both eyes at the same point")
    right = right / d
    down = np.array([-right[1], right[0]])
    return FaceFrame(0.5 * (left_eye + right_eye), right, down, d)


def polygon_mask(frame: FaceFrame, polygon: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Fill a frame-coordinate polygon (N, 2) into a bool mask of `shape`."""
    canvas = np.zeros(shape, np.uint8)
    cv2.fillPoly(canvas, [np.round(frame.to_photo(polygon)).astype(np.int32)], 1)
    return canvas.astype(bool)
