"""Metrics on known cases: identical images, a shifted copy, pure noise, masks and boxes."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage import data

from unmask import metrics

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A natural photo (scikit-image's bundled astronaut), 96x96."""
    return cv2.resize(data.astronaut(), (96, 96), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (96, 96, 3), dtype=np.uint8)


def test_identical_images(photo):
    assert metrics.psnr(photo, photo) == math.inf
    assert metrics.ssim(photo, photo) == pytest.approx(1.0, abs=1e-9)
    assert metrics.perceptual_distance(photo, photo) == 0.0


def test_shifted_copy_is_close_and_noise_is_far(photo, noise):
    shifted = np.roll(photo, 2, axis=1)
    psnr_shift, psnr_noise = metrics.psnr(photo, shifted), metrics.psnr(photo, noise)
    assert math.isfinite(psnr_shift) and psnr_noise < psnr_shift < 40
    assert psnr_noise < 10
    assert metrics.ssim(photo, noise) < 0.1 < metrics.ssim(photo, shifted) < 1
    d_shift, d_noise = metrics.perceptual_distance(photo, shifted), metrics.perceptual_distance(photo, noise)
    assert 0 < d_shift < 0.1
    assert d_noise > 0.5


def test_psnr_known_value():
    a = np.zeros((8, 8, 3), np.uint8)
    b = np.full((8, 8, 3), 10, np.uint8)  # MSE 100
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 100))


def test_masks_restrict_every_metric(photo, noise):
    damaged = photo.copy()
    damaged[:, :48] = noise[:, :48]
    left = np.zeros((96, 96), bool)
    left[:, :48] = True
    right = ~left
    right[:, 48:56] = False  # keep SSIM windows and the first features off the damaged half
    assert metrics.psnr(photo, damaged, mask=right) == math.inf
    assert metrics.psnr(photo, damaged, mask=left) < 10
    assert metrics.ssim(photo, damaged, mask=right) > 0.99 > 0.2 > metrics.ssim(photo, damaged, mask=left)
    assert (metrics.perceptual_distance(photo, damaged, mask=right)
            < 0.5 * metrics.perceptual_distance(photo, damaged, mask=left))
    with pytest.raises(ValueError, match="no pixels"):
        metrics.psnr(photo, damaged, mask=np.zeros((96, 96), bool))


def test_region_box_grows_and_clips():
    region = np.zeros((100, 80), bool)
    region[40:60, 10:30] = True  # 20 x 20
    assert metrics.region_box(region, margin=0.1) == (38, 62, 8, 32)
    assert metrics.region_box(region, margin=1.0) == (20, 80, 0, 50)
    assert metrics.crop(np.zeros((100, 80, 3)), (38, 62, 8, 32)).shape == (24, 24, 3)
    with pytest.raises(ValueError, match="empty"):
        metrics.region_box(np.zeros((4, 4), bool))


def test_image_scores_keys_and_values(photo):
    region = np.zeros((96, 96), bool)
    region[50:80, 30:70] = True
    blurred = photo.copy()
    blurred[region] = cv2.GaussianBlur(photo, (9, 9), 3)[region]
    scores = metrics.image_scores(blurred, photo, region)
    assert set(scores) == {f"{m}_{w}" for m in ("psnr", "ssim", "perceptual") for w in ("region", "face")}
    assert all(math.isfinite(v) for v in scores.values())
    assert scores["psnr_region"] < scores["psnr_face"]  # the face score dilutes the error
    assert scores["ssim_region"] < scores["ssim_face"] < 1


def test_shape_mismatch_is_refused(photo):
    with pytest.raises(ValueError, match="one shape"):
        metrics.psnr(photo, photo[:50])
    with pytest.raises(ValueError, match="uint8"):
        metrics.ssim(photo.astype(np.float32), photo.astype(np.float32))


def test_identity_descriptor_on_a_real_face(people_dir):
    from unmask.face import find_face, identity_distance
    from unmask.images import read_image

    image = read_image(people_dir / "p10" / "2.jpg")
    face = find_face(image)
    same = metrics.descriptor(image, face.landmarks)
    assert same.shape == (128,)
    assert identity_distance(same, metrics.descriptor(image.copy(), face.landmarks)) == 0.0
    covered = image.copy()
    x0, y0 = face.landmarks[2:15].min(axis=0).astype(int)
    x1, y1 = face.landmarks[2:15].max(axis=0).astype(int)
    covered[int(face.landmarks[29, 1]):y1, x0:x1] = 200  # a flat grey "mask" over nose and mouth
    assert 0.05 < identity_distance(same, metrics.descriptor(covered, face.landmarks))


