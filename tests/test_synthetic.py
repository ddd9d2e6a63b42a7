"""Synthetic masks: exact ground truth, pose following, reproducibility, looks by kind."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask.region.synthetic import MASK_KINDS, PATTERNS, cloth_pattern, render_mask


def template_landmarks(cx: float, cy: float, d: float) -> np.ndarray:
    """A frontal face's 68 iBUG points drawn from a simple geometric face: eye centres at
    (cx -+ d/2, cy), d = inter-ocular distance in pixels. (68, 2) float64."""
    pts = np.zeros((68, 2))
    i = np.arange(17)
    pts[0:17] = np.stack([cx - d * np.cos(np.pi * i / 16), cy + 1.85 * d * np.sin(np.pi * i / 16)], 1)
    t = np.linspace(0, np.pi, 5)
    pts[17:22] = np.stack([cx - 0.5 * d + 0.35 * d * -np.cos(t), cy - 0.35 * d - 0.1 * d * np.sin(t)], 1)
    pts[22:27] = np.stack([cx + 0.5 * d + 0.35 * d * -np.cos(t), cy - 0.35 * d - 0.1 * d * np.sin(t)], 1)
    pts[27:31] = np.stack([np.full(4, cx), cy + d * np.linspace(0.05, 0.75, 4)], 1)
    pts[31:36] = np.stack([cx + d * np.linspace(-0.25, 0.25, 5), cy + d * (0.85 + 0.05 * np.cos(np.linspace(-1.3, 1.3, 5)))], 1)
    a = np.linspace(0, 2 * np.pi, 6, endpoint=False)
    for start, ex in ((36, cx - 0.5 * d), (42, cx + 0.5 * d)):
        pts[start : start + 6] = np.stack([ex - 0.2 * d * np.cos(a), cy - 0.08 * d * np.sin(a)], 1)
    a = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    pts[48:60] = np.stack([cx - 0.4 * d * np.cos(a), cy + 1.3 * d - 0.15 * d * np.sin(a)], 1)
    a = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    pts[60:68] = np.stack([cx - 0.3 * d * np.cos(a), cy + 1.3 * d - 0.03 * d * np.sin(a)], 1)
    return pts


def face_photo(size: int = 192) -> np.ndarray:
    """A smooth skin-coloured test picture with some texture, uint8 (size, size, 3)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([200 - 40 * yy, 150 - 30 * xx, 120 + 20 * yy], -1)
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


LANDMARKS = template_landmarks(96, 72, 44)


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_region_is_exactly_the_changed_pixels(kind):
    image = face_photo()
    masked, region = render_mask(image, LANDMARKS, kind, 3)
    assert masked.shape == image.shape and masked.dtype == np.uint8
    assert region.shape == image.shape[:2] and region.dtype == bool
    changed = np.any(masked != image, axis=2)
    assert np.array_equal(changed, region)
    assert region.sum() > 0.05 * image.shape[0] * image.shape[1]
    # the mask covers the mouth and the chin, and never the eyes
    for x, y in LANDMARKS[[48, 51, 54, 57, 62, 66]]:
        assert region[round(y), round(x)]
    assert region[round(LANDMARKS[8, 1]) + 2, round(LANDMARKS[8, 0])]  # down under the chin
    assert not region[: round(LANDMARKS[36:48, 1].max()) + 1].any()


def test_pulled_down_leaves_the_nose_visible():
    image = face_photo()
    _, region = render_mask(image, LANDMARKS, "pulled_down", 1)
    _, full = render_mask(image, LANDMARKS, "surgical", 1)
    for x, y in LANDMARKS[[30, 31, 33, 35]]:
        assert not region[round(y), round(x)]
        assert full[round(y), round(x)]
    assert region[round(LANDMARKS[57, 1]), round(LANDMARKS[57, 0])]


def test_seed_reproduces_and_varies():
    image = face_photo()
    for kind in ("cloth", "printed", "pulled_down"):
        a = render_mask(image, LANDMARKS, kind, 11)
        b = render_mask(image, LANDMARKS, kind, np.random.default_rng(11))
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    looks = {render_mask(image, LANDMARKS, "cloth", seed)[0].tobytes() for seed in range(4)}
    assert len(looks) == 4


