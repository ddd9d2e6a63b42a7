"""Mask-region finder: synthetic masks on a drawn face, user mask files, the `unmask region`
command. Real photos: tests/test_region_real.py."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from unmask.errors import UnmaskError
from unmask.metrics import fill_reach, left_beyond
from unmask.region.finder import find_mask_region, load_user_mask, region_checks
from unmask.region.synthetic import MASK_KINDS, render_mask

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


def test_plain_fabric_eye_openings_are_left_to_the_colours():
    """A dark mask drawn up over the eyes' landmarks (they were dragged onto it): the openings
    are plain fabric and end up in the region; seen eyes (white and iris) never count as covered."""
    import cv2

    from unmask.region.finder import _covered_eyes

    masked, truth = render_mask(face_photo(), LANDMARKS, "cloth", 4, color=(15, 15, 15))
    top = round(LANDMARKS[36:48, 1].min()) - 3
    band = np.zeros(truth.shape, bool)
    band[top:, round(LANDMARKS[1, 0]) : round(LANDMARKS[15, 0])] = True
    band &= ~truth & (np.arange(truth.shape[0])[:, None] < round(LANDMARKS[29, 1]))
    masked[band] = 15
    truth |= band
    found = find_mask_region(masked, LANDMARKS, min_score=0.0)
    openings = np.zeros(truth.shape, np.uint8)
    for eye in (LANDMARKS[36:42], LANDMARKS[42:48]):
        cv2.fillPoly(openings, [np.round(eye).astype(np.int32)], 1)
    assert found.mask[openings.astype(bool)].mean() > 0.9
    assert (truth & ~found.mask).sum() / truth.sum() < 0.005

    seen = masked.copy()
    seen[openings.astype(bool)] = 235
    seen[np.round(LANDMARKS[36:48, 1]).astype(int), np.round(LANDMARKS[36:48, 0]).astype(int)] = 30
    for eye in (LANDMARKS[36:42], LANDMARKS[42:48]):
        cv2.circle(seen, tuple(np.round(eye.mean(axis=0)).astype(int)), 3, (40, 30, 20), -1)
    everything = np.ones(truth.shape, bool)
    assert _covered_eyes(masked, everything, LANDMARKS) == (True, True)
    assert _covered_eyes(seen, everything, LANDMARKS) == (False, False)
    assert _covered_eyes(masked, ~everything, LANDMARKS) == (False, False)


def test_broken_ear_loops_far_beside_the_face_are_followed():
    """Ear loops bulging 0.75 d out from the jaw (beyond the cut's probable background), each
    broken twice by a small gap (hair crossing it), are taken into the region."""
    import cv2

    masked, truth = render_mask(face_photo(), LANDMARKS, "surgical", 4, color=(150, 190, 225))
    d = float(np.linalg.norm(LANDMARKS[42:48].mean(axis=0) - LANDMARKS[36:42].mean(axis=0)))
    canvas = np.zeros(truth.shape, np.uint8)
    for top, bottom, start in ((2, 5, 0), (14, 11, 180)):
        a, b = LANDMARKS[top], LANDMARKS[bottom]
        centre = tuple(np.round((a + b) / 2).astype(int))
        angle = np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0]))
        axes = (round(np.linalg.norm(b - a) / 2), round(0.75 * d))
        for arc in ((0, 57), (63, 117), (123, 180)):
            cv2.ellipse(canvas, centre, axes, angle, start + arc[0], start + arc[1], 1, 2)
    loops = canvas.astype(bool) & ~truth
    masked[loops] = 20
    found = find_mask_region(masked, LANDMARKS, min_score=0.0)
    # the region stops at the loops' edges (95.8 % of their pixels); the fill's reach takes the rest
    assert (found.mask & loops).sum() / loops.sum() > 0.95
    assert left_beyond(found.mask, loops, fill_reach(LANDMARKS)) <= 0.005



def test_black_loop_over_dark_hair_with_highlights():
    """A black ear loop over dark hair whose light strands (highlights) make a field of light
    lines: dark and light lines are judged apart, so the loop still stands out."""
    import cv2

    masked, truth = render_mask(face_photo(), LANDMARKS, "surgical", 4, color=(150, 190, 225))
    d = float(np.linalg.norm(LANDMARKS[42:48].mean(axis=0) - LANDMARKS[36:42].mean(axis=0)))
    hair = np.zeros(truth.shape, bool)
    hair[round(LANDMARKS[0, 1]) : round(LANDMARKS[6, 1]), : round(LANDMARKS[3, 0])] = True
    hair &= ~truth
    masked[hair] = (60, 42, 30)
    strands = hair & (np.arange(truth.shape[1])[None, :] % 8 == 0)
    masked[strands] = (160, 130, 100)
    canvas = np.zeros(truth.shape, np.uint8)
    a, b = LANDMARKS[2], LANDMARKS[5]
    axes = (round(np.linalg.norm(b - a) / 2), round(0.5 * d))
    angle = np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0]))
    cv2.ellipse(canvas, tuple(np.round((a + b) / 2).astype(int)), axes, angle, 0, 180, 1, 2)
    loop = canvas.astype(bool) & ~truth
    masked[loop] = 5
    found = find_mask_region(masked, LANDMARKS, min_score=0.0)
    assert (found.mask & loop).sum() / loop.sum() > 0.82  # dark and light together: 0.75
