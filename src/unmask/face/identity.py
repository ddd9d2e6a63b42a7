"""Identity descriptors: dlib's ResNet face-recognition model (dlib_face_recognition_resnet_model_v1).

`face_descriptor` describes a whole, unmasked face. A face mask hides half of what that descriptor
looks at and moves the landmarks that place dlib's 150 px face chip, so masked targets score
0.6-0.7 against their own person. `upper_face` describes only the part a mask leaves visible,
the same way for a masked target and an unmasked reference: the chip is placed from the visible
landmarks alone (the hidden ones taken from the mean face shape), everything below the top of
the nose bridge is painted flat grey, and the descriptors of two views are averaged: the chip
greyed from row 50 and its mirror image greyed from row 60. It also measures how sharp the chip's
eyes are: a blurred or tiny face gives a noisier descriptor, so `same_person_limit` allows two
sharp faces less distance than others. The limits were measured on masked/unmasked pairs
(docs/identity.md, benchmarks/bench_identity.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unmask.face.detect import Face

SAME_PERSON = 0.6
"""Descriptor distance below which dlib's model considers two faces the same person."""

MASKED_SAME_PERSON = 0.60
"""Upper-face distance above which a reference is probably another person than the masked target
when either face is not sharp (`SHARP_DETAIL`). The 98th percentile of such same-person pairs is
0.60 on the real masks of mfr2; at 0.60 each photo family stays under 2 % false warnings
(docs/identity.md)."""

SHARP_SAME_PERSON = 0.55
"""Upper-face distance above which two sharp faces (both `detail` >= `SHARP_DETAIL`) are probably
two people. The 98th percentile of sharp same-person pairs was 0.51 both on the people/-based
pairs and on the real masks of mfr2, each measured without the other; at 0.55 (with
`MASKED_SAME_PERSON` for the other pairs) each family stays under 2 % false warnings
(docs/identity.md)."""

SHARP_DETAIL = 12.0
"""`UpperFace.detail` from which a face counts as sharp: about the median of the measured pairs
(people/ photos 26-29, the 160 px mfr2 crops 11)."""

CHIP_SIZE = 150
"""Side of dlib's face chip, which the descriptor network reads."""

GREY_FROM_ROWS = (50, 60)
"""First chip row painted grey in `upper_face`'s two views, the chip and its mirror
image: row 50 lies between landmarks 27 (row 45) and 28 (row 55), the top of the nose bridge,
above the top edge of nearly every face mask; row 60 is halfway down to landmark 29 (row 65).
Two views greyed differently average out more of the descriptor's noise than two greyed alike
(rows 45-76 and several combinations were measured, docs/identity.md)."""

EYE_BAND_ROWS = (20, 50)
"""Chip rows (brows to lower eyelids) whose Laplacian contrast is `UpperFace.detail`."""

_CHIP_PADDING = 0.25  # dlib's default padding around the face in its chip
_GREY = 128


def face_descriptor(image: np.ndarray, face: Face) -> np.ndarray:
    """128-D identity descriptor (float64, unit-free, norm about 1) of `face` in the uint8 RGB
    photo (H, W, 3) it was found in, from its 68 landmarks."""
    from unmask.face.models import descriptor_model

    shape = _detection(face.box, face.landmarks)
    descriptor = descriptor_model().compute_face_descriptor(np.ascontiguousarray(image), shape)
    return np.asarray(descriptor, dtype=np.float64)


@dataclass(frozen=True)
class UpperFace:
    """What `upper_face` measures of one face: `descriptor` (128,) float64, and `detail`, the
    standard deviation of the Laplacian of the chip's eye band (`EYE_BAND_ROWS`, grey levels 0-255;
    a sharp photo 20-40, a blurred or tiny face under 10)."""

    descriptor: np.ndarray
    detail: float


def upper_face(image: np.ndarray, landmarks: np.ndarray) -> UpperFace:
    """The face above the nose bridge, for a masked or unmasked face alike: 68 landmarks (68, 2) in
    the uint8 RGB photo (H, W, 3); only those a mask leaves visible (`unmask.face.hidden.VISIBLE`)
    place the chip. Compare two descriptors with `identity_distance`; above `same_person_limit`
    they are probably two people."""
    import cv2
    import dlib

    from unmask.face.hidden import estimate_hidden_landmarks
    from unmask.face.models import descriptor_model

    points = estimate_hidden_landmarks(landmarks)  # the mask-free shape the chip is placed by
    shape = _detection((*points.min(axis=0), *points.max(axis=0)), points)
    chip = np.array(dlib.get_face_chip(np.ascontiguousarray(image), shape, CHIP_SIZE, _CHIP_PADDING))
    band = cv2.cvtColor(chip[slice(*EYE_BAND_ROWS)], cv2.COLOR_RGB2GRAY).astype(np.float64)
    detail = float(cv2.Laplacian(band, cv2.CV_64F).std())
    views = [chip.copy(), np.ascontiguousarray(chip[:, ::-1])]
    for view, row in zip(views, GREY_FROM_ROWS):
        view[row:] = _GREY
    model = descriptor_model()
    descriptor = np.mean(np.asarray([model.compute_face_descriptor(view) for view in views], np.float64), axis=0)
    return UpperFace(descriptor, detail)


def same_person_limit(a: UpperFace, b: UpperFace) -> float:
    """The upper-face distance above which `a` and `b` are probably two people:
    `SHARP_SAME_PERSON` when both are sharp (`detail` >= `SHARP_DETAIL`), else `MASKED_SAME_PERSON`."""
    return SHARP_SAME_PERSON if min(a.detail, b.detail) >= SHARP_DETAIL else MASKED_SAME_PERSON


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two descriptors; below `SAME_PERSON` (0.6) means same person."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


def _detection(box, points: np.ndarray):
    """dlib's full_object_detection of a box (x0, y0, x1, y1) and 68 points (68, 2)."""
    import dlib

    x0, y0, x1, y1 = (round(v) for v in box)
    return dlib.full_object_detection(dlib.rectangle(x0, y0, x1 - 1, y1 - 1),
                                      [dlib.point(round(x), round(y)) for x, y in points])
