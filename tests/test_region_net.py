"""The region network: numpy forward equal to the torch twin the training script trains, the
crop's geometry, area-averaged crops of large faces, weights files checked (no pickles, right
shapes), and the shipped weights on real template composites of people it was trained on and
of a held-out mask placement."""

from __future__ import annotations

import importlib.util
from pathlib import Path
import pickle

import cv2
import numpy as np
import pytest

from unmask.errors import UnmaskError
from unmask.region import net as region_net
from unmask.region.net import CROP, SIDE, crop_matrix, face_crop, forward, load_weights, network_input
from test_synthetic import LANDMARKS, face_photo


def _training_script():
    path = Path(__file__).resolve().parents[1] / "scripts" / "train_region_net.py"
    spec = importlib.util.spec_from_file_location("train_region_net", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_numpy_forward_equals_the_torch_twin():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = _training_script().RegionNet()
    x = np.random.default_rng(0).normal(size=(5, 32, 48)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)[None])[0].numpy()
    assert np.allclose(forward(x, model.numpy_weights()), expected, atol=1e-5)


def test_crop_puts_the_eyes_where_the_frame_says():
    matrix = crop_matrix(LANDMARKS)
    eyes = np.stack([LANDMARKS[36:42].mean(0), LANDMARKS[42:48].mean(0)])
    grid = eyes @ matrix[:, :2].T + matrix[:, 2]
    x0, x1, y0, y1 = CROP
    per_unit = SIDE / (x1 - x0)
    expected_x = (np.array([-0.5, 0.5]) - x0) * per_unit - 0.5
    assert grid[:, 0] == pytest.approx(expected_x, abs=1e-6)
    assert grid[:, 1] == pytest.approx([(0 - y0) * SIDE / (y1 - y0) - 0.5] * 2, abs=1e-6)


def test_a_large_face_is_averaged_like_a_small_one():
    rng = np.random.default_rng(1)
    small = face_photo(192)
    small[::2, ::2] = rng.integers(0, 255, small[::2, ::2].shape)  # fine texture that sampling would alias
    large = cv2.resize(small, None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST)
    a = face_crop(small, crop_matrix(LANDMARKS)).astype(int)
    b = face_crop(large, crop_matrix((LANDMARKS + 0.5) * 8 - 0.5)).astype(int)
    assert np.abs(a - b).mean() < 6


def test_weights_files_are_checked(tmp_path):
    shipped = load_weights()
    bad = dict(shipped)
    bad["down0a.w"] = bad["down0a.w"][:, :3]
    np.savez(tmp_path / "shapes.npz", **bad)
    with pytest.raises(UnmaskError, match="down0a"):
        load_weights(tmp_path / "shapes.npz")
    np.savez(tmp_path / "objects.npz", **{**shipped, "head.b": np.array([object()], dtype=object)})
    with pytest.raises(UnmaskError, match="objects.npz"):  # a pickled array is refused, not loaded
        load_weights(tmp_path / "objects.npz")
    (tmp_path / "pickle.npz").write_bytes(pickle.dumps({"head.w": 1}))
    with pytest.raises(UnmaskError, match="pickle.npz"):
        load_weights(tmp_path / "pickle.npz")


def test_input_holds_the_frame_coordinates():
    x = network_input(np.full((SIDE, SIDE, 3), 255, np.uint8))
    assert x.shape == (5, SIDE, SIDE) and np.allclose(x[:3], 0.5)
    assert x[3, 0, 0] < 0 < x[3, 0, -1] and x[4, 0, 0] < 0 < x[4, -1, 0]


