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
