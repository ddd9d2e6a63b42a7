"""The OpenCV inpainting baselines behind the Method interface."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.blend import GROW
from unmask.methods import AlignedCase, make_method
from unmask.metrics import psnr


@pytest.fixture(scope="module")
def case() -> AlignedCase:
    """A smooth colour ramp (128x128) with a flat purple 'mask' painted over a region."""
    yy, xx = np.mgrid[0:128, 0:128].astype(np.float64)
    truth = np.stack([80 + xx, 60 + yy, 150 + 0.3 * (xx - yy)], axis=2).clip(0, 255).astype(np.uint8)
    region = (xx - 64) ** 2 / 30**2 + (yy - 80) ** 2 / 20**2 <= 1
    target = truth.copy()
    target[region] = (90, 20, 110)
    target[np.logical_xor(region, np.roll(region, 1, axis=0))] = (50, 10, 60)  # a dark fabric edge
    points = np.zeros((68, 2))
    return AlignedCase(target=target, region=region, target_landmarks=points, reference=truth.copy(),
                       reference_landmarks=points, seed=0)


@pytest.fixture(scope="module")
def truth(case) -> np.ndarray:
    return case.reference


@pytest.mark.parametrize("name", ["opencv-telea", "opencv-ns"])
def test_fills_the_region_from_its_surroundings(name, case, truth):
    completion = make_method(name).complete(case)
    image, changed = completion.image, completion.changed
    assert image.shape == case.target.shape and image.dtype == np.uint8
    assert changed.dtype == bool and changed[case.region].all() and changed.sum() > case.region.sum()
    assert np.array_equal(image[~changed], case.target[~changed])
    assert psnr(image, truth, mask=changed) > psnr(case.target, truth, mask=changed) + 10
    assert psnr(image, truth, mask=changed) > 30  # a smooth ramp is what inpainting does well
    assert set(completion.steps) == {"inpainted area", "inpainted"}
    assert completion.info["grow_px"] == round(GROW * 128) and completion.info["radius_px"] == 3


def test_grow_zero_keeps_to_the_region(case):
    completion = make_method("opencv-telea", grow=0, radius=5).complete(case)
    assert np.array_equal(completion.changed, case.region)
    assert np.array_equal(completion.image[~case.region], case.target[~case.region])


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="grow"):
        make_method("opencv-ns", grow=-1)
    with pytest.raises(ValueError, match="radius"):
        make_method("opencv-telea", radius=0)
