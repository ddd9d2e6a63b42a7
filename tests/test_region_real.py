"""Mask-region finder on the real photos: synthetic masks on people/ (IoU against the exact
rendered region) and real masks in mfr2/ (nose tip to chin covered, eyes left alone)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from unmask.errors import FaceError
from unmask.face import find_face
from unmask.face.models import landmark_predictor
from unmask.face.region import find_mask_region
from unmask.face.synthetic import MASK_KINDS, render_mask
from unmask.images import read_image

PEOPLE_STEP = 8  # every 8th photo of people/ (5 of 40) keeps this within the test budget;
# benchmarks/bench_region.py measures all 40


@pytest.fixture(scope="module")
def people(people_dir):
    """(image, face) for a spread of people/ photos, detected once."""
    photos = sorted(people_dir.glob("*/*.jpg"))[::PEOPLE_STEP]
    out = []
    for path in photos:
        image = read_image(path)
        out.append((path, image, find_face(image, path=path)))
    return out


def _landmarks_on(image: np.ndarray, box) -> np.ndarray:
    """The 68 points the predictor fits to `image` inside a known face box (the masked photo's own
    landmarks, without paying for a second detection)."""
    import dlib

    x0, y0, x1, y1 = (round(v) for v in box)
    shape = landmark_predictor()(image, dlib.rectangle(x0, y0, x1 - 1, y1 - 1))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def test_synthetic_masks_found_on_real_photos(people):
    ious = {kind: [] for kind in MASK_KINDS}
    for index, (path, image, face) in enumerate(people):
        for k, kind in enumerate(MASK_KINDS):
            masked, truth = render_mask(image, face.landmarks, kind, 1000 * index + k)
            found = find_mask_region(masked, _landmarks_on(masked, face.box))
            ious[kind].append((found.mask & truth).sum() / max(1, (found.mask | truth).sum()))
    medians = {kind: float(np.median(v)) for kind, v in ious.items()}
    assert all(m >= 0.85 for m in medians.values()), medians


def test_unmasked_people_reported_unmasked(people):
    alarms = [path.name for path, image, face in people if find_mask_region(image, face).found]
    assert len(alarms) <= 1, alarms


@pytest.fixture(scope="module")
def mfr2(mfr2_dir):
    """(name, label, found region or None when no face is detected) for every masked mfr2 photo
    and every 3rd unmasked one (the benchmark measures them all)."""
    with open(mfr2_dir / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    unmasked = [row for row in rows if row["mask"] == "no-mask"]
    rows = [row for row in rows if row["mask"] != "no-mask"] + unmasked[::3]
    out = []
    for row in rows:
        path = mfr2_dir / row["person"] / row["file"]
        image = read_image(path)
        try:
            face = find_face(image, path=path)
        except FaceError:
            out.append((f"{row['person']}/{row['file']}", row["mask"], None))
            continue
        out.append((f"{row['person']}/{row['file']}", row["mask"], find_mask_region(image, face)))
    return out


def test_real_masks_cover_nose_tip_to_chin(mfr2):
    masked = [(name, found) for name, label, found in mfr2 if label != "no-mask"]
    undetected = [name for name, found in masked if found is None]
    assert len(undetected) <= 0.06 * len(masked), undetected
    detected = [(name, found) for name, found in masked if found is not None]
    missed = [(name, round(found.score, 2)) for name, found in detected if not found.found]
    # counted over all masked photos: detecting more hard faces (N99s) must not fail this test;
    # measured: 1 face too small + 5 regions missed (m04/2, m11/5, m15/4, m17/1, m17/5) of 86
    assert len(missed) + len(undetected) <= 0.075 * len(masked), (missed, undetected)
    bad = [
        (name, round(found.coverage, 2), round(found.above_eyes, 3))
        for name, found in detected
        if found.found and not (found.coverage >= 0.9 and found.above_eyes <= 0.01)
    ]
    assert not bad, bad


def test_real_unmasked_faces_reported_unmasked(mfr2):
    unmasked = [(name, found) for name, label, found in mfr2 if label == "no-mask" and found is not None]
    alarms = [name for name, found in unmasked if found.found]
    assert len(alarms) <= 0.15 * len(unmasked), alarms


def test_region_command(people, tmp_path, capsys):
    from unmask.cli import main
    from unmask.images import write_image

    path, image, face = people[0]
    masked, truth = render_mask(image, face.landmarks, "surgical", 0)
    photo = write_image(tmp_path / "masked.png", masked)
    main(["region", str(photo), "-o", str(tmp_path / "region.png"), "--overlay", str(tmp_path / "check.jpg")])
    region = read_image(tmp_path / "region.png")
    assert region.shape == image.shape
    assert set(np.unique(region)) <= {0, 255}
    found = region[..., 0] == 255
    assert (found & truth).sum() / (found | truth).sum() > 0.85
    assert read_image(tmp_path / "check.jpg").shape == image.shape

    clean = write_image(tmp_path / "clean.png", image)
    with pytest.raises(SystemExit) as exit_info:
        main(["region", str(clean), "-o", str(tmp_path / "none.png")])
    assert exit_info.value.code == 1
    assert "no face mask found" in capsys.readouterr().err
    assert not (tmp_path / "none.png").exists()
