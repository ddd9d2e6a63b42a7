"""FFHQ alignment geometry on synthetic landmarks and images (no detector, fast)."""

from __future__ import annotations

import numpy as np
import pytest

from face_fixtures import recipe_quad
from unmask.face import Alignment, align_face, ffhq_quad, paste_back
from unmask.face.mean_shape import MEAN_SHAPE


def _face(scale: float, angle_deg: float, centre, squash: float = 1.0) -> np.ndarray:
    """The mean shape scaled, rotated, vertically squashed (eye-to-mouth vs eye-to-eye) and moved."""
    a = np.radians(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (MEAN_SHAPE * [1.0, squash]) @ rot.T * scale + centre


HAND_MADE = [
    _face(100, 0, (300, 300)),
    _face(80, 17, (250, 420)),
    _face(250, -35, (1000, 700), squash=1.4),  # long face: the eye-to-mouth term sets the size
    _face(40, 180, (90, 60), squash=0.7),  # upside down, partly outside a small photo
]


def test_simple_landmarks_give_the_hand_computed_quad():
    lm = np.zeros((68, 2))
    lm[36:42] = (40, 50)  # left eye centre
    lm[42:48] = (60, 50)  # right eye centre
    lm[48], lm[54] = (40, 70), (60, 70)  # mouth centre (50, 70)
    # eye_to_eye (20, 0), eye_to_mouth (0, 20): x = (40, 0) -> unit (1, 0) * max(40, 36) = (40, 0)
    # y = (0, 40), c = (50, 52)
    expected = [(10, 12), (10, 92), (90, 92), (90, 12)]
    np.testing.assert_allclose(ffhq_quad(lm), expected, atol=1e-9)


@pytest.mark.parametrize("lm", HAND_MADE)
def test_quad_matches_recipe(lm):
    np.testing.assert_allclose(ffhq_quad(lm), recipe_quad(lm), atol=0.5)


@pytest.mark.parametrize("size", [64, 256, 1024])
def test_alignment_maps_quad_corners_to_crop_corners(size):
    al = Alignment.from_quad(recipe_quad(HAND_MADE[1]), size)
    corners = [(-0.5, -0.5), (-0.5, size - 0.5), (size - 0.5, size - 0.5), (size - 0.5, -0.5)]
    np.testing.assert_allclose(al.to_crop(al.quad), corners, atol=1e-9)
    points = np.random.default_rng(0).uniform(0, 500, (20, 2))
    np.testing.assert_allclose(al.to_photo(al.to_crop(points)), points, atol=1e-9)


def _dots(shape, points: np.ndarray, radius: float) -> np.ndarray:
    """A dark noisy photo with bright Gaussian dots at `points`."""
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    img = np.zeros((h, w), np.float64)
    for x, y in points:
        img += 200 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * radius**2))
    return np.repeat(np.clip(img + 20, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


def _centroid(img: np.ndarray, at: np.ndarray, half: int) -> np.ndarray:
    x0, y0 = np.round(at).astype(int) - half
    patch = img[y0 : y0 + 2 * half + 1, x0 : x0 + 2 * half + 1, 0].astype(np.float64) - 20
    patch = np.clip(patch, 0, None)
    yy, xx = np.mgrid[: patch.shape[0], : patch.shape[1]]
    return np.array([(xx * patch).sum(), (yy * patch).sum()]) / patch.sum() + [x0, y0]


@pytest.mark.parametrize("scale,size", [(60, 512), (400, 256)])  # enlarging, and shrinking 6x
def test_crop_pixels_follow_the_transform(scale, size):
    """Dots drawn at the eye and mouth corners land where `to_crop` says, to 1 px of the crop."""
    lm = _face(scale, 12, (scale * 3, scale * 3))
    marks = np.array([lm[36:42].mean(0), lm[42:48].mean(0), lm[48], lm[54]])
    photo = _dots((scale * 6, scale * 6), marks, radius=scale * 0.06)
    crop, al = align_face(photo, lm, size=size)
    assert crop.shape == (size, size, 3) and crop.dtype == np.uint8
    for expected in al.to_crop(marks):
        half = max(3, round(al.scale * scale * 0.15))
        np.testing.assert_allclose(_centroid(crop, expected, half), expected, atol=1.0)


def test_padding_outside_the_photo_is_blurred_reflection_toward_the_median():
    """A face at the corner of a photo of noise: far outside the photo the crop is the photo's
    median colour, smooth."""
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    lm = _face(20, 0, (5, 5))
    crop, al = align_face(photo, lm, size=128)
    assert np.all(al.quad[0] < -30)  # the crop's top-left corner is far outside the photo
    corner = crop[:6, :6].reshape(-1, 3).astype(np.float64)
    assert np.abs(corner.mean(axis=0) - np.median(photo.reshape(-1, 3), axis=0)).max() < 25
    assert corner.std(axis=0).max() < 15  # blurred, not the raw reflected noise


def test_paste_back_roundtrip_and_mask_semantics():
    rng = np.random.default_rng(2)
    photo = cv2_smooth(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    lm = _face(40, -8, (200, 140))
    crop, al = align_face(photo, lm, size=256)
    edited = crop.copy()
    edited[100:160, 60:200] = (255, 0, 0)
    mask = np.zeros((256, 256), bool)
    mask[100:160, 60:200] = True
    out = paste_back(photo, edited, al, mask)
    assert out is not photo and out.shape == photo.shape and out.dtype == np.uint8
    region = np.zeros((256, 256), np.uint8)
    region[100:160, 60:200] = 1
    # photo pixels whose position maps outside the (slightly grown) mask are bit-identical
    ys, xs = np.mgrid[:300, :400]
    inside = al.to_crop(np.stack([xs.ravel(), ys.ravel()], 1))
    grown = (inside[:, 0] > 58) & (inside[:, 0] < 201) & (inside[:, 1] > 98) & (inside[:, 1] < 161)
    assert np.array_equal(out.reshape(-1, 3)[~grown], photo.reshape(-1, 3)[~grown])
    core = (inside[:, 0] > 64) & (inside[:, 0] < 195) & (inside[:, 1] > 104) & (inside[:, 1] < 155)
    assert np.all(out.reshape(-1, 3)[core] == (255, 0, 0))
    # float weights: 0.5 gives the midpoint
    half = paste_back(photo, edited, al, mask * 0.5)
    mid = (photo.reshape(-1, 3)[core].astype(int) + np.array([255, 0, 0])) / 2
    assert np.abs(half.reshape(-1, 3)[core] - mid).max() <= 1.0
    with pytest.raises(ValueError):
        paste_back(photo, crop[:10], al)


def cv2_smooth(img: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(img, (0, 0), 3)
