"""The skin patches: between the eyes and above the brows, following the face's size and tilt."""

from __future__ import annotations

import numpy as np

from test_synthetic import template_landmarks
from unmask.face.skin import each_skin_patch, skin_patches, visible_skin


def _rotate(points: np.ndarray, degrees: float, centre: np.ndarray) -> np.ndarray:
    angle = np.radians(degrees)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return (points - centre) @ rotation.T + centre


def test_patches_lie_between_the_eyes_and_above_the_brows():
    points = template_landmarks(128, 120, 60)
    patches = skin_patches(points, (256, 256))
    ys, xs = np.nonzero(patches)
    assert patches.sum() > 0.2 * 60 * 60  # both patches together: about a quarter of d squared
    assert np.all(np.abs(xs - 128) <= 0.36 * 60 + 1)  # never over the eyes (their centres are 30 px out)
    brows = points[17:27, 1].min()
    forehead, bridge = ys < brows, ys > brows
    assert forehead.any() and bridge.any()
    assert ys[bridge].max() <= 120 + 0.15 * 60 + 1  # the bridge patch stays above the nose


def test_patches_turn_and_scale_with_the_face():
    points = template_landmarks(128, 120, 60)
    upright = skin_patches(points, (256, 256))
    centre = np.array([128.0, 120.0])
    tilted = skin_patches(_rotate(points, 30, centre), (256, 256))
    expected = skin_patches(points, (256, 256))
    assert abs(int(tilted.sum()) - int(upright.sum())) < 0.05 * upright.sum()
    ys, xs = np.nonzero(tilted)
    assert np.mean(xs) > 128 + 5  # turned 30 degrees clockwise (y points down), the forehead moves right
    small = skin_patches(template_landmarks(128, 120, 30), (256, 256))
    assert abs(small.sum() / expected.sum() - 0.25) < 0.05


def test_no_patch_when_the_eyes_coincide():
    points = np.full((68, 2), 50.0)
    assert not skin_patches(points, (100, 100)).any()


def _painted(points: np.ndarray, bridge: tuple[int, int, int], forehead: tuple[int, int, int]) -> np.ndarray:
    image = np.full((256, 256, 3), 200, np.uint8)
    for patch, colour in zip(each_skin_patch(points, image.shape[:2]), (bridge, forehead)):
        image[patch] = colour
    return image


def test_visible_skin_drops_the_patch_a_hat_or_glasses_cover():
    points = template_landmarks(128, 120, 60)
    bridge, forehead = each_skin_patch(points, (256, 256))
    skin, hat, grey = (205, 160, 135), (30, 30, 45), (235, 235, 235)
    assert np.array_equal(visible_skin(_painted(points, skin, skin), points), bridge | forehead)
    assert np.array_equal(visible_skin(_painted(points, skin, hat), points), bridge)  # hat brim
    assert np.array_equal(visible_skin(_painted(points, hat, skin), points), forehead)  # dark glasses
    # a light grey patch is lighter than skin but not skin: both patches are kept
    assert np.array_equal(visible_skin(_painted(points, grey, hat), points), bridge | forehead)
