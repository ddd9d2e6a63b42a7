"""The warp method's geometry on synthetic landmarks, and the method end to end on a synthetic case."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.blend import composite_region
from unmask.methods import AlignedCase, make_method
from unmask.face.hidden import yaw
from unmask.face.mean_shape import MEAN_SHAPE
from unmask.methods.warp import face_zone, head_zone, mirror_face, warp_face

S = 256


def _face_points(shift=(0.0, 0.0), scale=1.0, turn=0.0) -> np.ndarray:
    """A plausible 68-point layout in a 256 crop: jaw arc, brows, nose, eyes, mouth."""
    t = np.linspace(-1.2, 1.2, 17)
    jaw = np.stack([128 + 85 * np.sin(t), 120 + 95 * (1 - np.cos(t)) + 10], axis=1)
    brows = np.stack([np.r_[np.linspace(65, 115, 5), np.linspace(141, 191, 5)], np.full(10, 95.0)], axis=1)
    bridge = np.stack([np.full(4, 128.0), np.linspace(110, 150, 4)], axis=1)
    nostrils = np.stack([np.linspace(110, 146, 5), np.full(5, 160.0)], axis=1)
    eye = lambda cx: np.stack([cx + 18 * np.cos(a), 115 + 7 * np.sin(a)], axis=1)  # noqa: E731
    a = np.linspace(np.pi, 3 * np.pi, 6, endpoint=False)
    mouth_out = np.stack([98 + 60 * np.linspace(0, 1, 12), 190 + 12 * np.sin(np.linspace(0, 2 * np.pi, 12))], axis=1)
    mouth_in = np.stack([108 + 40 * np.linspace(0, 1, 8), 190 + 4 * np.sin(np.linspace(0, 2 * np.pi, 8))], axis=1)
    pts = np.vstack([jaw, brows, bridge, nostrils, eye(90), eye(166), mouth_out, mouth_in])
    pts[:, 0] += turn * (pts[:, 1] * 0 + 20) * np.cos((pts[:, 0] - 128) / 120)
    return (pts - 128) * scale + 128 + np.array(shift)


def test_mirror_is_an_involution_and_keeps_numbering():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (S, S, 3), dtype=np.uint8)
    pts = _face_points()
    flipped, fpts = mirror_face(image, pts)
    back, bpts = mirror_face(flipped, fpts)
    assert np.array_equal(back, image) and np.allclose(bpts, pts)
    # the target's left eye corner (36) is still left of its right one (45) after mirroring
    assert fpts[36, 0] < fpts[45, 0] and fpts[0, 0] < fpts[16, 0]
    assert yaw(_face_points(turn=1.0)) == pytest.approx(-yaw(mirror_face(image, _face_points(turn=1.0))[1]))


def test_warp_moves_reference_landmarks_onto_target_points():
    ref_pts = _face_points()
    tgt_pts = _face_points(shift=(6.0, -5.0), scale=0.93)
    tgt_pts[48:68, 1] += 6.0  # a longer lower face
    reference = np.zeros((S, S, 3), np.uint8)
    yy, xx = np.mgrid[:S, :S]
    probes = [8, 30, 51, 57, 62]
    for k in probes:  # a bright disc at each probed reference landmark
        x, y = ref_pts[k]
        reference[(xx - x) ** 2 + (yy - y) ** 2 <= 9] = 255
    warped = warp_face(reference, ref_pts, tgt_pts, S, regularization=0.0)
    for k in probes:
        x, y = np.round(tgt_pts[k]).astype(int)
        patch = warped[y - 2 : y + 3, x - 2 : x + 3, 0]
        assert patch.mean() > 200, (k, patch.mean())


def test_warp_method_fills_the_region_and_keeps_the_rest():
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:S, :S]
    skin = np.stack([150 + 0.1 * xx, 110 + 0.05 * yy, 95 + 0 * xx], axis=-1)
    reference = np.clip(skin + rng.normal(0, 4, (S, S, 3)), 0, 255).astype(np.uint8)
    target = np.clip(skin * 0.8 + rng.normal(0, 4, (S, S, 3)), 0, 255).astype(np.uint8)
    region = ((yy - 190) / 70.0) ** 2 + ((xx - 128) / 95.0) ** 2 <= 1
    target[region] = (120, 170, 220)  # a light-blue mask
    case = AlignedCase(target=target, region=region, target_landmarks=_face_points(),
                       reference=reference, reference_landmarks=_face_points(turn=0.3))
    method = make_method("warp", size=S)
    result = method.complete(case)
    changed = composite_region(region)
    assert np.array_equal(result.changed, changed)
    assert np.array_equal(result.image[~changed], target[~changed])
    # no blue left, and the fill has the target's (darker) skin tone
    fill = result.image[region].astype(float)
    assert np.abs(fill.mean(axis=0) - target[~changed & (yy > 100)].astype(float).mean(axis=0)).max() < 12
    assert set(result.steps) == {"warped reference", "composite"}
    assert result.info["mirrored_reference"] in (True, False)


def test_auto_mirrors_a_reference_turned_the_other_way():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (S, S, 3), dtype=np.uint8)
    region = np.zeros((S, S), bool)
    region[150:230, 70:190] = True
    turned = _face_points(turn=1.0)
    other_way = mirror_face(image, turned)[1]
    method = make_method("warp", size=S)
    for reference_points, mirrored in ((turned, False), (other_way, True)):
        case = AlignedCase(target=image, region=region, target_landmarks=turned,
                           reference=image, reference_landmarks=reference_points)
        assert method.complete(case).info["mirrored_reference"] is mirrored


def test_head_zone_adds_the_forehead_above_the_brows_to_the_face():
    points = MEAN_SHAPE * 100 + (256, 200)  # eye distance 100 px in a 512 crop
    zone, face = head_zone(points, 512), face_zone(points, 512)
    eyes = points[36:48].mean(axis=0)
    distance = np.linalg.norm(points[42:48].mean(axis=0) - points[36:42].mean(axis=0))
    brow_y = points[17:27, 1].min()
    forehead = (int(brow_y - 0.4 * distance), int(eyes[0]))
    assert zone[forehead] and not face[forehead]
    above = (int(brow_y - 0.8 * distance), int(eyes[0]))  # beyond the forehead's 0.6 eye distances
    assert not zone[above]
    assert zone[int(points[57, 1]), int(points[57, 0])]  # the lower lip: inside the jaw line
