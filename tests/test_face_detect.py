"""The detector paths on real photos (../shared/data) with dark masks painted at test time:
BlazeFace, dlib alone, the order between them, and the face the user points at (a box, the eyes),
with their errors. Photos are shrunk to about 400 px so the suite stays fast."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask.errors import FaceError, UnmaskError
from unmask.face import blazeface, detect, detect_faces, find_face
from unmask.face.detect import box_from_eyes
from unmask.face.hints import parse_numbers
from unmask.region.synthetic import render_mask
from unmask.images import read_image

def _eyes(landmarks: np.ndarray) -> np.ndarray:
    return np.array([landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)])


def _error(landmarks: np.ndarray, truth: np.ndarray) -> float:
    """Mean distance of brows and eye corners in eye distances (what a mask leaves visible)."""
    points = list(range(17, 27)) + [36, 39, 42, 45]
    iod = np.hypot(*(_eyes(truth)[1] - _eyes(truth)[0]))
    return float(np.hypot(*(landmarks[points] - truth[points]).T).mean() / iod)


@pytest.fixture(scope="module")
def person(people_dir):
    """(photo about 400 px tall, dlib's landmarks on it, the same photo with a black cloth mask)."""
    photo = read_image(people_dir / "p01" / "1.jpg")
    photo = cv2.resize(photo, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
    truth = detect_faces(photo, use_blazeface=False)[0].landmarks
    masked, _ = render_mask(photo, truth, "cloth", 0, color=(30, 30, 34))
    return photo, truth, masked


def test_blazeface_eyes_are_on_the_eyes(person):
    photo, truth, masked = person
    for image in (photo, masked):
        found = blazeface.detect(image)
        assert found and found[0].score >= blazeface.SCORE
        iod = np.hypot(*(_eyes(truth)[1] - _eyes(truth)[0]))
        assert np.abs(found[0].eyes - _eyes(truth)).max() < 0.2 * iod


def test_blazeface_second_look_finds_a_small_face(person):
    photo, truth, _ = person
    # the face about 1/25 of the long side: too small for the first pass on the whole photo
    canvas = np.full((photo.shape[0] * 6, photo.shape[1] * 6, 3), 90, np.uint8)
    y, x = photo.shape[0] * 4, photo.shape[1] * 2
    canvas[y:y + photo.shape[0], x:x + photo.shape[1]] = photo
    found = blazeface.detect(canvas)
    assert found
    assert np.abs(found[0].eyes - (_eyes(truth) + [x, y])).max() < 0.3 * np.hypot(*(_eyes(truth)[1] - _eyes(truth)[0]))


def test_masked_face_found_with_visible_landmarks_in_place(person):
    _, truth, masked = person
    faces = detect_faces(masked)
    assert len(faces) == 1
    assert faces[0].detector in ("dlib", "blazeface")
    assert _error(faces[0].landmarks, truth) < 0.1


def test_box_from_blazeface_eyes_when_dlib_misses(person, monkeypatch):
    _, truth, masked = person
    monkeypatch.setattr(detect, "_dlib_box_near", lambda image, box: None)
    face = detect_faces(masked)[0]
    assert face.detector == "blazeface"
    assert _error(face.landmarks, truth) < 0.1


def test_dlib_alone_and_the_fallback_when_blazeface_finds_nothing(person, monkeypatch):
    photo, truth, _ = person
    alone = detect_faces(photo, use_blazeface=False)
    monkeypatch.setattr(blazeface, "detect", lambda image: [])
    fallback = detect_faces(photo)
    for faces in (alone, fallback):
        assert len(faces) == 1 and faces[0].detector == "dlib"
        assert _error(faces[0].landmarks, truth) < 0.05


def test_box_from_eyes_follows_the_eyes():
    x0, y0, x1, y1 = box_from_eyes(np.array([[200.0, 100.0], [100.0, 100.0]]))  # either order
    assert x1 - x0 == pytest.approx(detect.EYE_BOX_SIZE * 100)
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((150, 100 + detect.EYE_BOX_OFFSET * 100))


def test_user_box_and_eyes_give_the_face(person, monkeypatch):
    _, truth, masked = person
    monkeypatch.setattr(blazeface, "detect", lambda image: [])  # as if every detector failed
    monkeypatch.setattr(detect, "_find_boxes", lambda image: [])
    with pytest.raises(FaceError, match="no face found"):
        find_face(masked)
    by_eyes = find_face(masked, eyes=_eyes(truth).ravel())
    assert by_eyes.detector == "eyes" and _error(by_eyes.landmarks, truth) < 0.1
    by_box = find_face(masked, face_box=by_eyes.box)
    assert by_box.detector == "face_box" and _error(by_box.landmarks, truth) < 0.1


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        ({"face_box": (10, 10, 5000, 90)}, "face box 10,10,5000,90 is outside the photo"),
        ({"face_box": (90, 10, 10, 90)}, "is empty"),
        ({"face_box": (1, 2, 3)}, "must be 4 numbers"),
        ({"eyes": (10, 10, 10, 10)}, "at the same place"),
        ({"eyes": (10, -40, 60, 10)}, r"eye at \(10, -40\) is outside the photo"),
        ({"eyes": (10, 10, 60, 10), "face_box": (0, 0, 90, 90)}, "either a face box or the eyes"),
        ({"eyes": (10, 10, 60, 10), "index": 1}, "either by index or by a face box"),
    ],
)
def test_user_hint_errors_name_the_file(hint, message):
    image = np.zeros((100, 120, 3), np.uint8)
    with pytest.raises(FaceError, match=message) as info:
        find_face(image, path="target.jpg", **hint)
    assert str(info.value).startswith("target.jpg: ")


def test_parse_numbers():
    assert parse_numbers(" 1, 2.5,3,4 ", "X0,Y0,X1,Y1", "--face-box") == (1.0, 2.5, 3.0, 4.0)
    for bad in ("1,2,3", "1,2,3,4,5", "a,b,c,d", "1,2,nan,4", ""):
        with pytest.raises(UnmaskError, match="--face-box expects 4 numbers"):
            parse_numbers(bad, "X0,Y0,X1,Y1", "--face-box")


def test_window_is_the_photo_with_its_border_replicated_outside():
    """`_window`: inside the photo its pixels (a view, not copied), outside the photo's edge
    pixels repeated; the window's corner in photo pixels (boxes rounded outwards)."""
    photo = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    inside, corner = detect._window(photo, (10.5, 5.2, 30.0, 40.9))
    assert corner == (10, 5) and inside.shape == (36, 20, 3) and np.shares_memory(inside, photo)
    assert np.array_equal(inside, photo[5:41, 10:30])
    over, corner = detect._window(photo, (-3, 50, 12, 66))
    assert corner == (-3, 50) and over.shape == (16, 15, 3)
    assert np.array_equal(over[:10, 3:], photo[50:60, 0:12])
    assert np.array_equal(over[:10, 0], photo[50:60, 0]) and np.array_equal(over[15, 3:], photo[59, 0:12])
