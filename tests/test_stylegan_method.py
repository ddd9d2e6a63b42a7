"""Method `stylegan`: plumbing with a tiny random generator (its faces are meaningless; the test
checks the data flow, the cache, untouched pixels and the outputs)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from gan_fixtures import make_tiny_generator, write_nvidia_pytorch_pickle

from unmask.cli import cli
from unmask.errors import UnmaskError
from unmask.images import read_image, to_uint8, write_image
from unmask.methods import AlignedCase, make_method
from unmask.project import ProjectSettings

STEPS = 3
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    G = make_tiny_generator(32, seed=0)
    return G, write_nvidia_pytorch_pickle(G, tmp_path_factory.mktemp("gan") / "TINY.pkl")


def _case(G) -> AlignedCase:
    with torch.no_grad():
        faces = to_uint8(G(torch.randn(3, G.z_dim, generator=torch.Generator().manual_seed(1))))
    region = np.zeros((32, 32), bool)
    region[18:30, 8:24] = True
    target = faces[0].copy()
    target[region] = (120, 170, 220)  # a light blue "mask"
    points = np.zeros((68, 2))
    return AlignedCase(target=target, region=region, target_landmarks=points, reference=faces[1],
                       reference_landmarks=points, expression=faces[2], expression_landmarks=points)


def test_method_fills_only_the_region_and_reuses_projections(weights, tmp_path):
    G, path = weights
    method = make_method("stylegan", weights=str(path), steps=STEPS, cache_dir=str(tmp_path / "latents"))
    assert method.size == 32
    case = _case(G)
    messages = []
    first = method.complete(case, progress=messages.append)
    assert first.image.shape == (32, 32, 3) and first.changed[case.region].all()
    assert np.array_equal(first.image[~first.changed], case.target[~first.changed])
    assert set(first.steps) == {"target projection", "reference projection", "expression projection", "mixed face"}
    assert first.info["cached"] == [False, False, False] and first.info["expression_res"] == [16]
    json.dumps(first.info)
    assert any("projecting 3 face(s)" in m for m in messages)
    assert len(list((tmp_path / "latents").glob("*.npz"))) == 3
    # other mixing bands: no projection at all, same latents, another mix
    other = make_method("stylegan", weights=str(path), steps=STEPS, cache_dir=str(tmp_path / "latents"),
                        pose_res="4", expression_res="8,16")
    second = other.complete(case)
    assert second.info["cached"] == [True, True, True]
    assert np.array_equal(second.steps["target projection"], first.steps["target projection"])
    assert not np.array_equal(second.steps["mixed face"], first.steps["mixed face"])


def test_method_options_are_checked(weights, tmp_path):
    _, path = weights
    with pytest.raises(UnmaskError, match="needs generator weights"):
        make_method("stylegan")
    with pytest.raises(UnmaskError, match="--pose-res"):
        make_method("stylegan", weights=str(path), pose_res="64")
    with pytest.raises(ValueError, match="prefill"):
        make_method("stylegan", weights=str(path), prefill="magic")
    with pytest.raises(UnmaskError, match="optimizer"):
        make_method("stylegan", weights=str(path), optimizer="sgd")
    assert make_method("stylegan", weights=str(path)).settings.steps == 40  # fast defaults
    official = make_method("stylegan", weights=str(path), optimizer="adam")
    assert official.settings == ProjectSettings.official()
    assert make_method("stylegan", weights=str(path), optimizer="adam", steps=5).settings.steps == 5


def test_prefill_and_pivotal_tuning_run(weights, tmp_path):
    G, path = weights
    method = make_method("stylegan", weights=str(path), steps=2, prefill="opencv-telea", pti_steps=2,
                         cache=False)
    case = _case(G)
    case.expression = None
    done = method.complete(case)
    assert done.info["prefill"] == "opencv-telea" and done.info["pti_steps"] == 2
    assert not np.array_equal(done.steps["prefilled target"][case.region], case.target[case.region])
    assert np.array_equal(done.image[~done.changed], case.target[~done.changed])


def _masked_photo(people_dir, folder):
    """A real photo with a flat-coloured "face mask" drawn over nose, mouth and chin, and that region."""
    from unmask.face import find_face

    photo = read_image(people_dir / "p02" / "1.jpg")
    points = find_face(photo).landmarks
    hull = np.concatenate([points[2:15], points[[29]]]).round().astype(np.int32)
    region = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillPoly(region, [cv2.convexHull(hull)], 1)
    masked = photo.copy()
    masked[region.astype(bool)] = (200, 215, 235)
    return (write_image(folder / "masked.png", masked), write_image(folder / "mask.png", region * 255),
            region.astype(bool), masked)


def test_unmask_run_stylegan_end_to_end(weights, people_dir, tmp_path):
    _, path = weights
    target, mask, region, masked = _masked_photo(people_dir, tmp_path)
    out, panel, record = tmp_path / "out.png", tmp_path / "panel.png", tmp_path / "run.json"
    argv = ["run", str(target), "--reference", str(people_dir / "p02" / "3.jpg"), "--mask", str(mask),
            "--method", "stylegan", "--weights", str(path), "--option", f"steps={STEPS}",
            "--option", f"cache_dir={tmp_path / 'latents'}", "-o", str(out), "--panel", str(panel),
            "--json", str(record), "-q"]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, (result.output, result.exception)
    image = read_image(out)
    assert image.shape == masked.shape
    changed = np.any(image != masked, axis=2)
    assert changed.any()
    info = json.loads(record.read_text())
    # every changed pixel lies in the region or its rim: the composite grows the region and the
    # paste-back interpolates, a few crop pixels (at 32 px, one crop pixel is many photo pixels)
    quad = np.array(info["alignment"]["quad"])
    rim = int(np.ceil(4 * np.linalg.norm(quad[3] - quad[0]) / 32))
    grown = cv2.dilate(region.astype(np.uint8), np.ones((2 * rim + 1, 2 * rim + 1), np.uint8)).astype(bool)
    assert not changed[~grown].any()
    assert changed[region].mean() > 0.5
    assert read_image(panel).shape[0] > 32
    assert info["method"] == "stylegan" and info["crop_size"] == 32
    assert info["completion"]["projection"]["steps"] == STEPS and info["completion"]["cached"] == [False, False]


def test_method_messages_and_bars_follow_the_caller(weights, people_dir, tmp_path):
    """The Python API passes the method its messages (and bars) only when asked: `bars=False`
    (what `unmask run --quiet` passes) keeps the method silent, the pipeline's stages still report."""
    import unmask

    _, path = weights
    target, _, region, _ = _masked_photo(people_dir, tmp_path)
    options = dict(method="stylegan", weights=str(path), steps=STEPS, cache=False, mask=region)
    for bars, expected in ((None, True), (False, False)):
        messages: list[str] = []
        unmask.complete(target, people_dir / "p02" / "3.jpg", progress=messages.append, bars=bars, **options)
        assert any(m.startswith("completing") for m in messages)
        assert any(m.startswith("projecting") for m in messages) is expected, messages
