"""Face detection and 68 landmarks: BlazeFace first, then dlib's detectors, or the user's box or eyes.

BlazeFace (`face/blazeface.py`, its models packaged with unmask) runs first: a few
milliseconds on any photo, and it finds faces under black, white and N95 masks. For each of its
faces, dlib's MMOD looks at a small window around it: its box when it sees the face too (the box
dlib's shape predictor was trained on), else a box from BlazeFace's eyes (`box_from_eyes`). dlib's
68-point predictor runs in that box at full resolution. A face MMOD does not confirm that
BlazeFace sees from the front but does not keep across views (mirrored, larger and smaller
windows) is a false one and left out (`false_face`: a wall, an ear). When BlazeFace finds
nothing, or only false faces, dlib searches the photo (on downscaled copies; each later stage
only when the earlier ones found nothing):

1. MMOD on a copy of about `COARSE_PIXELS` pixels: finds every face wider than about a quarter
   of the photo's long side (portraits, selfies, phone photos of one person).
2. dlib's HOG detector at the scale where a `SEARCH_FACE_SIZE` face is still detectable: fast,
   finds small unmasked faces (full-body shots, groups).
3. MMOD at that scale (at most `FINE_PIXELS` pixels): small masked faces. Slow, rarely needed.

Small photos (shorter side below 256 px, typically tight face crops such as 160x160) are padded
first, because both detectors miss faces that touch the image edge, and searched with more
effort (see `_find_boxes_small`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unmask.errors import FaceError
from unmask.face.blazeface import Detection, inside_share

MIN_FACE_SIZE = 48
"""Smallest usable face: detector box width in photo pixels (the box spans brows to chin). Measured
on people/ photos scaled down (`docs/faces.md`): at 48 px dlib's landmarks stay within 3.3 % of the
eye distance of the full-size ones (median; 4.1 % p90); on masked faces the mask, not the size,
sets the error (6-8 %) down to 40 px."""

SEARCH_FACE_SIZE = 64
"""Face width (px) the dlib fallback search on large photos is scaled for (a 48 px search would
read 1.8 times the pixels); smaller faces are found by BlazeFace and the small-photo search."""

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


EYE_BOX_OFFSET = 0.31
"""Centre of a dlib-style face box below the eye midpoint, in eye distances (median over the
people/ photos of dlib's MMOD box against BlazeFace's eyes; spread 0.12)."""

EYE_BOX_SIZE = 2.31
"""Side of a dlib-style face box in eye distances (same measurement; spread 0.25)."""


BLAZE_BOX_SHARE = 0.93
"""dlib's box width over BlazeFace's (median over the people/ photos; spread 0.08): the least
width of a box from BlazeFace's eyes."""


