"""BlazeFace's model files ship inside the package: these tests fail (never skip) when they are
missing, damaged or not the files `SOURCE.md` records, and they need no photo from ../shared/data."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest

from unmask.errors import UnmaskError
from unmask.face import blazeface


def _recorded() -> dict[str, tuple[int, str]]:
    """file -> (bytes, sha256) from the table in the packaged SOURCE.md."""
    text = (blazeface.MODEL_FOLDER / "SOURCE.md").read_text()
    rows = re.findall(r"^\| `([\w.]+\.tflite)` \| (\d+) \| `([0-9a-f]{64})` \|$", text, re.MULTILINE)
    return {name: (int(size), digest) for name, size, digest in rows}


def test_packaged_models_are_the_recorded_files():
    recorded = _recorded()
    assert sorted(recorded) == sorted(file for file, _, _ in blazeface._MODELS.values())
    for name, (size, digest) in recorded.items():
        data = (blazeface.MODEL_FOLDER / name).read_bytes()
        assert len(data) == size, name
        assert hashlib.sha256(data).hexdigest() == digest, name
    assert "Apache License" in (blazeface.MODEL_FOLDER / "LICENSE").read_text()


@pytest.mark.parametrize("name", sorted(blazeface._MODELS))
def test_each_model_runs_on_a_blank_input(name):
    """One score and 16 regressors (box, six keypoints) per anchor, as `_run` reads them."""
    _, size, _ = blazeface._MODELS[name]
    net = blazeface._network(name)
    net.setInput(np.zeros((1, 3, size, size), np.float32))
    outputs = sorted(net.forward(net.getUnconnectedOutLayersNames()), key=lambda o: o.shape[-1])
    anchors = {"full": 2304, "short": 896}[name]
    assert len(blazeface._anchors(name)) == anchors
    assert [(o.size, o.shape[-1]) for o in outputs] == [(anchors, 1), (anchors * 16, 16)]
    assert blazeface.detect(np.zeros((size, size, 3), np.uint8)) == []


def test_blazeface_finds_the_astronaut_bare_and_masked():
    """scikit-image's astronaut (shipped with scikit-image, as in the demo), bare and with a
    synthetic surgical mask: one face each, the eyes where dlib's landmarks on the bare photo put
    them (within a fifth of their distance)."""
    from skimage import data

    from unmask.face import detect_faces
    from unmask.region.synthetic import render_mask

    photo = np.ascontiguousarray(data.astronaut())
    landmarks = detect_faces(photo, use_blazeface=False)[0].landmarks
    masked, region = render_mask(photo, landmarks, "surgical", 0)
    assert region[landmarks[[33, 51, 57], 1].astype(int), landmarks[[33, 51, 57], 0].astype(int)].all()
    eyes = np.array([landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)])
    distance = float(np.hypot(*(eyes[1] - eyes[0])))
    for image in (photo, masked):
        found = blazeface.detect(image)
        assert len(found) == 1 and found[0].score >= blazeface.SCORE
        assert np.abs(found[0].eyes - eyes).max() < 0.2 * distance


@pytest.mark.parametrize("damage", ["missing", "damaged"])
def test_a_missing_or_damaged_model_is_a_clear_error(tmp_path, monkeypatch, damage):
    if damage == "damaged":
        for file, _, _ in blazeface._MODELS.values():
            (tmp_path / file).write_bytes(b"not a model" * 100)
    monkeypatch.setattr(blazeface, "MODEL_FOLDER", tmp_path)
    blazeface._network.cache_clear()
    try:
        with pytest.raises(UnmaskError, match=f"face_detection_full_range.tflite is {damage}"):
            blazeface.detect(np.zeros((64, 64, 3), np.uint8))
    finally:
        blazeface._network.cache_clear()
