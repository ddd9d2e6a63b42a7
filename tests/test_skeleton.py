"""unmask.skeleton: one-pixel-wide lines, the same as scikit-image's thinning."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
from skimage.morphology import skeletonize as skimage_skeletonize
from skimage.morphology import thin

from unmask.skeleton import skeletonize


def _strokes(seed: int) -> np.ndarray:
    """Bool (120, 160): three thick random polylines."""
    rng = np.random.default_rng(seed)
    image = np.zeros((120, 160), np.uint8)
    for _ in range(3):
        points = rng.integers(5, 150, (4, 2)).astype(np.int32)
        cv2.polylines(image, [points], False, 1, int(rng.integers(2, 9)))
    return image.astype(bool)


@pytest.mark.parametrize("seed", range(6))
def test_equals_scikit_image_thin_and_measures_the_same_length_as_its_skeleton(seed):
    mask = _strokes(seed)
    ours = skeletonize(mask)
    assert np.array_equal(ours, thin(mask))
    assert not (ours & ~mask).any()
    reference = skimage_skeletonize(mask).sum()
    assert abs(int(ours.sum()) - int(reference)) <= 0.08 * reference  # skeletonize keeps a few more spur pixels


def test_a_thick_bar_becomes_a_line_of_its_length_and_keeps_its_connectivity():
    mask = np.zeros((40, 200), bool)
    mask[15:24, 20:180] = True
    line = skeletonize(mask)
    assert line.sum() == pytest.approx(160, abs=10)
    assert line.any(axis=0)[25:175].all()  # one pixel per column along the bar
    assert line.sum(axis=0).max() == 1
    ring = np.zeros((100, 100), np.uint8)
    cv2.circle(ring, (50, 50), 30, 1, 5)
    count, _ = cv2.connectedComponents(skeletonize(ring.astype(bool)).astype(np.uint8), connectivity=8)
    assert count == 2  # background and one closed loop


def test_empty_and_border_touching_masks():
    assert not skeletonize(np.zeros((5, 5), bool)).any()
    full = np.ones((9, 9), bool)
    assert 0 < skeletonize(full).sum() <= 9
    with pytest.raises(ValueError, match="2-D"):
        skeletonize(np.zeros((3, 3, 3), bool))


def test_the_run_path_imports_no_skimage_nor_scipy_spatial_interpolate_ndimage():
    code = (
        "import sys, unmask.pipeline, unmask.references, unmask.methods.warp, unmask.region.finder, unmask.blend, unmask.cli;"
        "print(sorted(m for m in sys.modules if m.startswith(('skimage', 'scipy.spatial', 'scipy.interpolate', 'scipy.ndimage'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
