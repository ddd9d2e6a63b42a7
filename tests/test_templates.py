"""Mask templates: loading with anchors, placing by homography (exact region, nothing outside it
changed), recolouring with the shading kept, clear errors for a bad folder."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask.errors import UnmaskError
from unmask.region.templates import MaskTemplate, load_templates, put_template, recolour
from test_synthetic import LANDMARKS, face_photo


def _write_template(folder, name: str = "box.png") -> None:
    """A 100x60 RGBA template: an opaque blue box with a darker fold, transparent border; four
    points inside the box go on jaw points 2 and 14, the nose bridge (28) and the chin (8)."""
    rgba = np.zeros((60, 100, 4), np.uint8)
    rgba[10:50, 10:90] = (60, 120, 220, 255)
    rgba[28:32, 10:90, :3] = (30, 60, 110)
    cv2.imwrite(str(folder / name), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    rows = ["template,landmark,x,y", f"{name},2,15,30", f"{name},14,85,30", f"{name},28,50,15", f"{name},8,50,45"]
    (folder / "anchors.csv").write_text("\n".join(rows) + "\n")


def test_template_is_placed_on_its_anchors(tmp_path):
    _write_template(tmp_path)
    (template,) = load_templates(tmp_path)
    assert template.name == "box.png" and template.rgba.shape == (60, 100, 4)
    assert template.rgba[20, 20, :3].tolist() == [60, 120, 220]  # RGB order, not OpenCV's BGR
    photo = face_photo()
    masked, region = put_template(photo, LANDMARKS, template)
    for index in template.landmarks:
        x, y = np.round(LANDMARKS[index]).astype(int)
        assert region[y, x], index
    eyes = np.round(LANDMARKS[36:48]).astype(int)
    assert not region[eyes[:, 1], eyes[:, 0]].any()
    rim = cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert np.array_equal(masked[~rim], photo[~rim])  # only the region and its antialiased rim change
    assert np.abs(masked[region].astype(int) - (60, 120, 220)).sum(axis=1).min() < 10
    moved, moved_region = put_template(photo, LANDMARKS, template, np.tile([0.0, 0.2], (4, 1)))
    rows = np.nonzero(region.any(axis=1))[0]
    moved_rows = np.nonzero(moved_region.any(axis=1))[0]
    assert moved_rows[0] - rows[0] == pytest.approx(0.2 * 44, abs=1.5)  # 0.2 inter-ocular distances down


def test_recolour_keeps_the_shading():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[:3, :, :3] = 200
    rgba[3:, :, :3] = 100
    out = recolour(rgba, (0, 50, 250))
    assert out[0, 0, :3].tolist() == [0, 50, 250]  # the median lightness gets the colour itself
    assert out[3, 0, :3].tolist() == [0, 25, 125]  # half as light stays half as light
    assert np.array_equal(out[..., 3], rgba[..., 3])


def test_recolour_takes_a_colour_per_pixel():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[:3, :, :3] = 200
    rgba[3:, :, :3] = 100
    colour = np.zeros((4, 4, 3))
    colour[:, :2] = (20, 20, 20)  # a print: black on the left, white on the right
    colour[:, 2:] = (240, 240, 240)
    out = recolour(rgba, colour)
    assert out[0, 0, :3].tolist() == [20, 20, 20] and out[0, 3, :3].tolist() == [240, 240, 240]
    assert out[3, 0, :3].tolist() == [10, 10, 10] and out[3, 3, :3].tolist() == [120, 120, 120]


def test_bad_template_folders_name_the_file(tmp_path):
    with pytest.raises(UnmaskError, match="anchors.csv"):
        load_templates(tmp_path)
    _write_template(tmp_path)
    cv2.imwrite(str(tmp_path / "box.png"), np.zeros((8, 8, 3), np.uint8))  # no alpha
    with pytest.raises(UnmaskError, match="box.png"):
        load_templates(tmp_path)


def test_degenerate_anchors_are_refused():
    flat = MaskTemplate("flat.png", np.zeros((4, 4, 4), np.uint8), np.array([0, 1, 2, 3]), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="flat.png"):
        put_template(face_photo(), LANDMARKS, flat)


def test_real_templates_load(templates_dir):
    templates = load_templates(templates_dir)
    assert len(templates) >= 9
    masked, region = put_template(face_photo(), LANDMARKS, templates[0])
    assert 0.1 < region.mean() < 0.6