@pytest.fixture(scope="module")
def box_region() -> np.ndarray:
    region = np.zeros((96, 96), bool)
    region[40:80, 20:70] = True  # 2000 pixels
    return region


def test_remnant_counts_unchanged_region_pixels(photo, box_region):
    assert metrics.remnant(photo, photo, box_region) == 1.0  # the masked photo itself
    result = photo.astype(np.int16)
    result[40:60, 20:70] += np.array([4, 3, 0], np.int16)  # change 7 > 6: half the region changed
    result[60:80, 20:70] += np.array([2, 2, 2], np.int16)  # change 6: still unchanged
    result = np.clip(result, 0, 255).astype(np.uint8)
    changed = np.abs(result.astype(int) - photo).sum(axis=2) > 6
    assert metrics.remnant(result, photo, box_region) == pytest.approx(1 - changed[box_region].mean())
    assert 0.45 < metrics.remnant(result, photo, box_region) <= 0.55  # (clipping at 255 may keep a few)
    everything = np.full_like(photo, 255) - photo // 2 - 40
    assert metrics.remnant(everything, photo, box_region) == 0.0
    with pytest.raises(ValueError, match="empty"):
        metrics.remnant(photo, photo, np.zeros((96, 96), bool))
    with pytest.raises(ValueError, match="region is"):
        metrics.remnant(photo, photo, box_region[:50])


def test_region_areas_of_known_masks(box_region):
    # the true region is 40 x 50 = 2000 px; a found region 10 rows lower and 10 columns wider
    found = np.zeros((96, 96), bool)
    found[50:90, 20:80] = True
    areas = metrics.region_areas(found, box_region)
    assert areas["extra_area"] == pytest.approx((40 * 60 - 30 * 50) / 2000)  # 900 px outside the truth
    assert areas["missed_area"] == pytest.approx(10 * 50 / 2000)  # the top 10 rows left out
    assert metrics.region_areas(box_region, box_region) == {"extra_area": 0.0, "missed_area": 0.0}
    assert metrics.region_areas(np.zeros((96, 96), bool), box_region) == {"extra_area": 0.0, "missed_area": 1.0}
    everything = metrics.region_areas(np.ones((96, 96), bool), box_region)
    assert everything == {"extra_area": pytest.approx((96 * 96 - 2000) / 2000), "missed_area": 0.0}
    with pytest.raises(ValueError, match="empty"):
        metrics.region_areas(found, np.zeros((96, 96), bool))
    with pytest.raises(ValueError, match="found region is"):
        metrics.region_areas(found[:50], box_region)


def test_left_beyond_counts_the_truth_farther_than_the_reach(box_region):
    found = np.zeros((96, 96), bool)
    found[40:80, 20:60] = True  # the true box's last 10 columns (60..69) left out: 400 of 2000 px
    assert metrics.left_beyond(found, box_region, 0.0) == pytest.approx(400 / 2000)
    assert metrics.left_beyond(found, box_region, 4.0) == pytest.approx(6 * 40 / 2000)  # columns 64..69
    assert metrics.left_beyond(found, box_region, 10.0) == 0.0
    assert metrics.left_beyond(np.zeros((96, 96), bool), box_region, 50.0) == 1.0


def test_fill_reach_is_half_the_compositing_grow_of_the_ffhq_crop():
    from unmask.blend import GROW
    from unmask.face import ffhq_quad

    from test_synthetic import LANDMARKS

    side = float(np.linalg.norm(np.diff(ffhq_quad(LANDMARKS)[[0, 3]], axis=0)))
    assert metrics.fill_reach(LANDMARKS) == pytest.approx(GROW * side / 2)
    assert metrics.fill_reach(2 * LANDMARKS) == pytest.approx(2 * metrics.fill_reach(LANDMARKS))


