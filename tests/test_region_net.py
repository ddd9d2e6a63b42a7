"""The region network: OpenCV's run of the ONNX file equal to the torch network it was written
from, a run that imports no torch, the crop's geometry, area-averaged crops of large faces,
network files checked (missing, corrupt, wrong shapes), and the shipped network on real template
composites of people it was trained on and of a held-out mask placement."""

from __future__ import annotations

import importlib.util
from pathlib import Path
import subprocess
import sys

import cv2
import numpy as np
import pytest

from unmask.errors import UnmaskError
from unmask.region import net as region_net
from unmask.region.net import CROP, INPUTS, SIDE, crop_matrix, face_crop, load_network, network_input
from test_synthetic import LANDMARKS, face_photo

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_region_net.py"


def _training_script():
    spec = importlib.util.spec_from_file_location("train_region_net", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _logits(path: Path, x: np.ndarray) -> np.ndarray:
    network = load_network(path)
    network.setInput(x[None])
    return network.forward()[0, 0]


def test_opencv_runs_the_torch_network(tmp_path):
    import torch
    from unmask.region.net_model import RegionNet, read_onnx, write_onnx

    torch.manual_seed(0)
    model = RegionNet()
    with torch.no_grad():  # a larger bias: more of the network's units active than at initialisation
        for conv in model.convs.values():
            conv.bias.normal_(0, 0.2)
    write_onnx(model, tmp_path / "net.onnx", "a test")
    x = np.random.default_rng(0).normal(size=(INPUTS, SIDE, SIDE)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)[None])[0, 0].numpy()
    assert np.abs(expected).max() > 0.1
    assert np.allclose(_logits(tmp_path / "net.onnx", x), expected, atol=1e-4)
    again, note = read_onnx(tmp_path / "net.onnx")  # training's --init takes the same weights back
    assert note == "a test"
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_the_shipped_file_is_the_torch_network():
    """Every weight of `RegionNet` in the shipped file, with its shape (the first layer's
    INPUTS channels too, which OpenCV 5 does not check), and OpenCV's logits equal torch's on a
    face crop."""
    import torch
    from unmask.region.net_model import read_onnx

    model, note = read_onnx(region_net.NETWORK)
    assert note.startswith("faces: 68 photos from people, expressions, mfr2")
    x = network_input(face_crop(face_photo(192), crop_matrix(LANDMARKS)))
    with torch.no_grad():
        expected = model(torch.from_numpy(x)[None])[0, 0].numpy()
    assert np.allclose(_logits(region_net.NETWORK, x), expected, atol=1e-4)


