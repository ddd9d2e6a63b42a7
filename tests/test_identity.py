"""The same-person check on masked faces (upper face: descriptor and sharpness) on real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask.face import find_face, identity_distance
from unmask.face.identity import (
    MASKED_SAME_PERSON,
    SHARP_DETAIL,
    SHARP_SAME_PERSON,
    same_person_limit,
    upper_face,
)
from unmask.images import read_image


def described(image: np.ndarray):
    return upper_face(image, find_face(image).landmarks)


@pytest.fixture(scope="module")
def faces(mfr2_dir):
    """Upper faces of a real masked photo (m26/4, cloth mask), an unmasked photo of the same
    person (m26/7) and one of another person (m20/1)."""
    return {name: described(read_image(mfr2_dir / name)) for name in ("m26/4.png", "m26/7.png", "m20/1.png")}


def test_same_person_masked_pair_is_not_warned_about(faces):
    a, b = faces["m26/4.png"], faces["m26/7.png"]
    assert identity_distance(a.descriptor, b.descriptor) < same_person_limit(a, b)


def test_other_person_is_flagged(faces):
    a, b = faces["m26/4.png"], faces["m20/1.png"]
    assert identity_distance(a.descriptor, b.descriptor) > same_person_limit(a, b)


def test_descriptor_ignores_the_lower_face(mfr2_dir):
    """Whatever covers the face below the nose bridge does not change the descriptor."""
    image = read_image(mfr2_dir / "m26/7.png")
    face = find_face(image)
    covered = image.copy()
    below = int(face.landmarks[30, 1])  # the nose tip: the grey band starts above it
    covered[below:] = (20, 200, 60)
    a = upper_face(image, face.landmarks).descriptor
    assert a.shape == (128,) and np.isfinite(a).all()
    assert identity_distance(a, upper_face(covered, face.landmarks).descriptor) < 0.02


def test_procedural_mask_same_person_and_other_person(people_dir):
    """A synthetic surgical mask on a sharp photo: the person's other photo stays under the
    (sharp) limit, a photo of someone else lies above it."""
    from unmask.region.synthetic import render_mask

    image = read_image(people_dir / "p05/2.jpg")
    masked, _ = render_mask(image, find_face(image).landmarks, "surgical", 0)
    target = described(masked)
    same, other = described(read_image(people_dir / "p05/4.jpg")), described(read_image(people_dir / "p03/3.jpg"))
    assert same_person_limit(target, same) == SHARP_SAME_PERSON
    assert identity_distance(target.descriptor, same.descriptor) < SHARP_SAME_PERSON
    assert identity_distance(target.descriptor, other.descriptor) > same_person_limit(target, other)


def test_a_blurred_face_gets_the_wider_limit(people_dir):
    """Blurring the photo lowers the eye band's detail below `SHARP_DETAIL`: the pair is then
    judged with `MASKED_SAME_PERSON`, and the descriptor moves less than the limits differ."""
    image = read_image(people_dir / "p05/4.jpg")
    face = find_face(image)
    sharp = upper_face(image, face.landmarks)
    blurred = upper_face(cv2.GaussianBlur(image, (0, 0), 4.0), face.landmarks)
    assert blurred.detail < SHARP_DETAIL <= sharp.detail
    assert same_person_limit(sharp, sharp) == SHARP_SAME_PERSON
    assert same_person_limit(sharp, blurred) == same_person_limit(blurred, sharp) == MASKED_SAME_PERSON
    assert identity_distance(sharp.descriptor, blurred.descriptor) < SHARP_SAME_PERSON
