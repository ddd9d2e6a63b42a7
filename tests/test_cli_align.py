"""`unmask align` end to end, and every bad input: a one-line error naming the file and the
problem, exit code 1, and no file written or changed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from unmask.cli import main
from unmask.images import read_image


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _fails(args: list[str], folder: Path, capsys) -> str:
    """Run `unmask` expecting a user error; returns the message; checks nothing was touched."""
    before = _snapshot(folder)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code != 0
    assert _snapshot(folder) == before, "a failed command wrote or changed a file"
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1
    return err


@pytest.fixture(scope="module")
def face_photo(people_dir: Path) -> np.ndarray:
    """One real face photo, reduced to 400 px high to keep detection quick."""
    img = read_image(people_dir / "p01" / "1.jpg")
    scale = 400 / img.shape[0]
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


@pytest.fixture()
def work(tmp_path: Path, face_photo: np.ndarray) -> Path:
    Image.fromarray(face_photo).save(tmp_path / "face.jpg", quality=95)
    return tmp_path


def test_align_writes_crop_and_json(work, capsys):
    main(["align", str(work / "face.jpg"), "-o", str(work / "out.png"), "--size", "256",
          "--json", str(work / "out.json")])
    crop = np.asarray(Image.open(work / "out.png"))
    assert crop.shape == (256, 256, 3)
    record = json.loads((work / "out.json").read_text())
    assert record["size"] == 256 and record["faces_found"] == 1 and record["score"] > 0.5
    lm_photo, lm_crop = np.array(record["landmarks_photo"]), np.array(record["landmarks_crop"])
    assert lm_photo.shape == lm_crop.shape == (68, 2)
    matrix = np.array(record["matrix"])
    np.testing.assert_allclose(lm_photo @ matrix[:2, :2].T + matrix[:2, 2], lm_crop, atol=1e-6)
    assert np.array(record["quad"]).shape == (4, 2)
    assert sorted(p.name for p in work.iterdir()) == ["face.jpg", "out.json", "out.png"]


def test_masked_option_moves_only_the_hidden_points(work):
    main(["align", str(work / "face.jpg"), "-o", str(work / "m.png"), "--size", "64", "--masked",
          "--json", str(work / "m.json")])
    record = json.loads((work / "m.json").read_text())
    used, detected = np.array(record["landmarks_photo"]), np.array(record["detected_landmarks_photo"])
    assert record["masked"] is True
    np.testing.assert_array_equal(used[36:48], detected[36:48])
    assert not np.array_equal(used[48:68], detected[48:68])


def test_several_faces_largest_by_default_or_chosen(work, face_photo, capsys):
    # two copies of the face side by side (the second at 0.8 size) in a small photo, where the
    # whole photo is searched at full resolution
    head = face_photo[30:230, 45:245]
    small = cv2.resize(head, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
    group = np.full((200, 200 + small.shape[1], 3), 128, np.uint8)
    group[:, :200] = head
    group[: small.shape[0], 200:] = small
    Image.fromarray(group).save(work / "group.png")
    main(["align", str(work / "group.png"), "-o", str(work / "a.png"), "--size", "64",
          "--json", str(work / "a.json")])
    main(["align", str(work / "group.png"), "-o", str(work / "b.png"), "--size", "64", "--face", "1",
          "--json", str(work / "b.json")])
    a, b = (json.loads((work / f"{n}.json").read_text()) for n in "ab")
    assert a["faces_found"] == b["faces_found"] == 2
    width = lambda r: r["box"][2] - r["box"][0]  # noqa: E731
    assert width(a) > 1.1 * width(b) and a["box"][2] < 200 + 10 < b["box"][2]
    capsys.readouterr()
    err = _fails(["align", str(work / "group.png"), "-o", str(work / "c.png"), "--face", "2"], work, capsys)
    assert "group.png" in err and "face index 2 is out of range: found 2 faces" in err


def test_no_face(work, capsys):
    rng = np.random.default_rng(0)
    Image.fromarray(cv2.GaussianBlur(rng.integers(0, 256, (120, 120, 3), dtype=np.uint8), (0, 0), 4)).save(
        work / "wall.png")
    err = _fails(["align", str(work / "wall.png"), "-o", str(work / "out.png")], work, capsys)
    assert "wall.png" in err and "no face found" in err


def _small_face(face_photo: np.ndarray, width: int) -> np.ndarray:
    """face_photo (its face 133 px wide) scaled so the face is about `width` px, on a 200 px canvas."""
    tiny = cv2.resize(face_photo, None, fx=width / 133, fy=width / 133, interpolation=cv2.INTER_AREA)
    canvas = np.full((200, 200, 3), 200, np.uint8)
    canvas[: tiny.shape[0], : tiny.shape[1]] = tiny
    return canvas


def test_face_too_small(work, face_photo, capsys):
    Image.fromarray(_small_face(face_photo, 36)).save(work / "tiny.png")
    err = _fails(["align", str(work / "tiny.png"), "-o", str(work / "out.png")], work, capsys)
    assert "tiny.png" in err and "too small" in err and "minimum is 48 px" in err


def test_small_face_above_the_minimum_is_aligned(work, face_photo):
    Image.fromarray(_small_face(face_photo, 54)).save(work / "small.png")
    main(["align", str(work / "small.png"), "-o", str(work / "small-aligned.png"), "--size", "256"])
    assert read_image(work / "small-aligned.png").shape == (256, 256, 3)


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("empty.jpg", b"", "file is empty"),
        ("notes.jpg", b"these are not pixels\n" * 20, "not an image file"),
        ("corrupt.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "not an image file"),
    ],
)
def test_unreadable_files(work, capsys, name, content, message):
    (work / name).write_bytes(content)
    err = _fails(["align", str(work / name), "-o", str(work / "out.png")], work, capsys)
    assert name in err and message in err


def test_truncated_jpeg(work, capsys):
    data = (work / "face.jpg").read_bytes()
    (work / "cut.jpg").write_bytes(data[: len(data) // 2])
    err = _fails(["align", str(work / "cut.jpg"), "-o", str(work / "out.png")], work, capsys)
    assert "cut.jpg" in err and "corrupt or truncated" in err


def test_decompression_bomb(work, capsys):
    Image.new("1", (12000, 10000)).save(work / "bomb.png")  # 120 MP in a few kB
    err = _fails(["align", str(work / "bomb.png"), "-o", str(work / "out.png")], work, capsys)
    assert "bomb.png" in err and "too large" in err


def test_missing_file(work, capsys):
    err = _fails(["align", str(work / "nowhere.jpg"), "-o", str(work / "out.png")], work, capsys)
    assert "nowhere.jpg" in err and "file not found" in err


def test_output_over_the_input_is_refused(work, capsys):
    err = _fails(["align", str(work / "face.jpg"), "-o", str(work / "face.jpg")], work, capsys)
    assert "refusing to overwrite an input file" in err


def test_help_reads_well(capsys):
    try:
        main(["align", "--help"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    out = capsys.readouterr().out
    assert "FFHQ-aligned" in out and "--face" in out and "--json" in out and "0 = largest" in out
