"""Identity descriptor: dlib's ResNet face-recognition model (dlib_face_recognition_resnet_model_v1)."""

from __future__ import annotations

import numpy as np

from unmask.face.detect import Face

SAME_PERSON = 0.6
"""Descriptor distance below which dlib's model considers two faces the same person."""


def face_descriptor(image: np.ndarray, face: Face) -> np.ndarray:
    """128-D identity descriptor (float64, unit-free, norm about 1) of `face` in the uint8 RGB
    photo (H, W, 3) it was found in, from its 68 landmarks."""
    import dlib

    from unmask.face.models import descriptor_model

    x0, y0, x1, y1 = (round(v) for v in face.box)
    points = [dlib.point(round(x), round(y)) for x, y in face.landmarks]
    shape = dlib.full_object_detection(dlib.rectangle(x0, y0, x1 - 1, y1 - 1), points)
    descriptor = descriptor_model().compute_face_descriptor(np.ascontiguousarray(image), shape)
    return np.asarray(descriptor, dtype=np.float64)


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two descriptors; below `SAME_PERSON` (0.6) means same person."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))
