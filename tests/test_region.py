"""Mask-region finder: synthetic masks on a drawn face, user mask files, the `unmask region`
command. Real photos: tests/test_region_real.py."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from unmask.errors import UnmaskError
from unmask.face.region import find_mask_region, load_user_mask, region_checks
from unmask.face.synthetic import MASK_KINDS, render_mask

from test_synthetic import LANDMARKS, face_photo


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_finds_synthetic_masks_on_a_drawn_face(kind):
    image = face_photo()
    masked, truth = render_mask(image, LANDMARKS, kind, 4)
    # the drawn face has no lips or skin texture, so the mask/no-mask decision (fitted on real
    # photos, tested in test_region_real.py) is switched off here: this tests the boundary
    found = find_mask_region(masked, LANDMARKS, min_score=0.0)
    assert found.mask.shape == image.shape[:2] and found.mask.dtype == bool
    assert found.found and 0 <= found.score <= 1
    iou = (found.mask & truth).sum() / (found.mask | truth).sum()
    assert iou > 0.85, iou
    assert found.above_eyes == 0.0


def test_region_checks_measure_coverage_and_eyes():
    shape = face_photo().shape[:2]
    full = np.ones(shape, bool)
    assert region_checks(full, LANDMARKS)[0] == 1.0
    assert region_checks(full, LANDMARKS)[1] > 0.2
    coverage, above = region_checks(np.zeros(shape, bool), LANDMARKS)
    assert coverage == 0.0 and above == 0.0


def test_load_user_mask(tmp_path):
    mask = np.zeros((40, 60), np.uint8)
    mask[20:35, 15:45] = 255
    Image.fromarray(mask).save(tmp_path / "same.png")
    assert np.array_equal(load_user_mask(tmp_path / "same.png", (40, 60)), mask > 0)
    Image.fromarray(mask).resize((120, 80), Image.NEAREST).save(tmp_path / "double.png")
    assert np.array_equal(load_user_mask(tmp_path / "double.png", (40, 60)), mask > 0)
    Image.fromarray(np.stack([mask] * 3, -1)).save(tmp_path / "rgb.png")
    assert np.array_equal(load_user_mask(tmp_path / "rgb.png", (40, 60)), mask > 0)
    Image.fromarray(mask).resize((60, 60)).save(tmp_path / "square.png")
    with pytest.raises(UnmaskError, match="square.png.*aspect"):
        load_user_mask(tmp_path / "square.png", (40, 60))
    Image.fromarray(np.zeros((40, 60), np.uint8)).save(tmp_path / "black.png")
    with pytest.raises(UnmaskError, match="black.png.*no region"):
        load_user_mask(tmp_path / "black.png", (40, 60))
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(UnmaskError, match="notes.png"):
        load_user_mask(tmp_path / "notes.png", (40, 60))


def test_bad_arguments():
    with pytest.raises(ValueError, match="68, 2"):
        find_mask_region(face_photo(), LANDMARKS[:10])
    with pytest.raises(ValueError, match="uint8"):
        find_mask_region(face_photo().astype(float), LANDMARKS)
