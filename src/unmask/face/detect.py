"""Face detection (dlib's CNN MMOD detector, which also finds masked faces) and 68 landmarks.

Detection runs on downscaled copies to stay fast; the landmark predictor runs at full resolution.
Search order, cheapest first (each later stage runs only when the earlier ones found nothing):

1. MMOD on a copy of about `COARSE_PIXELS` pixels: finds every face wider than about a fifth
   of the photo's long side (portraits, selfies, phone photos of one person).
2. dlib's HOG detector at the scale where a `MIN_FACE_SIZE` face is still detectable: fast,
   finds small unmasked faces (full-body shots, groups).
3. MMOD at that scale (at most `FINE_PIXELS` pixels): small masked faces. Slow, rarely needed.

Small photos (tight face crops such as 160x160) are padded with their replicated border first,
because both detectors miss faces that touch the image edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unmask.errors import FaceError

MIN_FACE_SIZE = 64
"""Smallest usable face: detector box width in photo pixels (the box spans brows to chin)."""

COARSE_PIXELS = 80_000
"""Pixel budget of the first MMOD pass (about 330x245; the CNN costs ~10 us per pixel here)."""

FINE_PIXELS = 600_000
"""Largest copy the slow last-resort MMOD pass may process."""

_MMOD_SMALLEST = 72
"""Smallest face width (px) the MMOD detector reliably finds; measured about 60 on the test photos."""

_HOG_SMALLEST = 80
"""Smallest face width (px) dlib's HOG detector finds (its window is 80x80)."""

_PAD_BELOW = 400
"""Photos whose shorter side is below this many pixels are padded before detection."""


@dataclass
class Face:
    """One detected face. `box` is (x0, y0, x1, y1) in photo pixels; `score` the detector's
    confidence (MMOD about 0..1.2; HOG scores from the fallback stage are on their own scale);
    `landmarks` (68, 2) float64 (x, y) photo pixels in iBUG 300-W order."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray

    @property
    def width(self) -> float:
        """Box width in photo pixels."""
        return self.box[2] - self.box[0]


def detect_faces(image: np.ndarray) -> list[Face]:
    """All faces found in a uint8 RGB photo (H, W, 3), largest first (see the module docstring
    for which faces are searched); an empty list when there is none."""
    from unmask.face.models import landmark_predictor

    image = _check_image(image)
    padded, offset = _pad_small(image)
    boxes = _find_boxes(padded)
    predictor = landmark_predictor()
    faces = []
    for (x0, y0, x1, y1), score in boxes:
        landmarks = _landmarks(predictor, padded, (x0, y0, x1, y1))
        faces.append(
            Face(
                box=(x0 - offset, y0 - offset, x1 - offset, y1 - offset),
                score=float(score),
                landmarks=landmarks - offset,
            )
        )
    faces.sort(key=lambda face: face.width, reverse=True)
    return faces


def find_face(image: np.ndarray, index: int | None = None, path: str | Path | None = None) -> Face:
    """The face to work on: the largest, or the `index`-th largest (0 = largest).

    Raises `FaceError` (naming `path` when given) when no face is found, when `index` is out of
    range, or when the chosen face is narrower than `MIN_FACE_SIZE` pixels.
    """
    faces = detect_faces(image)
    if not faces:
        raise FaceError(
            "no face found (a face must be at least about "
            f"{MIN_FACE_SIZE} px wide and seen roughly from the front)",
            path,
        )
    if index is not None and not 0 <= index < len(faces):
        raise FaceError(
            f"face index {index} is out of range: found {len(faces)} face"
            f"{'s' if len(faces) > 1 else ''} (valid indices 0..{len(faces) - 1}, 0 = largest)",
            path,
        )
    face = faces[index or 0]
    if face.width < MIN_FACE_SIZE:
        raise FaceError(
            f"the face is too small: {face.width:.0f} px wide, the minimum is {MIN_FACE_SIZE} px; "
            "use a larger photo of the face",
            path,
        )
    return face


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 RGB image (H, W, 3), got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image)


def _pad_small(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Pad a small photo on all sides with its replicated border; returns (padded, pad width)."""
    import cv2

    short = min(image.shape[:2])
    if short >= _PAD_BELOW:
        return image, 0
    pad = short // 4
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE), pad


def _resized(image: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    if scale == 1.0:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interpolation)


def _find_boxes(image: np.ndarray) -> list[tuple[tuple[float, float, float, float], float]]:
    """Boxes (x0, y0, x1, y1) in `image` pixels with scores, by the staged search."""
    h, w = image.shape[:2]
    pixels = h * w
    coarse = min(1.0, math.sqrt(COARSE_PIXELS / pixels))
    boxes = _mmod(image, coarse)
    if boxes:
        return boxes
    fine = min(1.0, _MMOD_SMALLEST / MIN_FACE_SIZE, math.sqrt(FINE_PIXELS / pixels))
    hog_scale = min(_HOG_SMALLEST / MIN_FACE_SIZE, math.sqrt(4 * FINE_PIXELS / pixels))
    boxes = _hog(image, hog_scale)
    if boxes or fine <= coarse * 1.05:
        return boxes
    return _mmod(image, fine)


def _mmod(image: np.ndarray, scale: float):
    from unmask.face.models import face_detector

    small = _resized(image, scale)
    found = face_detector()(small, 0)
    return [(_unscale(d.rect, scale), d.confidence) for d in found]


def _hog(image: np.ndarray, scale: float):
    from unmask.face.models import hog_detector

    small = _resized(image, scale)
    rects, scores, _ = hog_detector().run(small, 0, 0.0)
    return [(_unscale(r, scale), s) for r, s in zip(rects, scores)]


def _unscale(rect, scale: float) -> tuple[float, float, float, float]:
    """dlib rectangle on a copy scaled by `scale` -> (x0, y0, x1, y1) in pixel-centre coordinates
    of the original (dlib's right/bottom are inclusive pixel indices)."""
    x0 = (rect.left() + 0.5) / scale - 0.5
    y0 = (rect.top() + 0.5) / scale - 0.5
    x1 = (rect.right() + 1.5) / scale - 0.5
    y1 = (rect.bottom() + 1.5) / scale - 0.5
    return (x0, y0, x1, y1)


def _landmarks(predictor, image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    import dlib

    x0, y0, x1, y1 = box
    rect = dlib.rectangle(round(x0), round(y0), round(x1) - 1, round(y1) - 1)
    shape = predictor(image, rect)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
