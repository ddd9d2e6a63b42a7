"""Faces the user points at when every detector fails: a face box or the two eye centres.

`face_box` (x0, y0, x1, y1) and `eyes` (x_left, y_left, x_right, y_right) are photo pixels of the
target (left = the eye at the smaller x). From the eyes, the face box follows
(`detect.box_from_eyes`); in a box, BlazeFace is asked once more with a lowered threshold (the user
vouches for a face there) and its eyes are used when found inside the box, otherwise the box itself.
dlib's shape predictor then gives the 68 landmarks in that box, so draw it like dlib's detector:
from the brows to the chin, ear to ear.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from unmask.errors import FaceError, UnmaskError
from unmask.face import blazeface
from unmask.face.detect import Face, box_from_eyes, face_landmarks


def parse_numbers(text: str, names: str, option: str) -> tuple[float, ...]:
    """Comma-separated numbers, one per name in `names` (e.g. "X0,Y0,X1,Y1"): "120,80,560,620"
    -> (120.0, 80.0, 560.0, 620.0); `UnmaskError` naming `option` for anything else."""
    count = len(names.split(","))
    try:
        values = tuple(float(p) for p in text.split(","))
    except ValueError:
        values = ()
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise UnmaskError(f"{option} expects {count} numbers as {names} (photo pixels), got '{text}'")
    return values


def given_face(image: np.ndarray, face_box: Sequence[float] | None, eyes: Sequence[float] | None,
               path: str | Path | None = None) -> Face:
    """The `Face` the user points at in a uint8 RGB photo (H, W, 3): by `eyes` when given, else by
    `face_box`. `FaceError` (naming `path`) for both at once, a value that is not 4 finite numbers,
    an empty box, coincident eyes, or a box or eye outside the photo."""
    if face_box is not None and eyes is not None:
        raise FaceError("give either a face box or the eyes, not both", path)
    h, w = image.shape[:2]
    if eyes is not None:
        points = np.array(_four(eyes, "eyes", path)).reshape(2, 2)
        for x, y in points:
            _inside(x, y, w, h, f"the eye at ({x:g}, {y:g})", path)
        if np.hypot(*(points[1] - points[0])) < 1:
            raise FaceError(f"the two eyes are at the same place ({points[0][0]:g}, {points[0][1]:g})", path)
        box = box_from_eyes(points)
        return Face(box, 1.0, face_landmarks(image, box), "eyes")
    x0, y0, x1, y1 = _four(face_box, "face box", path)
    if not (x0 < x1 and y0 < y1):
        raise FaceError(f"the face box {x0:g},{y0:g},{x1:g},{y1:g} is empty: it must be X0,Y0,X1,Y1 "
                        "with X0 < X1 and Y0 < Y1", path)
    for x, y in ((x0, y0), (x1, y1)):
        _inside(x, y, w, h, f"the face box {x0:g},{y0:g},{x1:g},{y1:g}", path)
    found = blazeface.detect_in(image, (x0, y0, x1, y1))
    box = box_from_eyes(found[0].eyes) if found else (x0, y0, x1, y1)
    return Face(box, 1.0, face_landmarks(image, box), "face_box")


def _four(values: Sequence[float], name: str, path: str | Path | None) -> tuple[float, float, float, float]:
    try:
        numbers = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        numbers = ()
    if len(numbers) != 4 or not all(math.isfinite(v) for v in numbers):
        raise FaceError(f"the {name} must be 4 numbers, got {values!r}", path)
    return numbers  # type: ignore[return-value]


def _inside(x: float, y: float, width: int, height: int, what: str, path: str | Path | None) -> None:
    """`FaceError` when (x, y) lies outside the photo (pixel edges -0.5 .. size - 0.5 allowed)."""
    if not (-0.5 <= x <= width - 0.5 and -0.5 <= y <= height - 0.5):
        raise FaceError(f"{what} is outside the photo ({width}x{height} px)", path)
