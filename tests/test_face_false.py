"""BlazeFace's false faces (`detect.false_face`): the rule on made-up detections, and the photo it
was found on (expressions/happy.jpg: a building wall beside the face, larger than the face)."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.face import blazeface, detect, detect_faces, find_face
from unmask.face.blazeface import Detection
from unmask.face.detect import FALSE_VIEW_SCORE, FRONTAL_EYE_SHARE, Face, false_face
from unmask.images import read_image


def _detection(eye_distance: float, score: float = 0.55) -> Detection:
    """A 100 px BlazeFace box at (100, 100) with its eyes `eye_distance` px apart."""
    keypoints = np.array([[150 - eye_distance / 2, 140], [150 + eye_distance / 2, 140], [150, 165],
                          [150, 185], [105, 145], [195, 145]], dtype=np.float64)
    return Detection(box=(100.0, 100.0, 200.0, 200.0), score=score, keypoints=keypoints)


def _face(detector: str) -> Face:
    return Face((100.0, 100.0, 200.0, 200.0), 0.55, np.zeros((68, 2)), detector)


@pytest.mark.parametrize(
    ("detector", "eye_share", "views", "is_false"),
    [
        ("blazeface", FRONTAL_EYE_SHARE + 0.03, FALSE_VIEW_SCORE - 0.05, True),  # frontal, lost across views
        ("blazeface", FRONTAL_EYE_SHARE + 0.03, FALSE_VIEW_SCORE + 0.05, False),  # frontal, kept across views
        ("blazeface", FRONTAL_EYE_SHARE - 0.03, FALSE_VIEW_SCORE - 0.05, False),  # turned: may be weak
        ("dlib", FRONTAL_EYE_SHARE + 0.03, FALSE_VIEW_SCORE - 0.05, False),  # MMOD confirmed it
    ],
)
def test_false_face_rule(monkeypatch, detector, eye_share, views, is_false):
    image = np.zeros((300, 300, 3), np.uint8)
    detection = _detection(100 * eye_share)
    assert blazeface.eye_share(detection) == pytest.approx(eye_share)
    monkeypatch.setattr(blazeface, "view_score", lambda photo, d: views)
    assert false_face(image, _face(detector), detection) is is_false


def test_detect_faces_leaves_false_faces_out(monkeypatch):
    """Only the face the rule calls false is left out; the others keep their order (largest first)."""
    image = np.zeros((300, 300, 3), np.uint8)
    big, small = _face("blazeface"), _face("blazeface")
    big.box, small.box = (0.0, 0.0, 250.0, 250.0), (0.0, 0.0, 120.0, 120.0)
    pairs = [(small, _detection(40)), (big, _detection(40))]
    monkeypatch.setattr(detect, "blazeface_faces", lambda photo: pairs)
    monkeypatch.setattr(detect, "false_face", lambda photo, face, d: face is big)
    assert detect_faces(image) == [small]
    monkeypatch.setattr(detect, "false_face", lambda photo, face, d: False)
    assert detect_faces(image) == [big, small]


def test_happy_photo_gives_its_one_face(expressions_dir):
    """happy.jpg (500x282): BlazeFace also finds the building wall on the left (larger than the
    face, not confirmed by MMOD); only the face, around (320, 145), is left."""
    image = read_image(expressions_dir / "happy.jpg")
    found = blazeface.detect(image)
    assert len(found) == 2  # the wall is still a BlazeFace detection; the rule drops it
    faces = detect_faces(image)
    assert len(faces) == 1
    x0, y0, x1, y1 = find_face(image).box
    assert x0 < 320 < x1 and y0 < 145 < y1 and 100 < x1 - x0 < 200
    wall = next(d for d in found if d.box[0] < 100)
    assert blazeface.eye_share(wall) >= FRONTAL_EYE_SHARE
    assert blazeface.view_score(image, wall) < FALSE_VIEW_SCORE
