"""The same-person check on masked faces (upper-face descriptor) on real masked photos."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.face import find_face, identity_distance
from unmask.face.identity import MASKED_SAME_PERSON, upper_face_descriptor
from unmask.images import read_image


@pytest.fixture(scope="module")
def descriptors(mfr2_dir):
    """Upper-face descriptors of a real masked photo (m26/4, cloth mask), an unmasked photo of the
    same person (m26/7) and one of another person (m20/1)."""
    out = {}
    for name in ("m26/4.png", "m26/7.png", "m20/1.png"):
        image = read_image(mfr2_dir / name)
        out[name] = upper_face_descriptor(image, find_face(image, path=name).landmarks)
    return out


def test_same_person_masked_pair_is_not_warned_about(descriptors):
    assert identity_distance(descriptors["m26/4.png"], descriptors["m26/7.png"]) < MASKED_SAME_PERSON


def test_other_person_is_flagged(descriptors):
    assert identity_distance(descriptors["m26/4.png"], descriptors["m20/1.png"]) > MASKED_SAME_PERSON


def test_descriptor_ignores_the_lower_face(mfr2_dir):
    """Whatever covers the face below the nose bridge does not change the descriptor."""
    image = read_image(mfr2_dir / "m26/7.png")
    face = find_face(image)
    covered = image.copy()
    below = int(face.landmarks[30, 1])  # the nose tip: the grey band starts above it
    covered[below:] = (20, 200, 60)
    a = upper_face_descriptor(image, face.landmarks)
    assert a.shape == (128,) and np.isfinite(a).all()
    assert identity_distance(a, upper_face_descriptor(covered, face.landmarks)) < 0.02


def test_procedural_mask_same_person_and_other_person(people_dir):
    """A synthetic surgical mask on one photo: the person's other photo stays under the threshold,
    a photo of someone else lies above it."""
    from unmask.face.synthetic import render_mask

    def described(image):
        return upper_face_descriptor(image, find_face(image).landmarks)

    image = read_image(people_dir / "p05/2.jpg")
    masked, _ = render_mask(image, find_face(image).landmarks, "surgical", 0)
    target = described(masked)
    same = identity_distance(target, described(read_image(people_dir / "p05/4.jpg")))
    other = identity_distance(target, described(read_image(people_dir / "p03/3.jpg")))
    assert same < MASKED_SAME_PERSON < other