def test_region_follows_head_pose():
    image = face_photo()
    _, upright = render_mask(image, LANDMARKS, "surgical", 5)
    matrix = cv2.getRotationMatrix2D((96.0, 96.0), 30.0, 1.0)
    turned = cv2.warpAffine(image, matrix, (192, 192), borderMode=cv2.BORDER_REFLECT)
    points = LANDMARKS @ matrix[:, :2].T + matrix[:, 2]
    _, region = render_mask(turned, points, "surgical", 5)
    expected = cv2.warpAffine(upright.astype(np.uint8), matrix, (192, 192), flags=cv2.INTER_NEAREST) > 0
    iou = (region & expected).sum() / (region | expected).sum()
    assert iou > 0.95


def test_colour_override_and_bad_input():
    image = face_photo()
    masked, region = render_mask(image, LANDMARKS, "cloth", 2, color=(20, 200, 30))
    r, g, b = np.median(masked[region].astype(float), axis=0)
    assert g > r + 60 and g > b + 60
    with pytest.raises(ValueError, match="unknown mask kind"):
        render_mask(image, LANDMARKS, "bandana", 0)
    with pytest.raises(ValueError, match="landmarks"):
        render_mask(image, LANDMARKS[:5], "cloth", 0)


def test_apex_moves_the_top_edge_over_the_nose_bridge():
    image = face_photo()
    usual = render_mask(image, LANDMARKS, "n95", 4)
    same = render_mask(image, LANDMARKS, "n95", 4, apex=0.25)  # None keeps the kind's own apex
    assert np.array_equal(usual[0], same[0]) and np.array_equal(usual[1], same[1])
    _, high = render_mask(image, LANDMARKS, "n95", 4, apex=-0.7)
    column = round(LANDMARKS[27, 0])
    top, top_high = np.nonzero(usual[1][:, column])[0][0], np.nonzero(high[:, column])[0][0]
    rise = LANDMARKS[29, 1] - LANDMARKS[28, 1]
    assert top - top_high == pytest.approx(0.95 * rise, abs=1.5)
    assert top_high < LANDMARKS[28, 1] < top
    assert not high[: round(LANDMARKS[36:48, 1].max()) + 1].any()  # still under the eyes


@pytest.mark.parametrize("pattern", PATTERNS)
def test_patterns_mix_two_colours(pattern):
    v, u = np.meshgrid(np.linspace(0, 1, 90), np.linspace(0, 1, 160), indexing="ij")
    weight = cloth_pattern(pattern, u, v, np.random.default_rng(5))
    assert weight.shape == u.shape and 0 <= weight.min() <= weight.max() <= 1
    second = (weight >= 0.5).mean()
    if pattern == "solid":
        assert second == 0
    else:
        assert 0.02 < second < 0.9
    if pattern == "specks":  # small sparse dots: many separate pieces, each a few pixels
        count, _ = cv2.connectedComponents((weight >= 0.5).astype(np.uint8))
        assert count - 1 >= 40 and second < 0.15
    with pytest.raises(ValueError, match="unknown pattern"):
        cloth_pattern("paisley", u, v, np.random.default_rng(0))


def test_reach_makes_the_mask_larger_below_and_beside_the_jaw():
    image = face_photo()
    _, usual = render_mask(image, LANDMARKS, "surgical", 4)
    _, same = render_mask(image, LANDMARKS, "surgical", 4, reach=0.0)
    assert np.array_equal(usual, same)
    _, larger = render_mask(image, LANDMARKS, "surgical", 4, reach=0.3)
    assert larger.sum() > 1.2 * usual.sum() and (usual & ~larger).sum() < 0.002 * usual.sum()  # its corners move out a little
    column = round(LANDMARKS[8, 0])
    bottom, bottom_larger = np.nonzero(usual[:, column])[0][-1], np.nonzero(larger[:, column])[0][-1]
    length = np.linalg.norm(LANDMARKS[8] - LANDMARKS[27])
    assert bottom_larger - bottom == pytest.approx(0.3 * length, abs=2)