def test_a_run_imports_no_torch():
    """A warp run's modules and the network's pass (only training and export need torch)."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from test_synthetic import LANDMARKS, face_photo;"
            "import unmask.pipeline, unmask.methods.warp, unmask.cli; from unmask.region import find_mask_region; from unmask.region.net import mask_probability;"
            "probability, _ = mask_probability(face_photo(192), LANDMARKS); find_mask_region(face_photo(192), LANDMARKS);"
            "print(probability.shape, sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'onnx')"
            " or m == 'unmask.region.net_model'))")
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == f"({SIDE}, {SIDE}) []"


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


def _export(module, path: Path, channels: int = INPUTS) -> Path:
    """`module` written as an ONNX file for an input (1, channels, SIDE, SIDE)."""
    import torch

    torch.onnx.export(module, (torch.zeros(1, channels, SIDE, SIDE),), str(path), dynamo=False, opset_version=13)
    return path


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's TorchScript ONNX exporter
def test_network_files_are_checked(tmp_path):
    from torch import nn

    with pytest.raises(UnmaskError, match="missing"):
        load_network(tmp_path / "absent.onnx")
    (tmp_path / "text.onnx").write_text("not a network")
    with pytest.raises(UnmaskError, match="text.onnx: not a region network file"):
        load_network(tmp_path / "text.onnx")
    shipped = region_net.NETWORK.read_bytes()
    (tmp_path / "cut.onnx").write_bytes(shipped[: len(shipped) // 2])
    with pytest.raises(UnmaskError, match="cut.onnx: not a region network file"):
        load_network(tmp_path / "cut.onnx")
    # readable networks of the wrong shapes: RGB input only, two outputs, half the side
    wrong = [(nn.Conv2d(3, 1, 3, padding=1), 3), (nn.Conv2d(INPUTS, 2, 3, padding=1), INPUTS),
             (nn.Conv2d(INPUTS, 1, 3, stride=2, padding=1), INPUTS)]
    for i, (module, channels) in enumerate(wrong):
        path = _export(module, tmp_path / f"wrong{i}.onnx", channels)
        with pytest.raises(UnmaskError, match=f"wrong{i}.onnx: not a region network file"):
            load_network(path)
    assert load_network().getLayerNames()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_training_checkpoints_are_checked(tmp_path):
    import onnx
    from torch import nn
    from unmask.region.net_model import RegionNet, read_onnx, write_onnx

    (tmp_path / "text.onnx").write_text("not a network")
    with pytest.raises(UnmaskError, match="text.onnx: not a region network file"):
        read_onnx(tmp_path / "text.onnx")
    with pytest.raises(UnmaskError, match="convs.down0a.weight is missing"):
        read_onnx(_export(nn.Conv2d(INPUTS, 1, 1), tmp_path / "other.onnx"))
    write_onnx(RegionNet(), tmp_path / "net.onnx", "a test")
    proto = onnx.load(str(tmp_path / "net.onnx"))
    onnx.save_model(proto, str(tmp_path / "outside.onnx"), save_as_external_data=True, location="weights.bin",
                    size_threshold=0)
    with pytest.raises(UnmaskError, match="stored outside the file"):
        read_onnx(tmp_path / "outside.onnx")


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


def test_network_adds_small_attached_pieces_and_only_eyes_it_claims():
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
    probability[100:150, 20:22] = 0.3  # a faint line: joins only where the line map agrees
    weak = np.zeros((size, size), bool)
    weak[100:150, 20:22] = weak[100:150, 10:12] = True
    probability[140:142, 20:50] = 0.3  # ... and reaches the region through a faint piece it agrees with
    weak[140:142, 20:50] = True
    probability[100:150, 10:12] = 0.1  # where the network does not see it, the line map alone adds nothing
    added = region_module._network_pieces(probability, segment, points, weak, face_frame(points),
                                          region_module._MARGIN, 0.0)
    assert face_frame(points).d == d
    assert added[100, 60] and not added[62, 60]  # the strip, cut 0.5 d from the unclaimed eye
    assert added[60, 130] and added[100, 130]  # the claimed eye and its strip
    assert not added[190, 100] and not added[15, 15] and not added[80, 100]
    assert added[110, 21] and not added[110, 11]


def test_network_adds_no_rim_along_the_region():
    """With the fitted `_RIM`, the network's thin rim along the region's edge (its mask ends a
    little outside the cut's) is not added; a loop reaching beyond it is, joined to the region."""
    from unmask.region import finder as region_module
    from unmask.region.frame import face_frame

    size = 200
    segment = np.zeros((size, size), bool)
    segment[120:170, 50:150] = True
    probability = np.zeros((size, size), np.float32)
    probability[119:171, 49:151] = 0.9  # a rim one pixel wide round the region (0.017 d)
    probability[130:133, 0:49] = 0.9  # a loop leaving its left side
    points = np.zeros((68, 2))
    hexagon = 8 * np.stack([np.cos(np.arange(6) * np.pi / 3), 0.5 * np.sin(np.arange(6) * np.pi / 3)], 1)
    points[36:42], points[42:48] = hexagon + (70, 60), hexagon + (130, 60)
    weak = np.zeros((size, size), bool)
    frame = face_frame(points)
    added = region_module._network_pieces(probability, segment, points, weak, frame, 0.0, region_module._RIM)
    assert added[131, 10] and added[131, 49]  # the loop and where it meets the region
    assert not added[119, 100] and not added[170, 100] and not added[140, 150]  # the rim elsewhere
    everything = region_module._network_pieces(probability, segment, points, weak, frame, 0.0, 0.0)
    assert everything[119, 100] and everything[131, 10]  # without the rim: all of it


@pytest.mark.slow
def test_training_script_writes_a_network_the_package_runs(people_dir, templates_dir, tmp_path):
    """A tiny run of scripts/train_region_net.py (two photos, a few steps) end to end, then a
    fine-tuning run from its file, and one from a file that is not a network."""
    from unmask.region.net_model import read_onnx

    out = tmp_path / "net.onnx"
    faces = [str(people_dir / "p03" / "1.jpg"), str(people_dir / "p08" / "1.jpg")]
    common = ["--faces", *faces, "--templates", str(templates_dir), "--samples", "16", "--batch", "2",
              "--validation", "4"]
    run = subprocess.run([sys.executable, str(SCRIPT), *common, "--out", str(out), "--steps", "2"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "held-out faces IoU" in run.stdout and out.is_file()
    probability, _ = region_net.mask_probability(face_photo(192), LANDMARKS, out)
    assert probability.shape == (SIDE, SIDE) and 0 <= probability.min() <= probability.max() <= 1
    model, note = read_onnx(out)
    assert note.startswith("faces: 2 photos")

    again = tmp_path / "again.onnx"  # a fine-tuning run starts from the first run's network
    run = subprocess.run([sys.executable, str(SCRIPT), *common, "--out", str(again), "--steps", "1",
                          "--init", str(out), "--lr", "1e-9"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    tuned, note = read_onnx(again)
    assert all(np.allclose(a.numpy(), b.numpy(), atol=1e-4)
               for a, b in zip(tuned.state_dict().values(), model.state_dict().values()))
    assert "started from net.onnx (faces: 2 photos" in note

    (tmp_path / "bad.onnx").write_bytes(b"\x00" * 64)
    run = subprocess.run([sys.executable, str(SCRIPT), *common, "--out", str(tmp_path / "x.onnx"), "--steps", "1",
                          "--init", str(tmp_path / "bad.onnx")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "bad.onnx: not a region network file" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "x.onnx").exists()


def test_composites_are_the_same_for_the_same_seed_and_workers(templates_dir, monkeypatch):
    """`make_set` in two processes: the same seed gives the same composites, another seed others."""
    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # the spawned workers import the script by name
    import train_region_net as script
    from unmask.region.templates import load_templates

    faces = [(face_photo(192), LANDMARKS)]
    templates = load_templates(templates_dir)
    crops, regions = script.make_set(faces, templates, 5, np.random.SeedSequence(4), workers=2)
    assert crops.shape == (5, SIDE, SIDE, 3) and regions.shape == (5, SIDE, SIDE)
    again = script.make_set(faces, templates, 5, np.random.SeedSequence(4), workers=2)
    assert np.array_equal(crops, again[0]) and np.array_equal(regions, again[1])
    other = script.make_set(faces, templates, 5, np.random.SeedSequence(5), workers=1)
    assert not np.array_equal(crops, other[0])


def test_weights_of_the_numpy_era_are_written_unchanged(tmp_path):
    """`--export-from` (how the shipped file was made from the numpy-run `net.npz`): the same
    weights, the training note kept."""
    import torch
    from unmask.region.net_model import RegionNet, layer_names, read_onnx

    torch.manual_seed(1)
    model = RegionNet()
    weights = {f"{name}.{part[0]}": value.numpy() for name, conv in model.convs.items()
               for part, value in conv.state_dict().items()}
    assert sorted(weights) == sorted(f"{name}.{part}" for name, _, _ in layer_names() for part in "wb")
    np.savez(tmp_path / "old.npz", training=np.array("faces: 68 photos"), **weights)
    run = subprocess.run([sys.executable, str(SCRIPT), "--export-from", str(tmp_path / "old.npz"),
                          "--out", str(tmp_path / "net.onnx")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    again, note = read_onnx(tmp_path / "net.onnx")
    assert note == "faces: 68 photos; written as ONNX from old.npz"
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    del weights["head.b"]
    np.savez(tmp_path / "short.npz", **weights)
    run = subprocess.run([sys.executable, str(SCRIPT), "--export-from", str(tmp_path / "short.npz"),
                          "--out", str(tmp_path / "short.onnx")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "short.npz: not a numpy-era region network weights file" in run.stderr


def test_thin_parts_are_what_an_opening_removes():
    torch = pytest.importorskip("torch")
    target = torch.zeros(1, 24, 24)
    target[0, 6:18, 6:18] = 1  # a body 12 px wide: kept by the opening
    target[0, 2, :] = 1  # a loop one pixel wide
    target[0, 19:22, 10:12] = 1  # a tip 2 px wide
    thin = _training_script().thin_parts(target)[0].numpy()
    assert thin[2].all() and thin[19:22, 10:12].all()
    assert thin.sum() == 24 + 6


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_network_first_used_on_a_face_is_checked_on_it(tmp_path):
    """`mask_probability` checks a network file on its first face (the check's first input is the
    face's own): a network that ignores the frame coordinates is refused, the shipped one gives
    the same probabilities as running it directly."""
    import torch
    from torch import nn

    from unmask.face.mean_shape import MEAN_SHAPE
    from unmask.region.net import mask_probability

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (400, 300, 3), dtype=np.uint8)
    landmarks = MEAN_SHAPE * 120 + [150, 170]
    blind = nn.Conv2d(INPUTS, 1, 3, padding=1)
    with torch.no_grad():
        blind.weight[:, -1] = 0.0  # reads the colour and one frame coordinate, not the other
    path = _export(blind, tmp_path / "blind.onnx", INPUTS)
    with pytest.raises(UnmaskError, match="blind.onnx: not a region network file"):
        mask_probability(image, landmarks, network_path=path)
    probability, matrix = mask_probability(image, landmarks)
    direct = _logits(region_net.NETWORK, network_input(face_crop(image, matrix)))
    assert np.array_equal(probability, (1 / (1 + np.exp(-direct))).astype(np.float32))


def _masked_face():
    from unmask.region.synthetic import render_mask

    photo = face_photo(192)
    masked, region = render_mask(photo, LANDMARKS, "surgical", 2)
    return photo, masked, region


def test_composites_of_tight_crops_touch_the_frame():
    pytest.importorskip("torch")
    script = _training_script()
    photo, masked, region = _masked_face()
    sides, touching = set(), 0
    for seed in range(30):
        image, cut, points = script.cut_frame(masked, region, LANDMARKS, np.random.default_rng(seed))
        assert image.shape[:2] == cut.shape and image.shape[0] * image.shape[1] < photo.shape[0] * photo.shape[1]
        x, y = np.round(points[30]).astype(int)  # the nose is where the moved landmarks say
        assert np.array_equal(image[y, x], masked[round(LANDMARKS[30, 1]), round(LANDMARKS[30, 0])])
        edges = {"bottom": cut[-1].any(), "left": cut[:, 0].any(), "right": cut[:, -1].any()}
        touching += any(edges.values())  # the mask reaches the photo's new edge
        sides |= {side for side, touched in edges.items() if touched}
    assert touching >= 26 and sides == {"bottom", "left", "right"}


def test_composites_of_turned_heads_keep_the_region_on_the_mask():
    pytest.importorskip("torch")
    script = _training_script()
    photo, masked, region = _masked_face()
    widths = []
    for seed in range(6):
        turned, turned_region, points = script.turn(masked, region, LANDMARKS, np.random.default_rng(seed))
        bare, _, _ = script.turn(photo, region, LANDMARKS, np.random.default_rng(seed))
        changed = np.abs(turned.astype(int) - bare).max(axis=2) > 0
        assert (changed & turned_region).sum() / (changed | turned_region).sum() > 0.95
        for x, y in np.round(points[[51, 57, 62]]).astype(int):
            assert turned_region[y, x]
        left, right = points[30, 0] - points[2, 0], points[14, 0] - points[30, 0]
        widths.append(min(left, right) / max(left, right))
    assert 0.45 < min(widths) and max(widths) < 0.93  # one side narrower, by 10 to 35 % at the jaw and more


def test_composite_colours_are_often_dark():
    pytest.importorskip("torch")
    script = _training_script()
    rng = np.random.default_rng(0)
    colours = np.array([script.random_colour(rng) for _ in range(2000)])
    dark = colours.mean(axis=1) < 60
    assert 0.35 < dark.mean() < 0.55
    navy = (colours[:, 2] > colours[:, 0] + 25) & (colours.max(axis=1) < 110)
    assert navy.mean() > 0.1
    print_ = script.printed((60, 100), (20, 20, 20), np.random.default_rng(3))
    assert print_.shape == (60, 100, 3) and len(np.unique(print_.mean(axis=2).round())) >= 2


def test_composites_are_crops_with_their_region(templates_dir):
    pytest.importorskip("torch")
    from unmask.region.templates import load_templates

    script = _training_script()
    templates = load_templates(templates_dir)
    rng = np.random.default_rng(1)
    empty = 0
    for _ in range(40):
        crop, region = script.sample(face_photo(192), LANDMARKS, templates, rng)
        assert crop.shape == (SIDE, SIDE, 3) and crop.dtype == np.uint8 and region.shape == (SIDE, SIDE)
        empty += not region.any()
    assert 1 <= empty <= 12  # about 12 % unmasked faces with an empty region


def test_larger_templates_and_shade_of_the_training_composites():
    module = _training_script()
    anchors = np.array([2, 8, 14, 30])
    assert not module.lower_edge_shift(LANDMARKS, anchors, 0.0).any()
    shift = module.lower_edge_shift(LANDMARKS, anchors, 0.3)
    length = np.linalg.norm(LANDMARKS[8] - LANDMARKS[27]) / np.linalg.norm(
        LANDMARKS[42:48].mean(axis=0) - LANDMARKS[36:42].mean(axis=0))
    assert shift[1, 1] == pytest.approx(0.3 * length * 1.5, rel=0.05)  # the chin: down, and out (down too)
    assert shift[0, 0] < 0 < shift[2, 0] and not shift[3].any()  # jaw sides outwards; the nose stays
    image = face_photo()
    region = np.zeros(image.shape[:2], bool)
    region[100:160, 60:130] = True
    shaded = module.shaded(image, region, LANDMARKS, np.random.default_rng(0))
    assert np.array_equal(shaded[~region], image[~region])
    loss = image.astype(float) - shaded
    assert loss[100:104, 60:130].mean() < 1 < loss[156:160, 60:130].mean()
    assert (loss >= -0.5).all()
