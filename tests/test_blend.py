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
    exact = blend._membrane_direct(diff, region, ~region)
    limit = blend._DIRECT_LIMIT
    try:
        blend._DIRECT_LIMIT = 4000
        fast = blend._membrane(diff, region, ~region)
    finally:
        blend._DIRECT_LIMIT = limit
    assert np.abs(fast - exact)[region].mean() < 0.5
    assert np.array_equal(fast[~region], np.zeros_like(fast[~region]))


def test_empty_region_returns_the_target_and_bad_shapes_raise():
    target = _textured(5, (100, 100, 100))
    assert np.array_equal(poisson_composite(target, target[::-1], np.zeros((S, S), bool)), target)
    with pytest.raises(ValueError):
        poisson_composite(target, target[:10], np.zeros((S, S), bool))


def _skin(seed: int, rgb: tuple[float, float, float], light: np.ndarray | None = None) -> np.ndarray:
    """A skin-coloured crop with fine texture, times a lighting field (H, W) (default flat)."""
    rng = np.random.default_rng(seed)
    shade = np.ones((S, S)) if light is None else light
    image = np.array(rgb) * shade[:, :, None] + rng.normal(0, 3, (S, S, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def _chroma(pixels: np.ndarray) -> np.ndarray:
    """Mean CIELAB (a, b) of uint8 RGB pixels (N, 3)."""
    import cv2

    lab = cv2.cvtColor(pixels.reshape(1, -1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    return lab[0, :, 1:].mean(axis=0)


@pytest.mark.parametrize("remnant", [(40, 200, 60), (60, 90, 230), (245, 245, 245)], ids=["green", "blue", "white"])
def test_fill_takes_its_colour_from_the_visible_skin_not_a_coloured_border(remnant):
    # the region's lower half borders a strongly coloured band (a mask remnant, clothing or
    # background) on the target; the source is skin of another tint: the fill must come out in the
    # target's skin colour, with no cast from the band, even near it
    target = _skin(6, (200, 150, 125))
    region = _ellipse(128, 128, 55, 75)
    band = composite_region(region) & ~region | (blend.grow_region(region, 40) & ~region)
    band &= np.mgrid[:S, :S][0] > 128
    target[band] = remnant
    source = _skin(7, (170, 140, 140))
    out = poisson_composite(target, source, region)
    skin = _chroma(target[~blend.grow_region(region, 45)])
    lower = region & (np.mgrid[:S, :S][0] > 150)
    assert np.linalg.norm(_chroma(out[region]) - skin) < 2.5
    assert np.linalg.norm(_chroma(out[lower]) - skin) < 3.5


def test_lighting_gradient_of_the_target_is_kept():
    # light falls from the left on the target; the source is evenly lit and darker: the fill must
    # follow the target's light from one side of the region to the other
    ramp = np.linspace(1.15, 0.65, S)[None, :].repeat(S, axis=0)
    target = _skin(8, (200, 150, 125), ramp)
    source = _skin(9, (150, 110, 95))
    region = _ellipse(128, 128, 60, 80)
    out = poisson_composite(target, source, region).astype(np.float64)
    cols = np.mgrid[:S, :S][1]
    left, right = region & (cols < 80), region & (cols > 176)
    for side in (left, right):
        assert np.abs(out[side].mean(axis=0) - target[side].astype(np.float64).mean(axis=0)).max() < 6
    assert out[left].mean() - out[right].mean() > 0.8 * (target[left].mean() - target[right].mean())


def test_a_border_that_is_almost_all_mask_takes_its_colour_from_the_skin_patches():
    # the whole ring around the region is light-blue fabric and the rest of the crop background,
    # except a forehead patch: without `skin` the ring's blue is the "typical" colour and sets
    # the fill's; with it the fill must take the forehead's skin colour
    target = _textured(10, (150, 160, 200))  # blue-grey: mask, glasses, jacket
    forehead = _ellipse(40, 128, 20, 60)
    target[forehead] = _skin(11, (205, 150, 125))[forehead]
    source = _skin(12, (170, 130, 120))
    region = _ellipse(160, 128, 60, 80)
    skin = _chroma(target[forehead])
    blue = np.linalg.norm(_chroma(poisson_composite(target, source, region)[region]) - skin)
    fixed = np.linalg.norm(_chroma(poisson_composite(target, source, region, skin=forehead)[region]) - skin)
    assert blue > 10 and fixed < 3


@pytest.mark.parametrize("pixels", [1, 5, 16])
@pytest.mark.parametrize("region", [_ellipse(150, 128, 20, 30), _ellipse(250, 5, 30, 40), _ellipse(-5, 128, 10, 200)],
                         ids=["inside", "corner", "top-edge"])
def test_grow_region_takes_every_pixel_within_the_distance(region, pixels):
    """`grow_region` (a distance transform on the region's box) against the definition: every
    pixel at most `pixels` (Euclidean) from a region pixel, and no other."""
    region = region.copy()
    region[40, 200] = True  # a lone pixel far from the rest: the box holds both
    ys, xs = np.nonzero(region)
    yy, xx = np.mgrid[:S, :S]
    nearest = np.full((S, S), np.inf)
    for y, x in zip(ys, xs):
        nearest = np.minimum(nearest, (yy - y) ** 2 + (xx - x) ** 2)
    assert np.array_equal(blend.grow_region(region, pixels), nearest <= pixels**2)
