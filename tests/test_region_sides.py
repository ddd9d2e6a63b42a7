"""The mask region's sides and bottom: where dlib's jaw runs inside the mask (a turned head),
the cut may go on past the certain background to the mask's own edge."""

from __future__ import annotations

import cv2
import numpy as np

from unmask.face import find_face
from unmask.region.frame import FaceFrame
from unmask.region.finder import _widened, find_mask_region
from unmask.images import read_image


def test_turned_head_region_reaches_the_far_side_of_the_mask(mfr2_dir):
    # m23/5: a black cloth mask on a head turned to the image's left; the mask's right side runs
    # about 1 d beyond dlib's jaw (to x = 135 on rows 95-120), the suit starts under it
    image = read_image(mfr2_dir / "m23" / "5.png")
    region = find_mask_region(image, find_face(image)).mask
    assert region[95:120, 124:132].mean() >= 0.95
    assert not region[:, 142:].any()


def test_widened_only_where_the_cut_meets_the_certain_background():
    frame = FaceFrame(np.array([30.0, 20.0]), np.array([1.0, 0.0]), np.array([0.0, 1.0]), 40.0)
    seeds = np.full((120, 100), cv2.GC_BGD, np.uint8)
    seeds[30:100, 20:80] = cv2.GC_PR_BGD
    clear = np.zeros(seeds.shape, bool)
    clear[50:90, 30:70] = True
    assert _widened(seeds, clear, frame) is None
    touching = clear.copy()
    touching[50:90, 30:80] = True  # runs along the certain background on the right, below the nose
    wider = _widened(seeds, touching, frame)
    opened = (wider != seeds)
    assert opened.any() and (seeds[opened] == cv2.GC_BGD).all() and (wider[opened] == cv2.GC_PR_BGD).all()
    ys, xs = np.nonzero(opened)
    # within 0.5 d of where the cut met it (column 79, rows 50-89), nothing above the nose's middle
    gap = np.hypot(xs - 79, np.clip(ys, 50, 89) - ys)
    assert gap.max() <= 0.5 * 40 + 1 and ys.min() >= 20 + 0.6 * 40 - 1
    assert not opened[:, :58].any()
