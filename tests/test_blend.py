"""Poisson compositing on synthetic crops: exact outside the region, seamless inside, border-safe."""

from __future__ import annotations

import numpy as np
import pytest

from unmask import blend
from unmask.blend import composite_region, poisson_composite

S = 256


def _textured(seed: int, base: tuple[float, float, float]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:S, :S]
    ramp = np.stack([0.15 * xx, 0.1 * yy, 0.05 * (xx + yy)], axis=-1)
    texture = rng.normal(0, 6, (S, S, 3))
    return np.clip(np.array(base) + ramp + texture, 0, 255).astype(np.uint8)


def _ellipse(cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    yy, xx = np.mgrid[:S, :S]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


@pytest.mark.parametrize("region", [_ellipse(150, 128, 50, 70), _ellipse(230, 128, 60, 90)],
                         ids=["inside", "touching-border"])
def test_pixels_outside_grown_region_are_bit_identical(region):
    target, source = _textured(0, (90, 70, 60)), _textured(1, (160, 120, 40))
    out = poisson_composite(target, source, region)
    grown = composite_region(region)
    assert out.dtype == np.uint8 and out.shape == target.shape
    assert np.array_equal(out[~grown], target[~grown])
    assert not np.array_equal(out[region], target[region])
    assert grown[region].all() and grown.sum() > region.sum()


@pytest.mark.parametrize("region", [_ellipse(150, 128, 50, 70), _ellipse(230, 128, 60, 90)],
                         ids=["inside", "touching-border"])
def test_offset_source_clones_back_to_the_target(region):
    # same gradients, other brightness: the membrane must remove the offset everywhere, also where
    # the region meets the image border (no boundary condition there, no shift).
    target = _textured(2, (80, 80, 80))
    source = (target.astype(np.int16) + 50).astype(np.uint8)
    out = poisson_composite(target, source, region, match_colour=False)
    err = np.abs(out.astype(int) - target.astype(int))
    assert err.max() <= 2, err.max()


def test_colour_and_contrast_step_is_hidden():
    target = _textured(3, (120, 90, 80))
    flat = target.astype(np.float64)
    source = np.clip((flat - flat.mean()) * 1.3 + flat.mean() * 0.6, 0, 255).astype(np.uint8)
    region = _ellipse(128, 128, 60, 60)
    out = poisson_composite(target, source, region).astype(np.float64)
    grown = composite_region(region)
    edge = grown & blend.grow_region(~grown, 2)  # the outer 2 px of the grown region
    inner = region & ~blend.grow_region(~region, 3)
    # no colour step: just inside vs the target near the edge, and the inside mean follows the target
    assert np.abs(out[edge] - flat[edge]).mean() < 4
    assert np.abs(out[inner].mean(axis=0) - flat[inner].mean(axis=0)).max() < 6
    # the source's texture (its gradients) is what fills the inside, not a smooth smear
    assert out[inner].std(axis=0).min() > 0.8 * flat[inner].std(axis=0).min()


def test_coarse_to_fine_membrane_matches_direct_solve():
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[:S, :S]
    diff = np.stack([20 * np.sin(xx / 30), 0.2 * yy, rng.normal(0, 2, (S, S))], axis=-1)
    region = _ellipse(140, 128, 100, 110)
    exact = blend._membrane_direct(diff, region)
    limit = blend._DIRECT_LIMIT
    try:
        blend._DIRECT_LIMIT = 4000
        fast = blend._membrane(diff, region)
    finally:
        blend._DIRECT_LIMIT = limit
    assert np.abs(fast - exact)[region].mean() < 0.5
    assert np.array_equal(fast[~region], np.zeros_like(fast[~region]))


def test_empty_region_returns_the_target_and_bad_shapes_raise():
    target = _textured(5, (100, 100, 100))
    assert np.array_equal(poisson_composite(target, target[::-1], np.zeros((S, S), bool)), target)
    with pytest.raises(ValueError):
        poisson_composite(target, target[:10], np.zeros((S, S), bool))
