"""Full-size contact sheets: the crop around the region, the enlargement, the worst-first order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from unmask.evaluation import sheets


def test_face_box_shows_eyes_and_neck_and_clips_to_the_photo():
    region = np.zeros((400, 300), bool)
    region[200:300, 50:250] = True  # 100 high, 200 wide
    assert sheets.face_box(region) == (150, 350, 0, 300)  # half a height up and down, a quarter width aside
    region[:] = False
    region[10:110, 100:200] = True
    assert sheets.face_box(region) == (0, 160, 75, 225)


def test_small_crops_are_enlarged_and_large_ones_kept_or_shrunk():
    region = np.zeros((1000, 800), bool)
    region[400:500, 300:500] = True
    photo = np.random.default_rng(0).integers(0, 256, (1000, 800, 3), dtype=np.uint8)
    crops = sheets.face_crops({"result": photo}, region)
    assert crops["result"].shape == (200, 300, 3)
    assert np.array_equal(crops["result"], photo[350:550, 250:550])  # its own pixels
    assert sheets.shown(crops["result"]).shape == (sheets.SHEET_HEIGHT, sheets.SHEET_HEIGHT * 3 // 2, 3)
    region[:] = False
    region[100:900, 100:700] = True  # a huge face: kept at most MAX_HEIGHT tall
    big = sheets.face_crops({"result": photo}, region)["result"]
    assert big.shape[0] == sheets.MAX_HEIGHT and sheets.shown(big) is big


def test_worst_first_puts_nan_last_and_sheets_hold_three_rows():
    rows = [{"case": c, "mask": "m", "status": "done", "light90": v, "collateral": 0.01, "seam": 2.0,
             "seam_texture": 0.5, "remnant": 0.0, "chroma90": 3.0, "identity": math.nan}
            for c, v in zip("abcde", (5.0, math.nan, 30.0, 12.0, 1.0))]
    assert sheets.worst_first(rows, "light90") == [2, 3, 0, 4, 1]
    crops = [{n: np.full((50, 60, 3), 100, np.uint8) for n in sheets.CROPS}] * len(rows)
    pages = sheets.sheet_set(rows, crops, "light90", 4, "warp")
    assert list(pages) == ["warp-light90-1.png", "warp-light90-2.png"]
    first, second = pages["warp-light90-1.png"](), pages["warp-light90-2.png"]()
    assert first.shape[0] > 3 * sheets.SHEET_HEIGHT and sheets.SHEET_HEIGHT < second.shape[0] < 2 * sheets.SHEET_HEIGHT
    assert sheets.row_labels(rows[2], "light90", 1)[0] == "light90 #1: c m"
    with pytest.raises(ValueError, match="unknown sheet order"):
        sheets.sheet_set(rows, crops, "psnr", 4, "warp")
