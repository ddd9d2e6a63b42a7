"""Faces in tight crops (such as 160x160 face crops): the detector misses many masked faces that
fill a small photo, so those photos are searched again on an enlarged copy."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from unmask.errors import FaceError
from unmask.face.detect import Face, find_face

SMALL_PHOTO = 400
"""Photos whose shorter side is below this (px) get the enlarged second search."""


def find_face_in_crop(image: np.ndarray, index: int | None = None, path: str | Path | None = None) -> Face:
    """`find_face`, plus a second search on a copy enlarged 2x when a small photo shows no face.

    image: uint8 RGB (H, W, 3). Returns a `Face` in the photo's own pixels; raises `FaceError`
    like `find_face` when both searches fail.
    """
    try:
        return find_face(image, index=index, path=path)
    except FaceError:
        if min(image.shape[:2]) >= SMALL_PHOTO:
            raise
    enlarged = cv2.resize(image, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    face = find_face(enlarged, index=index, path=path)
    # pixel centres: x_small = (x_large + 0.5) / 2 - 0.5
    box = tuple((v + 0.5) / 2 - 0.5 for v in face.box)
    return replace(face, box=box, landmarks=(face.landmarks + 0.5) / 2 - 0.5)