def test_chroma90_of_flat_colours_is_their_ab_distance(box_region):
    from skimage.color import lab2rgb, rgb2lab

    skin, tinted = (205, 160, 140), (190, 170, 150)
    truth = np.full((96, 96, 3), skin, np.uint8)
    result = np.full((96, 96, 3), tinted, np.uint8)
    lab = rgb2lab(np.array([[skin, tinted]], np.float64) / 255.0)[0]
    assert metrics.chroma90(result, truth, box_region) == pytest.approx(np.linalg.norm(lab[0, 1:] - lab[1, 1:]), rel=1e-3)
    assert metrics.chroma90(truth, truth, box_region) == 0.0
    shadow = lab[0] - (25, 0, 0)  # the same a*b*, much less light: no chroma error
    darker = np.full((96, 96, 3), np.round(lab2rgb(shadow[None, None])[0, 0] * 255), np.uint8)
    assert metrics.chroma90(darker, truth, box_region) < 1.0


def test_chroma90_sees_a_cast_over_a_fifth_of_the_region_not_over_a_twentieth(photo, box_region):
    def cast(rows: int) -> np.ndarray:
        out = photo.copy()
        out[80 - rows:80, 20:70] = np.clip(out[80 - rows:80, 20:70] * np.array([0.7, 1.1, 0.7]), 0, 255)
        return out

    assert metrics.chroma90(cast(10), photo, box_region) > 5  # a green quarter of the region
    assert metrics.chroma90(cast(1), photo, box_region) < 2  # a green line, blurred away


def test_chroma90_on_a_box_equals_blurring_the_whole_photo(photo, noise):
    """The metric blurs only a padded box around the region; the padding must make that exact."""
    from skimage.color import rgb2lab

    result = (0.5 * photo + 0.5 * noise).astype(np.uint8)
    big_photo, big_result = (cv2.resize(x, (300, 300)) for x in (photo, result))
    for rows, cols in ((slice(120, 160), slice(100, 180)), (slice(0, 30), slice(250, 300))):  # inside, at a corner
        region = np.zeros((300, 300), bool)
        region[rows, cols] = True
        ab = [rgb2lab(cv2.GaussianBlur(x.astype(np.float32) / 255, (0, 0), metrics.CHROMA_SIGMA))[..., 1:]
              for x in (big_result, big_photo)]
        whole = np.percentile(np.linalg.norm(ab[0] - ab[1], axis=2)[region], 90)
        assert metrics.chroma90(big_result, big_photo, region) == pytest.approx(whole, rel=1e-4)


def _grey_lightness(value: int) -> float:
    """CIELAB L* of the sRGB grey (value, value, value), from the sRGB and CIELAB formulas."""
    c = value / 255.0
    y = c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    return 116.0 * y ** (1 / 3) - 16.0 if y > (6 / 29) ** 3 else y * (29 / 3) ** 3


@pytest.fixture(scope="module")
def square_region() -> np.ndarray:
    region = np.zeros((200, 200), bool)
    region[40:160, 40:160] = True  # height 120: sigma 9.6, 12 % of the region lies 4 sigma inside
    return region


def test_light90_of_a_region_shifted_by_a_constant_lightness_is_the_shift(square_region):
    truth = np.full((200, 200, 3), 100, np.uint8)
    result = truth.copy()
    result[square_region] = 140
    shift = _grey_lightness(140) - _grey_lightness(100)
    assert 14 < shift < 16
    assert metrics.light90(result, truth, square_region) == pytest.approx(shift, rel=1e-4)
    assert metrics.light90(truth, result, square_region) == pytest.approx(shift, rel=1e-4)
    assert metrics.light90(truth, truth, square_region) == 0.0
    brighter = np.full_like(truth, 140)  # the whole photo: no edge to blur
    assert metrics.light90(brighter, truth, square_region) == pytest.approx(shift, rel=1e-4)


def test_light_difference_is_signed_paler_positive(square_region):
    truth = np.full((200, 200, 3), 120, np.uint8)
    for value in (140, 100):  # the whole photo paler, then darker: no edge to blur
        expected = _grey_lightness(value) - _grey_lightness(120)
        found = metrics.light_difference(np.full_like(truth, value), truth, square_region)
        assert found.shape == (120 * 120,) and found == pytest.approx(np.full(found.shape, expected), rel=1e-4)


