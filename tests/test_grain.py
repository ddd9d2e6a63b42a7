"""The fill takes the target's grain: a blurrier reference is sharpened, a noisier one softened."""

from __future__ import annotations

import cv2
import numpy as np

from unmask import blend
from unmask.blend import poisson_composite
from unmask.metrics import TEXTURE_SIGMA

S = 160


def _radius() -> np.ndarray:
    yy, xx = np.mgrid[:S, :S]
    return np.hypot(yy - 80.0, xx - 80.0)


def _fine_energy(image: np.ndarray, where: np.ndarray) -> float:
    grey = image.astype(np.float32).mean(axis=2)
    return float(np.median(np.square(grey - cv2.GaussianBlur(grey, (0, 0), TEXTURE_SIGMA))[where]))


def test_blurred_source_gets_the_target_grain():
    # a reference photo blurrier than the target: before the grain match the fill was a smooth
    # patch in a grainy face; now its fine detail has the target's energy (within the limit)
    rng = np.random.default_rng(3)
    target = np.clip(rng.normal(150, 8, (S, S, 3)), 0, 255).astype(np.uint8)
    other = np.clip(rng.normal(140, 8, (S, S, 3)), 0, 255).astype(np.float32)
    source = np.clip(cv2.GaussianBlur(other, (0, 0), 0.5), 0, 255).astype(np.uint8)
    r = _radius()
    region = r < 40
    wanted, before = _fine_energy(target, region), _fine_energy(source, region)
    assert wanted / before > 2.0  # the source's grain is well below the target's
    out = poisson_composite(target, source, region, match_colour=False)
    inner = r < 36
    assert abs(np.log(_fine_energy(out, inner) / wanted)) < np.log(1.3)


def test_grain_match_softens_a_noisier_source_and_keeps_a_matching_one():
    rng = np.random.default_rng(4)
    target = rng.normal(120, 4, (S, S, 3))
    noisy = rng.normal(120, 8, (S, S, 3))
    sample = _radius() >= 45
    softened = blend.match_grain(target, noisy, sample)
    ratio = _fine_energy(softened, sample) / _fine_energy(target, sample)
    assert abs(np.log(ratio)) < np.log(1.3), ratio
    same = rng.normal(120, 4, (S, S, 3))
    assert np.abs(blend.match_grain(target, same, sample) - same).max() < 0.1 * 4 * 3
    assert np.array_equal(blend.match_grain(target, noisy, np.zeros((S, S), bool)), noisy)