@dataclass
class Face:
    """One face. `box` is (x0, y0, x1, y1) in photo pixels, a box like dlib's detector draws
    (brows to chin); `score` the detector's confidence (BlazeFace 0..1, MMOD about 0..1.2; HOG
    scores from dlib's fallback stage are on their own scale; 1.0 for a face the user gave);
    `landmarks` (68, 2) float64 (x, y) photo pixels in iBUG 300-W order; `detector` which found it:
    "blazeface", "dlib", "face_box" or "eyes" (the user's)."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray
    detector: str = "dlib"

    @property
    def width(self) -> float:
        """Box width in photo pixels."""
        return self.box[2] - self.box[0]


def detect_faces(image: np.ndarray, use_blazeface: bool = True) -> list[Face]:
    """All faces found in a uint8 RGB photo (H, W, 3), largest first (see the module docstring
    for which faces are searched; BlazeFace's false faces, `false_face`, are left out); an empty
    list when there is none. `use_blazeface=False` searches with dlib alone (the detector before
    BlazeFace; for comparisons)."""
    image = _check_image(image)
    faces = [face for face, d in blazeface_faces(image) if not false_face(image, face, d)] if use_blazeface else []
    if not faces:
        faces = [Face(box, float(score), face_landmarks(image, box), "dlib") for box, score in _find_boxes(image)]
    faces.sort(key=lambda face: face.width, reverse=True)
    return faces


def blazeface_faces(image: np.ndarray) -> list[tuple[Face, Detection]]:
    """Every face BlazeFace finds in a uint8 RGB photo (H, W, 3), as a `Face` (dlib's box and
    score when MMOD sees it too, else a box from BlazeFace's eyes and BlazeFace's score; the 68
    landmarks) beside BlazeFace's own detection, in BlazeFace's order (best first)."""
    from unmask.face import blazeface

    image = _check_image(image)
    pairs = []
    for d in blazeface.detect(image):
        box, score, detector = _dlib_box_near(image, d.box) or (
            box_from_eyes(d.eyes, BLAZE_BOX_SHARE * (d.box[2] - d.box[0])), d.score, "blazeface")
        pairs.append((Face(box, float(score), face_landmarks(image, box), detector), d))
    return pairs


FRONTAL_EYE_SHARE = 0.399
"""Eye distance in box widths (`blazeface.eye_share`) from which `false_face` takes a BlazeFace face
as seen from the front. Fitted with `FALSE_VIEW_SCORE` by scripts/fit_false_faces.py on every face
found in people/, expressions/, mfr2/ and wild/ (438 faces, 12 false by eye): half-way between the
turned true faces that score below `FALSE_VIEW_SCORE` across views (eye share up to 0.38) and the
false ones it drops (0.417, 0.418)."""

FALSE_VIEW_SCORE = 0.553
"""A face seen from the front that dlib's MMOD does not confirm is false when BlazeFace's mean score
over six views (`blazeface.view_score`) is below this. Same fit: half-way between the false faces
it drops (0.42, 0.44) and the lowest true face seen from the front (0.63); leaving out any one
folder, the fit on the others drops no true face of it (docs/evaluation.md)."""


def false_face(image: np.ndarray, face: Face, detection: Detection) -> bool:
    """Whether a face BlazeFace found (`detection`, and the `Face` made of it) in the uint8 RGB
    photo (H, W, 3) is a false one: dlib's MMOD does not confirm it (`face.detector` is
    "blazeface"), BlazeFace sees it from the front (eyes at least `FRONTAL_EYE_SHARE` box widths
    apart) and does not keep it across views (`blazeface.view_score` below `FALSE_VIEW_SCORE`).
    A masked face is often not confirmed and scores low once, but a face seen from the front keeps
    its score in the mirrored photo and in larger and smaller windows; a turned one need not, so it
    is kept. Both constants are fitted by scripts/fit_false_faces.py (docs/faces.md)."""
    from unmask.face import blazeface

    return (face.detector == "blazeface" and blazeface.eye_share(detection) >= FRONTAL_EYE_SHARE
            and blazeface.view_score(image, detection) < FALSE_VIEW_SCORE)


def find_face(
    image: np.ndarray,
    index: int | None = None,
    path: str | Path | None = None,
    face_box: Sequence[float] | None = None,
    eyes: Sequence[float] | None = None,
) -> Face:
    """The face to work on: the largest, or the `index`-th largest (0 = largest); or the face the
    user points at, `face_box` (x0, y0, x1, y1) or `eyes` (x_left, y_left, x_right, y_right),
    photo pixels (see `unmask.face.hints`; `index` is then not allowed).

    Raises `FaceError` (naming `path` when given) when no face is found, when `index` is out of
    range, when the chosen face is narrower than `MIN_FACE_SIZE` pixels, or when the box or the
    eyes are malformed or outside the photo.
    """
    if face_box is None and eyes is None:
        return choose_face(detect_faces(image), index, path)
    from unmask.face.hints import given_face

    if index is not None:
        raise FaceError("choose the face either by index or by a face box / eyes, not both", path)
    return choose_face([given_face(_check_image(image), face_box, eyes, path)], None, path)


def _dlib_box_near(image: np.ndarray, box: tuple[float, float, float, float]) -> tuple | None:
    """dlib's MMOD box (its predictor's own convention, better landmarks than a box from the
    eyes when the eyes hide behind sunglasses) for the face BlazeFace found in `box`: MMOD on a
    window `_NEAR_WINDOW` times the box, scaled so the face is `_NEAR_FACE` px wide (cheap). Returns
    (box, score, "dlib") for the MMOD box overlapping `box` most, or None when MMOD misses it."""
    x0, y0, x1, y1 = box
    margin = (_NEAR_WINDOW - 1) / 2 * max(x1 - x0, y1 - y0)
    window, (wx0, wy0) = _window(image, (x0 - margin, y0 - margin, x1 + margin, y1 + margin))
    near = _mmod(window, min(2.0, _NEAR_FACE / max(x1 - x0, y1 - y0)))
    boxes = [((bx0 + wx0, by0 + wy0, bx1 + wx0, by1 + wy0), s) for (bx0, by0, bx1, by1), s in near]
    best = max(boxes, default=None, key=lambda b: inside_share(b[0], box))
    return (best[0], best[1], "dlib") if best is not None and inside_share(best[0], box) > 0.5 else None


def _window(image: np.ndarray, box: tuple[float, float, float, float]) -> tuple[np.ndarray, tuple[int, int]]:
    """The photo's pixels in `box` (x0, y0, x1, y1; rounded outwards), the replicated border where
    the box leaves the photo, and the window's top-left corner in photo pixels. A window inside the
    photo is a view of it (not contiguous)."""
    import cv2

    h, w = image.shape[:2]
    wx0, wy0 = int(np.floor(box[0])), int(np.floor(box[1]))
    wx1, wy1 = max(int(np.ceil(box[2])), wx0 + 1), max(int(np.ceil(box[3])), wy0 + 1)
    cx0, cy0 = min(max(wx0, 0), w - 1), min(max(wy0, 0), h - 1)
    cx1, cy1 = max(min(wx1, w), cx0 + 1), max(min(wy1, h), cy0 + 1)
    if (cx0, cy0, cx1, cy1) == (wx0, wy0, wx1, wy1):
        return image[wy0:wy1, wx0:wx1], (wx0, wy0)
    window = cv2.copyMakeBorder(image[cy0:cy1, cx0:cx1], cy0 - wy0, max(wy1 - cy1, 0), cx0 - wx0,
                                max(wx1 - cx1, 0), cv2.BORDER_REPLICATE)
    return window, (wx0, wy0)


_NEAR_WINDOW = 2.0
"""Side of the window MMOD searches around a BlazeFace box, in box sides."""

_NEAR_FACE = 90
"""Face width (px) MMOD sees in that window (it finds faces from about 60 px)."""


def box_from_eyes(eyes: np.ndarray, min_width: float = 0.0) -> tuple[float, float, float, float]:
    """A dlib-style face box (x0, y0, x1, y1) from the two eye centres (2, 2) (x, y) photo pixels:
    `EYE_BOX_SIZE` eye distances wide (at least `min_width`: a face turned sideways has its eyes
    closer together), centred `EYE_BOX_OFFSET` eye distances below their midpoint (along the
    face's own down direction, so a tilted head gets its box where the face is)."""
    left, right = sorted(np.asarray(eyes, dtype=np.float64), key=lambda p: p[0])
    across = right - left
    down = np.array([-across[1], across[0]])
    cx, cy = (left + right) / 2 + EYE_BOX_OFFSET * down
    half = max(EYE_BOX_SIZE * float(np.hypot(*across)), min_width) / 2
    return (float(cx - half), float(cy - half), float(cx + half), float(cy + half))


def face_landmarks(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """dlib's 68 landmarks (68, 2) float64 photo pixels of the face in `box` (x0, y0, x1, y1),
    predicted at full resolution on a window around the box (the replicated border where the
    window leaves the photo: the predictor may look outside a face at the photo's edge)."""
    from unmask.face.models import landmark_predictor

    x0, y0, x1, y1 = box
    margin = max(x1 - x0, y1 - y0)
    window, (wx0, wy0) = _window(image, (x0 - margin, y0 - margin, x1 + margin, y1 + margin))
    shifted = (x0 - wx0, y0 - wy0, x1 - wx0, y1 - wy0)
    return _landmarks(landmark_predictor(), np.ascontiguousarray(window), shifted) + [wx0, wy0]


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
    boxes = _hog(image, min(_HOG_SMALLEST / SEARCH_FACE_SIZE, math.sqrt(4 * FINE_PIXELS / pixels)))
    fine = min(1.0, _MMOD_SMALLEST / SEARCH_FACE_SIZE, math.sqrt(FINE_PIXELS / pixels))
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

    small = np.ascontiguousarray(_resized(image, scale))  # dlib reads contiguous pixels
    found = face_detector()(small, 0)
    return [(_unscale(d.rect, scale), d.confidence) for d in found]


def _hog(image: np.ndarray, scale: float, upsample: int = 0, threshold: float = 0.0) -> Boxes:
    from unmask.face.models import hog_detector

    small = np.ascontiguousarray(_resized(image, scale))
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
