"""The fill ends where fill and photo agree: the minimum cut through the compositing band."""

from __future__ import annotations

import cv2
import numpy as np

from unmask import blend
from unmask.blend import composite_region, grow_region, poisson_composite
from unmask.seam import cut_area, mismatch

S = 160


def _rings() -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[:S, :S]
    return np.hypot(yy - 80.0, xx - 80.0), np.arctan2(yy - 80.0, xx - 80.0)


def _agreeing_ring_case(offset: float = 25.0):
    """A disc region of radius 40, a target and a source of unrelated textures that agree (up to a
    brightness `offset`) only on the ring 47 <= r < 50: the cut has to follow it all the way round."""
    r, _ = _rings()
    rng = np.random.default_rng(7)
    target = np.clip(rng.normal(120, 30, (S, S, 3)), 0, 255)
    source = np.clip(rng.normal(140, 30, (S, S, 3)), 0, 255)
    agree = (r >= 47) & (r < 50)
    source[agree] = np.clip(target[agree] + offset, 0, 255)
    return target.astype(np.uint8), source.astype(np.uint8), r < 40, agree, r


def test_cut_follows_the_agreeing_ring():
    target, source, region, agree, r = _agreeing_ring_case()
    cost = mismatch(target.astype(float), source.astype(float), 12)
    area = cut_area(cost, grow_region(region, 2), grow_region(region, 14))
    crossing = grow_region(area, 1) & ~area  # the photo's pixels next to the fill
    assert agree[crossing].mean() > 0.95, agree[crossing].mean()
    assert area[r < 42].all() and not area[r > 52].any()


def test_cut_respects_keep_and_allowed():
    target, source, region, _, _ = _agreeing_ring_case()
    cost = mismatch(target.astype(float), source.astype(float), 12)
    keep, allowed = grow_region(region, 9), grow_region(region, 11)  # the agreeing ring out of reach
    area = cut_area(cost, keep, allowed)
    assert area[keep].all() and not area[~allowed].any()
    # nothing to gain anywhere in the band: the tie-break keeps the area smallest
    assert np.array_equal(cut_area(np.zeros((S, S)), keep, allowed), keep)


def test_composite_keeps_the_photo_beyond_the_agreeing_ring():
    # before the cut, the fill faded out over the band's outer pixels wherever the band ran; now
    # the photo between the agreeing ring and the band's edge stays as it was
    target, source, region, agree, r = _agreeing_ring_case()
    out = poisson_composite(target, source, region, grow=14, feather=2, match_colour=False)
    grown = composite_region(region, 14)
    beyond = grown & (r >= 51)
    assert beyond.sum() > 500
    assert np.array_equal(out[beyond], target[beyond])
    assert np.array_equal(out[~grown], target[~grown])
    # inside, the fill, its brightness brought to the photo's through the agreeing ring
    inner = r < 38
    assert np.abs(out[inner].astype(float) - target[inner]).mean() > 20
    shift = out[inner].astype(float).mean() - source[inner].astype(float).mean()
    assert abs(shift + 25.0) < 6.0, shift


def _fine_energy(image: np.ndarray, where: np.ndarray) -> float:
    grey = image.astype(np.float32).mean(axis=2)
    return float(np.median(np.square(grey - cv2.GaussianBlur(grey, (0, 0), blend.GRAIN_SIGMA))[where]))


def test_blurred_source_gets_the_target_grain():
    # a reference photo blurrier than the target: before the grain match the fill was a smooth
    # patch in a grainy face; now its fine detail has the target's energy (within the limit)
    rng = np.random.default_rng(3)
    target = np.clip(rng.normal(150, 8, (S, S, 3)), 0, 255).astype(np.uint8)
    other = np.clip(rng.normal(140, 8, (S, S, 3)), 0, 255).astype(np.float32)
    source = np.clip(cv2.GaussianBlur(other, (0, 0), 0.5), 0, 255).astype(np.uint8)
    r, _ = _rings()
    region = r < 40
    wanted, before = _fine_energy(target, region), _fine_energy(source, region)
    assert wanted / before > 2.0  # the source's grain is well below the target's
    assert blend.GRAIN_LIMIT ** 2 >= wanted / before
    out = poisson_composite(target, source, region, match_colour=False)
    inner = r < 36
    assert abs(np.log(_fine_energy(out, inner) / wanted)) < np.log(1.3)


def test_grain_match_softens_a_noisier_source_and_keeps_a_matching_one():
    rng = np.random.default_rng(4)
    target = rng.normal(120, 4, (S, S, 3))
    noisy = rng.normal(120, 8, (S, S, 3))
    sample = _rings()[0] >= 45
    softened = blend.match_grain(target, noisy, sample)
    ratio = _fine_energy(softened, sample) / _fine_energy(target, sample)
    assert abs(np.log(ratio)) < np.log(1.3), ratio
    same = rng.normal(120, 4, (S, S, 3))
    assert np.abs(blend.match_grain(target, same, sample) - same).max() < 0.1 * 4 * 3
    assert np.array_equal(blend.match_grain(target, noisy, np.zeros((S, S), bool)), noisy)