def test_shipped_network_finds_template_masks(people_dir, templates_dir):
    from unmask.face import find_face
    from unmask.region.templates import load_templates, put_template
    from unmask.images import read_image

    ious = []
    for photo, template in zip(["p03/2.jpg", "p08/1.jpg", "p10/2.jpg"], load_templates(templates_dir)[::4]):
        image = read_image(people_dir / photo)
        landmarks = find_face(image).landmarks
        # a placement the training never used exactly: every anchor 0.05 eye distances lower
        masked, truth = put_template(image, landmarks, template, np.tile([0.0, 0.05], (len(template.landmarks), 1)))
        probability, matrix = region_net.mask_probability(masked, landmarks)
        found = cv2.warpAffine(probability, matrix, truth.shape[::-1], flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        found = found >= 0.5
        ious.append((found & truth).sum() / (found | truth).sum())
    assert min(ious) > 0.85, ious


def test_region_takes_printed_shapes_over_the_eyes(people_dir, templates_dir, monkeypatch):
    """The drawn red print's cat ears lie on the eyes, where the cut never goes: only the network
    takes them."""
    from unmask.face import find_face
    from unmask.region import find_mask_region
    from unmask.region import finder as region_module
    from unmask.region.templates import load_templates, put_template
    from unmask.images import read_image

    (template,) = [t for t in load_templates(templates_dir) if t.name == "drawn-red-print.png"]
    image = read_image(people_dir / "p03" / "1.jpg")
    masked, truth = put_template(image, find_face(image).landmarks, template)
    face = find_face(masked)
    missed = (truth & ~find_mask_region(masked, face).mask).sum() / truth.sum()
    monkeypatch.setattr(region_module, "_NETWORK", 2.0)  # no probability reaches it: the cut alone
    missed_by_cut = (truth & ~find_mask_region(masked, face).mask).sum() / truth.sum()
    assert missed_by_cut > 0.02 and missed < 0.5 * missed_by_cut, (missed, missed_by_cut)


def test_network_adds_small_attached_pieces_and_only_eyes_it_claims(monkeypatch):
    """`_network_pieces` on a made-up probability map (the crop is the photo, eyes 60 px apart):
    attached pieces up to 0.5 d^2 join; a larger one (a wall of the mask's colour), one that
    reaches the forehead and a detached one do not; near an eye whose opening it does not claim
    nothing joins, a claimed eye does; a faint line joins where the line map agrees."""
    from unmask.region import finder as region_module
    from unmask.region.frame import face_frame

    size, d = 200, 60.0
    segment = np.zeros((size, size), bool)
    segment[120:170, 50:150] = True
    probability = np.zeros((size, size), np.float32)
    probability[60:120, 56:64] = 0.9  # a strip from the region up to the left eye, which it does not claim
    probability[50:120, 126:134] = 0.9  # the same to the right eye ...
    probability[54:67, 120:141] = 0.95  # ... which it covers: a print over that eye
    probability[170:200, :] = 0.9  # a wall under the region: 6000 px > 0.5 d^2 = 1800 px
    probability[0:120, 97:103] = 0.9  # up to the forehead (frame y < -0.6: above row 24)
    probability[10:20, 10:20] = 0.9  # detached
    points = np.zeros((68, 2))
    hexagon = 8 * np.stack([np.cos(np.arange(6) * np.pi / 3), 0.5 * np.sin(np.arange(6) * np.pi / 3)], 1)
    points[36:42], points[42:48] = hexagon + (70, 60), hexagon + (130, 60)
    monkeypatch.setattr(region_module, "mask_probability", lambda image, landmarks: (probability, np.eye(3)[:2]))
    probability[100:150, 20:22] = 0.3  # a faint line: joins only where the line map agrees
    weak = np.zeros((size, size), bool)
    weak[100:150, 20:22] = weak[100:150, 10:12] = True
    probability[140:142, 20:50] = 0.3  # ... and reaches the region through a faint piece it agrees with
    weak[140:142, 20:50] = True
    probability[100:150, 10:12] = 0.1  # where the network does not see it, the line map alone adds nothing
    added = region_module._network_pieces(np.zeros((size, size, 3), np.uint8), points, (0, 0, size, size),
                                          segment, points, weak, face_frame(points))
    assert face_frame(points).d == d
    assert added[100, 60] and not added[62, 60]  # the strip, cut 0.5 d from the unclaimed eye
    assert added[60, 130] and added[100, 130]  # the claimed eye and its strip
    assert not added[190, 100] and not added[15, 15] and not added[80, 100]
    assert added[110, 21] and not added[110, 11]


@pytest.mark.slow
def test_training_script_writes_weights_the_package_loads(people_dir, templates_dir, tmp_path):
    """A tiny run of scripts/train_region_net.py (two photos, a few steps) end to end."""
    import subprocess
    import sys

    out = tmp_path / "net.npz"
    faces = [str(people_dir / "p03" / "1.jpg"), str(people_dir / "p08" / "1.jpg")]
    run = subprocess.run([sys.executable, str(Path(__file__).resolve().parents[1] / "scripts" / "train_region_net.py"),
                          "--faces", *faces, "--templates", str(templates_dir), "--out", str(out),
                          "--samples", "16", "--steps", "2", "--batch", "2", "--validation", "4"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "held-out faces IoU" in run.stdout and out.is_file()
    weights = load_weights(out)
    assert set(weights) == {f"{name}.{part}" for name, _, _ in region_net.layer_names() for part in "wb"}
    assert str(np.load(out)["training"]).startswith("faces: 2 photos")

    again = tmp_path / "again.npz"  # a fine-tuning run starts from the first run's weights
    run = subprocess.run([sys.executable, str(Path(__file__).resolve().parents[1] / "scripts" / "train_region_net.py"),
                          "--faces", *faces, "--templates", str(templates_dir), "--out", str(again),
                          "--samples", "16", "--steps", "1", "--batch", "2", "--validation", "4",
                          "--init", str(out), "--lr", "1e-9"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    tuned = load_weights(again)
    assert all(np.allclose(tuned[key], weights[key], atol=1e-4) for key in weights)
    assert "started from net.npz (faces: 2 photos" in str(np.load(again)["training"])


def test_thin_parts_are_what_an_opening_removes():
    torch = pytest.importorskip("torch")
    target = torch.zeros(1, 24, 24)
    target[0, 6:18, 6:18] = 1  # a body 12 px wide: kept by the opening
    target[0, 2, :] = 1  # a loop one pixel wide
    target[0, 19:22, 10:12] = 1  # a tip 2 px wide
    thin = _training_script().thin_parts(target)[0].numpy()
    assert thin[2].all() and thin[19:22, 10:12].all()
    assert thin.sum() == 24 + 6
