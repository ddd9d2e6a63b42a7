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


def _whole_copy_padding(region: np.ndarray, pad_lo, pad_hi, qsize: float) -> np.ndarray:
    """The recipe's padding as its docstring says, on the whole padded copy (the slow way)."""
    import cv2

    padded = region
    lo, hi = np.array(pad_lo), np.array(pad_hi)
    while np.any(lo > 0) or np.any(hi > 0):
        step_lo = np.minimum(lo, [padded.shape[1] - 1, padded.shape[0] - 1])
        step_hi = np.minimum(hi, [padded.shape[1] - 1, padded.shape[0] - 1])
        padded = cv2.copyMakeBorder(padded, int(step_lo[1]), int(step_hi[1]), int(step_lo[0]), int(step_hi[0]),
                                    cv2.BORDER_REFLECT_101)
        lo, hi = lo - step_lo, hi - step_hi
    h, w = padded.shape[:2]
    ramp_lo, ramp_hi = np.maximum(pad_lo, 0.3 * qsize), np.maximum(pad_hi, 0.3 * qsize)
    t = np.full((h, w), -np.inf)
    for axis, (size, n_lo, n_hi) in enumerate([(w, pad_lo[0], pad_hi[0]), (h, pad_lo[1], pad_hi[1])]):
        at = np.arange(size, dtype=np.float32)
        side = np.full(size, -np.inf)
        if n_lo > 0:
            side = np.maximum(side, (n_lo - at) / ramp_lo[axis])
        if n_hi > 0:
            side = np.maximum(side, (at - (size - 1 - n_hi)) / ramp_hi[axis])
        t = np.maximum(t, side[None, :] if axis == 0 else side[:, None])
    t = t[:, :, None]
    img = padded.astype(np.float32)
    img += (cv2.GaussianBlur(img, (0, 0), sigmaX=max(0.02 * qsize, 0.5)) - img) * np.clip(t * 3.0 + 1.0, 0.0, 1.0)
    img += (np.median(img[::4, ::4].reshape(-1, 3), axis=0) - img) * np.clip(t, 0.0, 1.0)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape, pad_lo, pad_hi, qsize", [
    ((300, 280), (0, 12), (0, 0), 290.0),  # a face near the top: a thin band changes
    ((300, 280), (40, 0), (0, 90), 200.0),  # two sides, the corner where the bands meet
    ((120, 90), (150, 200), (130, 20), 80.0),  # pads larger than the photo: several reflections
    ((64, 64), (10, 10), (10, 10), 900.0),  # a band wider than the photo: all of it changes
    ((200, 150), (0, 0), (0, 0), 100.0),  # nothing to pad
])
def test_banded_padding_is_the_whole_copy_recipe_bit_for_bit(shape, pad_lo, pad_hi, qsize):
    from unmask.face.align import _pad_blurred_reflection

    rng = np.random.default_rng(sum(shape))
    region = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    expected = _whole_copy_padding(region, np.array(pad_lo), np.array(pad_hi), qsize)
    assert np.array_equal(_pad_blurred_reflection(region, np.array(pad_lo), np.array(pad_hi), qsize), expected)


def test_paste_back_resamples_only_the_rows_the_mask_reaches_with_the_same_pixels():
    """Pasting a feathered patch of a rotated, upscaled crop: the same pixels as resampling the
    crop's whole box and blending every pixel the weights reach."""
    import cv2

    rng = np.random.default_rng(5)
    photo = rng.integers(0, 256, (700, 600, 3), dtype=np.uint8)
    crop = cv2_smooth(rng.integers(0, 256, (160, 160, 3), dtype=np.uint8))
    al = Alignment.from_quad(ffhq_quad(_face(90, 11, (310, 330))), 160)
    inner = np.zeros((162, 162), np.uint8)
    inner[91:141, 31:121] = 1
    weights = np.clip(cv2.distanceTransform(inner, cv2.DIST_L2, 5)[1:-1, 1:-1] / 8, 0, 1).astype(np.float32)
    out = paste_back(photo, crop, al, weights)
    # the whole box, every pixel with weight > 0 blended
    lo = np.maximum(np.floor(al.quad.min(axis=0)).astype(int) - 2, 0)
    hi = np.minimum(np.ceil(al.quad.max(axis=0)).astype(int) + 3, [600, 700])
    matrix = (al.matrix @ np.array([[1.0, 0, lo[0]], [0, 1.0, lo[1]], [0, 0, 1.0]]))[:2]
    size = (int(hi[0] - lo[0]), int(hi[1] - lo[1]))
    warped = cv2.warpAffine(crop, matrix, size, flags=cv2.INTER_LANCZOS4 | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_REPLICATE)
    weight = cv2.warpAffine(weights, matrix, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    expected = photo.copy()
    box = expected[lo[1]:hi[1], lo[0]:hi[0]]
    inside = weight > 0
    w = weight[inside][:, None]
    box[inside] = np.clip(np.rint(box[inside] * (1.0 - w) + warped[inside] * w), 0, 255).astype(np.uint8)
    assert 0.02 < inside.mean() < 0.5 and (weight == 1.0).any()
    assert np.array_equal(out, expected)


@pytest.mark.parametrize("centre, size", [((310, 330), 160), ((20, 640), 512), ((590, 10), 64)])
def test_region_to_crop_reads_only_the_square_with_the_same_pixels(centre, size):
    """A region warped into the crop from the photo's pixels under the crop's square alone: the
    same as warping the whole photo's region (faces inside the photo and over its edges)."""
    import cv2

    rng = np.random.default_rng(size)
    region = np.zeros((700, 600), np.uint8)
    for i in range(6):
        x, y = centre if i == 0 else (int(v) for v in rng.integers(0, 600, 2))
        cv2.ellipse(region, (x, y), (int(rng.integers(5, 150)), int(rng.integers(5, 150))), float(rng.uniform(0, 180)),
                    0, 360, 1, -1)
    region = region.astype(bool)
    al = Alignment.from_quad(ffhq_quad(_face(90, 23, centre)), size)
    whole = cv2.warpAffine(region.astype(np.float32), al.matrix[:2], (size, size), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0.0) >= 0.5
    assert whole.any() and not whole.all()
    assert np.array_equal(al.region_to_crop(region), whole)
