"""Things beside a mask that are not mask (the region network's negatives): where each kind lands,
what it leaves alone, reproducibility, and the skin colour a hand takes."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.region.frame import face_frame
from unmask.region.negatives import NEGATIVE_KINDS, OVER_MASK, paint_negative, skin_colour
from test_synthetic import face_photo, template_landmarks

SIZE = 320
LANDMARKS = template_landmarks(160, 120, 60)

# where each kind's pixels must lie, in face-frame units (x right, y down, eye distance 1)
WHERE = {
    "hair": lambda x, y: (np.abs(x) > 0.4) | (y < -0.4),  # beside the cheeks or over the forehead
    "collar": lambda x, y: y > 1.7,  # under the chin (at 1.85)
    "scarf": lambda x, y: y > 0.3,  # below the jaw line's top
    "beard": lambda x, y: (y > -0.5) & (np.abs(x) < 1.5),
    "hand": lambda x, y: y > -1.0,
    "microphone": lambda x, y: y > 0.3,
    "sunglasses": lambda x, y: (np.abs(y) < 0.5) & (np.abs(x) < 1.0),
}


@pytest.mark.parametrize("kind", NEGATIVE_KINDS)
def test_each_kind_lands_where_it_belongs(kind: str) -> None:
    photo = face_photo(SIZE)
    painted, covered = paint_negative(photo, LANDMARKS, kind, np.random.default_rng(1))
    assert painted.shape == photo.shape and painted.dtype == np.uint8
    assert covered.sum() > 150, kind
    coords = face_frame(LANDMARKS).grid(covered.shape)
    inside = WHERE[kind](coords[..., 0], coords[..., 1])
    assert inside[covered].mean() > 0.97, kind
    changed = np.any(painted != photo, axis=2)
    assert changed[covered].mean() > 0.95  # what it covers is painted...
    assert not changed[~inside & ~covered].any() or kind == "beard"  # ...and nothing far from it
    if kind == "beard":  # stubble lets skin through, within its own place
        assert changed[~inside].mean() < 0.01


def test_same_seed_same_picture_and_unknown_kind() -> None:
    photo = face_photo(SIZE)
    first = paint_negative(photo, LANDMARKS, "hair", np.random.default_rng(5))
    second = paint_negative(photo, LANDMARKS, "hair", np.random.default_rng(5))
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    with pytest.raises(ValueError, match="unknown kind"):
        paint_negative(photo, LANDMARKS, "hat", np.random.default_rng(0))
    with pytest.raises(ValueError, match="68, 2"):
        paint_negative(photo, LANDMARKS[:60], "hair", np.random.default_rng(0))


def test_over_mask_kinds_are_the_ones_in_front() -> None:
    assert OVER_MASK <= set(NEGATIVE_KINDS)
    assert {"collar", "scarf", "beard"}.isdisjoint(OVER_MASK)


def test_hand_takes_the_skin_under_the_eyes() -> None:
    photo = np.full((SIZE, SIZE, 3), 40, np.uint8)
    coords = face_frame(LANDMARKS).grid((SIZE, SIZE))
    cheeks = (np.abs(coords[..., 1] - 0.22) < 0.1) & (np.abs(coords[..., 0]) < 1.0)
    photo[cheeks] = (205, 150, 120)
    assert skin_colour(photo, LANDMARKS) == (205, 150, 120)
    painted, covered = paint_negative(photo, LANDMARKS, "hand", np.random.default_rng(2), colour=(205, 150, 120))
    assert np.abs(np.median(painted[covered], axis=0) - (205, 150, 120)).max() < 30
