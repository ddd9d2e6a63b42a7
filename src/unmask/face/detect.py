"""Face detection (dlib's CNN MMOD detector, which also finds masked faces) and 68 landmarks.

Detection runs on downscaled copies to stay fast; the landmark predictor runs at full resolution.
Search order, cheapest first (each later stage runs only when the earlier ones found nothing):

1. MMOD on a copy of about `COARSE_PIXELS` pixels: finds every face wider than about a quarter
   of the photo's long side (portraits, selfies, phone photos of one person).
2. dlib's HOG detector at the scale where a `MIN_FACE_SIZE` face is still detectable: fast,
   finds small unmasked faces (full-body shots, groups).
3. MMOD at that scale (at most `FINE_PIXELS` pixels): small masked faces. Slow, rarely needed.

Small photos (shorter side below 256 px, typically tight face crops such as 160x160) are padded
first, because both detectors miss faces that touch the image edge, and searched with more
effort (see `_find_boxes_small`).
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

_PAD_BELOW = 256
"""Photos whose shorter side is below this many pixels get the small-photo search."""


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
    boxes = _find_boxes(image)
    # the predictor may look outside a face at the photo's edge: give it the replicated border
    pad = max(image.shape[:2]) // 4
    padded = _pad(image, pad, replicate=True)
    predictor = landmark_predictor()
    faces = []
    for (x0, y0, x1, y1), score in boxes:
        landmarks = _landmarks(predictor, padded, (x0 + pad, y0 + pad, x1 + pad, y1 + pad))
        faces.append(Face(box=(x0, y0, x1, y1), score=float(score), landmarks=landmarks - pad))
    faces.sort(key=lambda face: face.width, reverse=True)
    return faces


def find_face(image: np.ndarray, index: int | None = None, path: str | Path | None = None) -> Face:
    """The face to work on: the largest, or the `index`-th largest (0 = largest).

    Raises `FaceError` (naming `path` when given) when no face is found, when `index` is out of
    range, or when the chosen face is narrower than `MIN_FACE_SIZE` pixels.
    """
    return choose_face(detect_faces(image), index, path)


def choose_face(faces: list[Face], index: int | None = None, path: str | Path | None = None) -> Face:
    """`find_face` on faces already detected (largest first): the same choice and errors."""
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


def _pad(image: np.ndarray, pad: int, replicate: bool) -> np.ndarray:
    """Pad all sides by `pad` pixels with the replicated border or the median colour."""
    import cv2

    if not replicate:
        colour = np.median(image.reshape(-1, 3), axis=0).tolist()
        return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=colour)
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)


def _resized(image: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    if scale == 1.0:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interpolation)


Boxes = list[tuple[tuple[float, float, float, float], float]]


def _find_boxes(image: np.ndarray) -> Boxes:
    """Boxes (x0, y0, x1, y1) in photo pixels with scores, by the staged search."""
    h, w = image.shape[:2]
    if min(h, w) < _PAD_BELOW:
        return _find_boxes_small(image)
    pixels = h * w
    coarse = min(1.0, math.sqrt(COARSE_PIXELS / pixels))
    boxes = _mmod(image, coarse)
    if boxes:
        return boxes
    boxes = _hog(image, min(_HOG_SMALLEST / MIN_FACE_SIZE, math.sqrt(4 * FINE_PIXELS / pixels)))
    fine = min(1.0, _MMOD_SMALLEST / MIN_FACE_SIZE, math.sqrt(FINE_PIXELS / pixels))
    if boxes or fine <= coarse * 1.05:
        return boxes
    return _mmod(image, fine)


def _find_boxes_small(image: np.ndarray) -> Boxes:
    """Small photos, typically tight face crops where the face touches the edges: pad them and
    try MMOD, on an enlarged copy, on the mirrored copy (the detector is not symmetric), then HOG
    on several paddings with a lowered threshold (masked faces score low), keeping only HOG boxes
    at least a third of the short side wide (the low threshold also fires on small patches)."""
    short = min(image.shape[:2])
    pad = short // 4
    padded = _pad(image, pad, replicate=True)
    boxes = _shifted(_mmod(padded, 1.0), pad) or _shifted(_mmod(padded, 1.4), pad)
    if not boxes:
        width = padded.shape[1]
        mirrored = _mmod(np.ascontiguousarray(padded[:, ::-1]), 1.0)
        boxes = _shifted([((width - x1, y0, width - x0, y1), s) for (x0, y0, x1, y1), s in mirrored], pad)
    for fraction, replicate, upsample in _SMALL_HOG_TRIES:
        if boxes:
            return boxes
        pad = round(short * fraction)
        found = _hog(_pad(image, pad, replicate), 1.0, upsample, _SMALL_HOG_THRESHOLD)
        boxes = [box for box in _shifted(found, pad) if box[0][2] - box[0][0] >= short / 3]
    return boxes


_SMALL_HOG_TRIES = [(0.25, True, 1), (0.5, True, 0), (0.25, False, 1), (0.5, False, 0), (0.25, True, 0)]
"""(pad as a fraction of the short side, replicate (else median colour), HOG upsampling) tried in
turn on small photos; together they find most masked faces in tight crops that MMOD misses."""

_SMALL_HOG_THRESHOLD = -0.6
"""HOG score threshold for small photos (dlib's default is 0); a masked face scores lower."""


def _shifted(boxes: Boxes, pad: int) -> Boxes:
    return [((x0 - pad, y0 - pad, x1 - pad, y1 - pad), score) for (x0, y0, x1, y1), score in boxes]


def _mmod(image: np.ndarray, scale: float) -> Boxes:
    from unmask.face.models import face_detector

    small = _resized(image, scale)
    found = face_detector()(small, 0)
    return [(_unscale(d.rect, scale), d.confidence) for d in found]


def _hog(image: np.ndarray, scale: float, upsample: int = 0, threshold: float = 0.0) -> Boxes:
    from unmask.face.models import hog_detector

    small = _resized(image, scale)
    rects, scores, _ = hog_detector().run(small, upsample, threshold)
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
