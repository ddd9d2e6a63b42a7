"""Below the chin (`unmask.methods.neck`, `warp.neck_layout`): one collar line, clothing filled from
the target's own clothing, the reference's collar covered by its neck. Synthetic images only."""

from __future__ import annotations

import numpy as np

from unmask.blend import harmonic_fill
from unmask.face.mean_shape import MEAN_SHAPE
from unmask.methods.neck import bridge_open_runs, collar_line, fill_clothing, open_below

S = 256
SKIN = np.array([190.0, 140.0, 120.0])


def test_collar_line_ignores_a_shadow_band_and_keeps_an_all_skin_column():
    skin = np.ones((100, 3), bool)
    skin[60:, 0] = False  # column 0: collar from row 60
    skin[20:24, 0] = False  # ... and a thin shadow under the chin
    skin[:, 1] = False  # column 1: no neck at all
    line = collar_line(skin, np.ones(skin.shape), np.full(3, 10), np.full(3, 100))
    assert line.tolist() == [60, 10, 100]


def test_open_runs_between_two_seen_necks_are_bridged_straight():
    line = np.array([50.0, 10, 10, 10, 50, 10, 10])
    open_ = np.array([False, True, True, True, False, True, True])
    collar = np.array([40.0, 0, 0, 0, 60, 0, 0])
    bridged = bridge_open_runs(line, open_, collar, np.ones(7, bool))
    assert np.allclose(bridged[:5], [50, 45, 50, 55, 50])
    assert np.allclose(bridged[5:], 10)  # a run reaching the end keeps the reference's line
    beside = np.array([False] + [True] * 6)  # column 0 is beside the neck: no bridge
    assert np.allclose(bridge_open_runs(line, open_, collar, beside), line)


def test_a_column_showing_the_neck_under_the_region_is_closed():
    region = np.zeros((100, 4), bool)
    region[:50] = True
    skin = np.zeros((100, 4), bool)
    skin[50:, :2] = True  # columns 0 and 1 show the neck under the region
    skin[50:54, 1] = False  # ... column 1 behind the mask's shadow
    assert open_below(region, skin).tolist() == [False, False, True, True]


def test_clothing_takes_the_colour_of_the_clothing_not_of_the_neck_beside_it():
    image = np.zeros((S, S, 3), np.uint8)
    image[:150] = SKIN.astype(np.uint8)  # the neck, then dark clothing from row 150
    image[150:] = (20, 25, 60)
    region = np.zeros((S, S), bool)
    region[100:200, 80:180] = True
    below = np.zeros((S, S), bool)
    below[150:] = True
    skin = np.zeros((S, S), bool)
    skin[:150] = True
    filled = fill_clothing(image, below, region, skin)
    assert np.array_equal(filled[~(region & below)], image[~(region & below)])
    assert np.abs(filled[region & below].astype(float) - (20, 25, 60)).max() <= 2


def test_harmonic_fill_interpolates_between_its_known_sides():
    image = np.zeros((40, 40, 3), np.uint8)
    image[:, :10] = 0
    image[:, 30:] = 200
    region = np.zeros((40, 40), bool)
    region[:, 10:30] = True
    known = ~region
    row = harmonic_fill(image, region, known)[20, 9:31, 0].astype(float)
    assert np.all(np.diff(row) >= 0) and abs(row[10] - 100) < 12


def test_warp_keeps_the_shaded_neck_and_fills_the_clothing_from_the_target():
    from unmask.methods import AlignedCase, make_method
    from unmask.methods.warp import face_zone, inside_jaw

    rng = np.random.default_rng(2)
    pts = MEAN_SHAPE * 55 + (128, 70)  # chin at y = 173: room for the neck below it
    chin = int(pts[8, 1])
    yy = np.mgrid[:S, :S][0]
    shade = np.where((yy > chin) & (yy < chin + 8), 0.45, 1.0)[:, :, None]  # the shadow under the chin
    reference = np.clip(SKIN * shade + rng.normal(0, 4, (S, S, 3)), 0, 255).astype(np.uint8)
    reference[chin + 30:] = (245, 245, 250)  # the reference's white collar
    target = np.clip(SKIN * 0.9 + rng.normal(0, 4, (S, S, 3)), 0, 255).astype(np.uint8)
    target[chin + 40:] = (30, 30, 35)  # the target's dark sweater
    region = np.zeros((S, S), bool)
    region[110:chin + 50, 70:186] = True
    target[region] = (120, 170, 220)  # a light-blue mask reaching over the sweater
    case = AlignedCase(target=target, region=region, target_landmarks=pts, reference=reference,
                       reference_landmarks=pts.copy())
    out = make_method("warp", size=S).complete(case).image.astype(float)
    neck = face_zone(pts, S) & ~inside_jaw(pts, S) & region
    shadow = neck & (yy > chin + 1) & (yy < chin + 7)
    assert np.abs(out[shadow].mean(axis=0) - SKIN * 0.9 * 0.45).max() < 30  # the reference's shadow, kept
    below_neck = region & (yy > chin + 34) & neck.any(axis=0)[None, :]  # under the neck, not beside it
    # the sweater's colour throughout, no streak of skin or collar (main's Telea: 136 levels off at 99 %)
    assert np.percentile(np.abs(out[below_neck] - 32).max(axis=1), 99) < 20
    assert (out[region].min(axis=1) > 200).mean() < 0.01  # nothing white anywhere
