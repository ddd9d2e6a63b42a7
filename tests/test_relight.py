"""`unmask.relight`: the reference's fill under the target's light."""

from __future__ import annotations

import cv2
import numpy as np

from unmask.face.mean_shape import MEAN_SHAPE
from unmask.relight import face_frame, gain_map, light_mismatch, relight

S = 256


def _lit_face(rng: np.random.Generator, light: np.ndarray) -> np.ndarray:
    """Skin with a fixed texture (the same person's) times a shading field `light` (S, S)."""
    texture = cv2.GaussianBlur(rng.normal(0, 1, (S, S)), (0, 0), 2) * 25
    albedo = np.stack([190 + texture, 140 + 0.8 * texture, 120 + 0.7 * texture], axis=-1)
    return np.clip(albedo * light[:, :, None], 0, 255).astype(np.uint8)


def _low(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image.astype(np.float64).mean(axis=2), (0, 0), 8)


def test_a_face_lit_from_one_side_is_relit_to_the_other_sides_light():
    points = MEAN_SHAPE * 90 + (128, 100)
    x, y = face_frame(points, (S, S))
    from_left = np.clip(1.0 - 0.18 * x + 0.03 * y, 0.3, 1.3)  # the target: bright on the left
    from_right = np.clip(0.85 + 0.2 * x - 0.05 * y, 0.3, 1.3)  # the reference: bright on the right
    target = _lit_face(np.random.default_rng(0), from_left)
    source = _lit_face(np.random.default_rng(0), from_right)  # same skin, other light
    region = np.zeros((S, S), bool)
    region[int(points[29, 1]):int(points[8, 1]) + 10, int(points[3, 0]):int(points[13, 0])] = True
    sample = ~cv2.dilate(region.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    relit = relight(target, source, sample, points, region)
    inside = region & (np.abs(x) < 1.2)

    def off(image: np.ndarray) -> np.ndarray:  # the light's shape: relative to its median (the level is matched later)
        ratio = (_low(image) / _low(target))[inside]
        return np.abs(ratio / np.median(ratio) - 1)

    before, after = off(source), off(relit)
    # the lower face (never seen by the fit) takes the target's light: left bright, right dark
    assert np.percentile(before, 90) > 0.3, np.percentile(before, 90)
    assert np.percentile(after, 90) < 0.06, np.percentile(after, 90)
    left, right = inside & (x < -0.5), inside & (x > 0.5)

    def contrast(image: np.ndarray) -> float:  # log of left over right brightness
        return float(np.log(_low(image)[left].mean() / _low(image)[right].mean()))

    assert contrast(source) < 0 < contrast(target)
    assert abs(contrast(relit) - contrast(target)) < 0.05, (contrast(relit), contrast(target))


def test_too_little_skin_leaves_the_fill_as_it_is():
    points = MEAN_SHAPE * 90 + (128, 100)
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (S, S, 3), dtype=np.uint8)
    sample = np.zeros((S, S), bool)
    sample[10:12, 10:12] = True
    assert gain_map(image, image[::-1], sample, points, ~sample) is None
    source = image[::-1]
    assert relight(image, source, sample, points, ~sample) is source


def test_light_mismatch_sees_what_the_relighting_leaves():
    """A smooth light difference is relit mostly away (its score falls to under a fifth); a rim
    light down one side of the face, which no smooth gain removes, scores about its depth."""
    points = MEAN_SHAPE * 90 + (128, 100)
    x, y = face_frame(points, (S, S))
    target = _lit_face(np.random.default_rng(0), np.clip(1.0 - 0.18 * x, 0.3, 1.3))
    region = np.zeros((S, S), bool)
    region[int(points[29, 1]):int(points[8, 1]) + 10, int(points[3, 0]):int(points[13, 0])] = True
    head = (np.abs(x) < 1.0) & (y < 2.0)  # the head around the region, as warp samples it
    sample = head & ~cv2.dilate(region.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    other = _lit_face(np.random.default_rng(0), np.clip(0.85 + 0.2 * x, 0.3, 1.3))
    smooth = relight(target, other, sample, points, region)
    assert light_mismatch(target, other, sample) > 15.0
    assert light_mismatch(target, smooth, sample) < light_mismatch(target, other, sample) / 5
    rim = target.astype(np.float64)
    edge = (x > 0.6) & (x < 0.9)  # a bright band down the right side of the face
    rim[edge] = np.minimum(rim[edge] * 1.5, 255)
    rim = rim.astype(np.uint8)
    assert light_mismatch(target, rim, sample) > 8.0
    assert light_mismatch(target, rim, sample) > light_mismatch(target, target, sample) + 8.0
    assert np.isnan(light_mismatch(target, rim, np.zeros((S, S), bool)))
