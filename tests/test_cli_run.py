"""`unmask run` end to end on a real photo pair, and its refusals of bad input."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from click.testing import CliRunner

from unmask.cli import cli, main
from unmask.face import find_face
from unmask.images import read_image, write_image

from test_pipeline import _paint_mask  # the same plain painted mask (tests/ is on sys.path)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def inputs(people_dir, tmp_path_factory):
    """A masked photo (a painted flat mask), its mask image and a reference of the same person."""
    folder = tmp_path_factory.mktemp("run")
    photo = read_image(people_dir / "p02" / "2.jpg")
    masked, region = _paint_mask(photo, find_face(photo).landmarks)
    target = write_image(folder / "masked.png", masked)
    mask = write_image(folder / "mask.png", region.astype(np.uint8) * 255)
    return {"folder": folder, "target": target, "mask": mask, "region": region,
            "reference": people_dir / "p02" / "3.jpg", "stranger": people_dir / "p04" / "2.jpg"}


def _error(argv, capsys) -> str:
    """Run the real entry point; it must exit 1 with one `error:` line naming the problem."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_run_end_to_end_writes_result_panel_and_record(inputs):
    folder = inputs["folder"]
    before = {k: _digest(inputs[k]) for k in ("target", "mask", "reference")}
    out, panel, record = folder / "out.jpg", folder / "panel.png", folder / "run.json"
    # no --mask: the face mask is found (the user-mask path is run by the --strict test)
    result = CliRunner().invoke(cli, ["run", str(inputs["target"]), "--reference", str(inputs["reference"]),
                                      "-o", str(out), "--panel", str(panel), "--json", str(record),
                                      "--option", "mirror=auto"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert str(out) in result.stdout and str(panel) in result.stdout and str(record) in result.stdout
    assert "finding faces" in result.stderr and "finding the face-mask region" in result.stderr
    assert "Poisson compositing" in result.stderr
    image = read_image(out)
    masked = read_image(inputs["target"])
    assert image.shape == masked.shape
    # the mask is gone: the region now differs strongly from the (light) mask colours
    diff = np.abs(image.astype(int) - masked.astype(int)).max(axis=2)
    assert np.median(diff[inputs["region"]]) > 20
    panel_image = read_image(panel)
    assert panel_image.shape[1] > 4 * panel_image.shape[0] // 2
    data = json.loads(record.read_text())
    assert data["method"] == "warp" and data["method_options"] == {"mirror": "auto"}
    assert data["region"]["source"] == "detected" and data["region"]["score"] >= 0.5
    assert 0.7 < data["region"]["area_px"] / inputs["region"].sum() < 1.4
    assert 0.0 <= data["identity_distance"] < 1.5 and data["faces"]["reference"]["score"] > 0
    assert {"faces", "method", "paste"} <= set(data["seconds"])
    assert data["inputs"]["target"] == str(inputs["target"])
    assert before == {k: _digest(inputs[k]) for k in ("target", "mask", "reference")}
    assert not list(folder.glob(".*.part"))  # no temporary file left behind


def test_not_an_image(inputs, capsys):
    bogus = inputs["folder"] / "notes.jpg"
    bogus.write_text("not a photo")
    line = _error(["run", str(bogus), "-r", str(inputs["reference"]), "-o", str(inputs["folder"] / "x.jpg")], capsys)
    assert "notes.jpg" in line and "not an image" in line


def test_photo_not_found_exits_1_in_a_fresh_process(inputs, tmp_path):
    """The real command in its own process: one error line and exit 1 (a daemon thread still in
    OpenCV at exit used to abort the process, exit 134)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import unmask

    src = str(Path(unmask.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "unmask", "run", str(tmp_path / "absent.jpg"), "-r",
                           str(inputs["reference"]), "-o", str(tmp_path / "x.jpg"), "--quiet"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [f"error: {tmp_path / 'absent.jpg'}: file not found"]


def test_no_face(inputs, capsys):
    # small, because a blank photo sends the detector through all its slower search stages
    blank = write_image(inputs["folder"] / "wall.png", np.full((64, 64, 3), 90, np.uint8))
    line = _error(["run", str(blank), "-r", str(inputs["reference"]), "-o", str(inputs["folder"] / "x.jpg")], capsys)
    assert "wall.png" in line and "no face" in line


def test_output_over_an_input_is_refused_before_any_work(inputs, capsys):
    before = _digest(inputs["target"])
    line = _error(["run", str(inputs["target"]), "-r", str(inputs["reference"]), "-o", str(inputs["target"])], capsys)
    assert "overwrite an input" in line
    assert _digest(inputs["target"]) == before
    line = _error(["run", str(inputs["target"]), "-r", str(inputs["reference"]), "-o",
                   str(inputs["folder"] / "y.jpg"), "--json", str(inputs["reference"])], capsys)
    assert "overwrite an input" in line


def test_several_references_a_folder_and_a_file(inputs, tmp_path):
    album = tmp_path / "album"
    album.mkdir()
    (album / "same.jpg").write_bytes(inputs["reference"].read_bytes())
    record = tmp_path / "run.json"
    result = CliRunner().invoke(cli, ["run", str(inputs["target"]), "-r", str(inputs["stranger"]), "-r", str(album),
                                      "--mask", str(inputs["mask"]), "-o", str(tmp_path / "out.png"),
                                      "--json", str(record)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "best of 2" in result.stderr
    data = json.loads(record.read_text())
    assert data["inputs"]["reference"] == str(album / "same.jpg")
    assert [e["label"] for e in data["references"]] == [str(album / "same.jpg"), str(inputs["stranger"])]
    assert data["references"][1]["terms"]["identity"] > 0 and data["same_person"]


def test_reference_of_another_person_with_strict(inputs, capsys):
    out = inputs["folder"] / "strict.jpg"
    line = _error(["run", str(inputs["target"]), "-r", str(inputs["stranger"]), "--mask", str(inputs["mask"]),
                   "-o", str(out), "--strict"], capsys)
    assert "another person" in line and "2.jpg" in line
    assert not out.exists()


def test_bad_option(inputs, capsys):
    line = _error(["run", str(inputs["target"]), "-r", str(inputs["reference"]), "-o",
                   str(inputs["folder"] / "z.jpg"), "--option", "mirror"], capsys)
    assert "KEY=VALUE" in line


def test_wrong_person_warning_comes_last_and_is_in_the_record(inputs, tmp_path):
    record = tmp_path / "run.json"
    result = CliRunner().invoke(cli, ["run", str(inputs["target"]), "-r", str(inputs["stranger"]), "--mask",
                                      str(inputs["mask"]), "-o", str(tmp_path / "out.png"), "--json", str(record)])
    assert result.exit_code == 0, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    said = [line for line in lines if "another person" in line]
    assert said == [lines[-1]] and said[0].startswith("warning: the reference looks like another person"), lines
    assert any("done in" in line for line in lines[:-1])  # after the progress, not among it
    assert json.loads(record.read_text())["warnings"] == [said[0].removeprefix("warning: ")]