def test_light90_sees_patches_not_small_specks(photo):
    region = np.zeros((96, 96), bool)
    region[30:90, 20:80] = True
    specks = photo.copy()
    specks[30:90:12, 20:80:12] = 255  # bright single pixels (teeth, highlights)
    assert metrics.light90(specks, photo, region) < 2
    patch = photo.copy()
    patch[50:90, 20:80] = np.clip(photo[50:90, 20:80].astype(int) + 60, 0, 255)  # two thirds of the region
    assert metrics.light90(patch, photo, region) > 15


def test_collateral_counts_the_damaged_share_of_the_ring(square_region):
    from scipy.ndimage import distance_transform_edt

    masked = np.full((400, 400, 3), 100, np.uint8)
    region = np.zeros((400, 400), bool)
    region[140:260, 140:260] = square_region[40:160, 40:160]  # height 120, the ring reaches 120 px
    masked[region] = (40, 60, 200)  # a blue mask
    distance = distance_transform_edt(~region)
    ring = (distance > 2) & (distance <= 120)
    grey = 160
    assert 20 < _grey_lightness(grey) - _grey_lightness(100) < 30  # the blurred step crosses dE 12 at its edge

    filled = masked.copy()
    filled[region] = (200, 170, 150)  # skin, a large change inside the region only
    assert metrics.collateral(filled, masked, region) == 0.0
    assert metrics.collateral(masked, masked, region) == 0.0

    collar = filled.copy()
    collar[300:] = grey  # everything below row 300, inside and beyond the ring
    assert metrics.collateral(collar, masked, region) == pytest.approx(ring[300:].sum() / ring.sum())
    assert metrics.collateral(collar, masked, region) > 0.1

    everything = filled.copy()
    everything[~region] = grey
    assert metrics.collateral(everything, masked, region) == 1.0
    faint = filled.copy()
    faint[~region] = 108  # dE about 3: not visible damage
    assert metrics.collateral(faint, masked, region) == 0.0


def _with_lightness(image: np.ndarray, shift: float) -> np.ndarray:
    from skimage.color import lab2rgb, rgb2lab

    lab = rgb2lab(image / 255.0)
    lab[..., 0] += shift
    return np.clip(np.round(lab2rgb(lab) * 255), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def big_photo() -> np.ndarray:
    """scikit-image's camera man, 256x256 in grey levels 40-190, so that a copy 15 L* brighter does not clip."""
    grey = cv2.resize(data.camera(), (256, 256), interpolation=cv2.INTER_AREA).astype(np.float64)
    return np.repeat(np.round(40 + grey * 150 / 255).astype(np.uint8)[..., None], 3, axis=2)


def test_seam_of_a_pasted_brighter_patch_is_its_step_and_the_truth_scores_zero(big_photo):
    region = np.zeros((256, 256), bool)
    region[120:200, 60:200] = True
    masked = big_photo.copy()
    masked[region] = (120, 160, 210)
    assert metrics.seam(big_photo, big_photo, masked, region) == 0.0
    assert metrics.seam_texture(big_photo, big_photo, masked, region) == 0.0

    patch = big_photo.copy()  # the fill reaches 10 px past the region, 15 L* brighter
    patch[110:210, 50:210] = _with_lightness(big_photo[110:210, 50:210], 15)
    assert metrics.seam(patch, big_photo, masked, region) == pytest.approx(15, abs=1.0)
    assert metrics.seam_texture(patch, big_photo, masked, region) < 0.5
    border = np.zeros((256, 256), bool)
    border[110:210, 50:210] = True
    assert np.array_equal(metrics.fill_area(patch, masked, region), border)

    smooth = big_photo.copy()  # the same fill, its texture blurred away: a sharpness seam
    smooth[110:210, 50:210] = cv2.GaussianBlur(big_photo, (0, 0), 3)[110:210, 50:210]
    assert metrics.seam_texture(smooth, big_photo, masked, region) > 1.5
    assert metrics.seam(smooth, big_photo, masked, region) < 5

    bright = _with_lightness(big_photo, 15)  # the bright patch blended in over some 40 px: no line
    ramp = np.clip(cv2.GaussianBlur(border.astype(np.float64), (0, 0), 15) * 1.6, 0, 1)[..., None]
    soft = np.round(big_photo * (1 - ramp) + bright * ramp).astype(np.uint8)
    assert metrics.fill_area(soft, masked, region).sum() > 1.3 * border.sum()
    assert metrics.seam(soft, big_photo, masked, region) < 5
