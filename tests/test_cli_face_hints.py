"""`--face-box` and `--eyes` on `unmask run`, `align` and `region`: the face the user points at is
used (and recorded), and malformed or outside values are one-line errors that write nothing."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from unmask.cli import main
from unmask.face import detect_faces
from unmask.images import read_image, write_image

from test_pipeline import _paint_mask  # the same plain painted mask (tests/ is on sys.path)

pytestmark = pytest.mark.filterwarnings("ignore:the reference looks like another person")


@pytest.fixture(scope="module")
def inputs(people_dir, tmp_path_factory):
    """A masked photo about 500 px tall, its mask image, a reference, and the true eyes and box."""
    folder = tmp_path_factory.mktemp("hints")
    photo = read_image(people_dir / "p02" / "2.jpg")
    photo = cv2.resize(photo, None, fx=500 / photo.shape[0], fy=500 / photo.shape[0], interpolation=cv2.INTER_AREA)
    face = detect_faces(photo, use_blazeface=False)[0]
    masked, region = _paint_mask(photo, face.landmarks)
    eyes = np.array([face.landmarks[36:42].mean(0), face.landmarks[42:48].mean(0)])
    return {"folder": folder, "target": write_image(folder / "masked.png", masked),
            "mask": write_image(folder / "mask.png", region.astype(np.uint8) * 255),
            "reference": people_dir / "p02" / "3.jpg", "landmarks": face.landmarks,
            "eyes": ",".join(f"{v:.1f}" for v in eyes.ravel()),
            "box": ",".join(f"{v:.1f}" for v in face.box), "size": photo.shape[:2]}


def _error(argv: list[str], capsys, folder) -> str:
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert sorted(p.name for p in folder.iterdir()) == before
    return err


def test_run_with_eyes_records_the_users_face(inputs, capsys):
    folder = inputs["folder"]
    out, record = folder / "out.png", folder / "run.json"
    main(["run", str(inputs["target"]), "-r", str(inputs["reference"]), "--mask", str(inputs["mask"]),
          "-o", str(out), "--json", str(record), "--eyes", inputs["eyes"], "--quiet"])
    faces = json.loads(record.read_text())["faces"]
    assert faces["target"]["detector"] == "eyes" and faces["reference"]["detector"] != "eyes"
    assert read_image(out).shape[:2] == inputs["size"]


def test_align_with_face_box_uses_it(inputs):
    folder = inputs["folder"]
    main(["align", str(inputs["target"]), "-o", str(folder / "crop.png"), "--json", str(folder / "crop.json"),
          "--face-box", inputs["box"]])
    data = json.loads((folder / "crop.json").read_text())
    assert data["detector"] == "face_box"
    eyes = np.array(data["detected_landmarks_photo"])[36:48].reshape(2, 6, 2).mean(1)
    truth = inputs["landmarks"][36:48].reshape(2, 6, 2).mean(1)
    assert np.abs(eyes - truth).max() < 0.1 * np.hypot(*(truth[1] - truth[0]))


def test_region_with_eyes_writes_the_region(inputs):
    out = inputs["folder"] / "region.png"
    main(["region", str(inputs["target"]), "-o", str(out), "--eyes", inputs["eyes"]])
    assert read_image(out).shape[:2] == inputs["size"]


@pytest.mark.parametrize(
    ("command", "extra", "message"),
    [
        ("align", ["--face-box", "1,2,3"], "--face-box expects 4 numbers as X0,Y0,X1,Y1"),
        ("region", ["--eyes", "1,2,x,4"], "--eyes expects 4 numbers as X,Y,X,Y"),
        ("align", ["--face-box", "0,0,5000,80"], "masked.png: the face box 0,0,5000,80 is outside the photo"),
        ("region", ["--eyes", "50,50,50,50"], "masked.png: the two eyes are at the same place"),
        ("region", ["--eyes", "50,50,90,50", "--face", "1"], "either by index or by a face box"),
        ("run", ["--face-box", "10,10,90", "-r", "ref.jpg"], "--face-box expects 4 numbers"),
    ],
)
def test_bad_hints_are_one_line_errors(inputs, capsys, command, extra, message):
    folder = inputs["folder"]
    err = _error([command, str(inputs["target"]), "-o", str(folder / "never.png"), *extra], capsys, folder)
    assert message in err
