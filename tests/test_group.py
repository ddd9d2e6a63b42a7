"""Group photos: every masked face completed from its own person (`unmask run --people`), the same
pixels as completing that face alone, faces of nobody known and faces without a mask left as they
were and reported."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import unmask
from unmask.cli import cli
from unmask.images import read_image, write_image

from face_fixtures import group_photo

TILE = 320  # each person's photo fits a TILE x TILE square (small photos keep the test fast)
FACES = [("p01", "1.jpg", True), ("p04", "2.jpg", True), ("p02", "1.jpg", True), ("p06", "1.jpg", False)]
"""The group, left to right: (person, photo, masked). p02 is in no people folder (unknown)."""
PEOPLE = {"p01": ("2.jpg", "5.jpg"), "p04": ("3.jpg",), "p06": ("2.jpg",)}
STATUS = ["completed", "completed", "unknown person", "no mask"]


@pytest.fixture(scope="module")
def group(people_dir, tmp_path_factory):
    """The group photo (four tiles side by side), the people folder and `unmask run --people`'s
    result and record."""
    folder = tmp_path_factory.mktemp("group")
    photo = write_image(folder / "group.png", group_photo(people_dir, FACES, TILE))
    for person, names in PEOPLE.items():
        for name in names:
            (folder / "people" / person).mkdir(parents=True, exist_ok=True)
            (folder / "people" / person / name).symlink_to(people_dir / person / name)
    out = folder / "out.png"
    result = CliRunner().invoke(cli, ["run", str(photo), "--people", str(folder / "people"), "--tries", "1",
                                      "-o", str(out), "--json", str(folder / "run.json"), "-q"])
    assert result.exit_code == 0, result.output
    return {"photo": photo, "people": folder / "people", "out": read_image(out),
            "record": json.loads((folder / "run.json").read_text()), "output": result.output}


def _tile(entry: dict) -> int:
    """Which tile a face of the record is in (by its box centre)."""
    x0, _, x1, _ = entry["box"]
    return int((x0 + x1) / 2 // TILE)


def test_every_face_is_reported_with_its_person_and_status(group):
    faces = group["record"]["faces"]
    assert sorted(_tile(e) for e in faces) == [0, 1, 2, 3], faces
    for entry in faces:
        tile = _tile(entry)
        assert entry["status"] == STATUS[tile], entry
        if entry["status"] == "completed":
            assert entry["person"] == FACES[tile][0]
            assert entry["identity_distance"] <= entry["identity_limit"]
            assert entry["reference"].startswith(str(group["people"] / FACES[tile][0]))
        else:
            assert entry["person"] is None and entry["message"]
    unknown = next(e for e in faces if e["status"] == "unknown person")
    assert set(unknown["people"]) == set(PEOPLE)  # its distance to every person, all over the limit
    assert "face" in group["output"] and "matches none of the people" in group["output"]


def test_each_face_is_completed_as_alone_and_the_others_are_left(group):
    """Tolerance 0: completing a face alone (`--face N` with its own person's photos) finds the
    same face, region and references in the same photo, and the paste of one face writes only
    inside its own region, so the group's pixels are the single runs' exactly."""
    before, after = read_image(group["photo"]), group["out"]
    for entry in group["record"]["faces"]:
        tile = _tile(entry)
        columns = slice(tile * TILE, (tile + 1) * TILE)
        if entry["status"] != "completed":
            np.testing.assert_array_equal(after[:, columns], before[:, columns])
            continue
        person = entry["person"]
        alone = unmask.complete(group["photo"], [group["people"] / person / n for n in PEOPLE[person]],
                                face=entry["face"], tries=1)
        assert not np.array_equal(after[:, columns], before[:, columns])
        np.testing.assert_array_equal(after[:, columns], alone.image[:, columns])
        np.testing.assert_array_equal(alone.image[:, :tile * TILE], before[:, :tile * TILE])


def test_one_persons_references_complete_only_that_persons_face(group):
    """`complete(group photo, reference=p04's photos)` with no face chosen: the photo shows three
    masked faces, so each is matched with the one person as with `people`; p04's face is completed
    (the same pixels as from `--people`), the other masked faces are reported as of an unknown
    person and left as they were, as is the unmasked one."""
    references = [group["people"] / "p04" / name for name in PEOPLE["p04"]]
    result = unmask.complete(group["photo"], references, tries=1)
    faces = result.record["faces"]
    assert sorted((_tile(e), e["status"], e["person"]) for e in faces) == [
        (0, "unknown person", None), (1, "completed", "reference"), (2, "unknown person", None),
        (3, "no mask", None)], faces
    assert result.record["inputs"]["people"] == ["reference"]
    before = read_image(group["photo"])
    np.testing.assert_array_equal(result.image[:, TILE:2 * TILE], group["out"][:, TILE:2 * TILE])
    for tile in (0, 2, 3):
        np.testing.assert_array_equal(result.image[:, tile * TILE:(tile + 1) * TILE],
                                      before[:, tile * TILE:(tile + 1) * TILE])
    assert any("matches none of the people" in w for w in result.record["warnings"])


def test_one_masked_face_among_several_is_the_one_completed(group, tmp_path):
    """Two faces, the unmasked one on the left: the masked one is completed, with the record of
    one face, the same as when it is chosen with `face`."""
    from unmask.face import detect_faces

    photo = read_image(group["photo"])
    pair = write_image(tmp_path / "pair.png", np.concatenate([photo[:, 3 * TILE:], photo[:, TILE:2 * TILE]], axis=1))
    references = [group["people"] / "p04" / name for name in PEOPLE["p04"]]
    result = unmask.complete(pair, references, tries=1)
    box = result.record["faces"]["target"]["box"]  # one face's record
    assert (box[0] + box[2]) / 2 > TILE  # the masked face, on the right
    index = next(i for i, face in enumerate(detect_faces(read_image(pair))) if (face.box[0] + face.box[2]) / 2 > TILE)
    np.testing.assert_array_equal(result.image, unmask.complete(pair, references, tries=1, face=index).image)


def test_an_album_completes_its_group_photo_from_every_person(group, people_dir, tmp_path):
    """`unmask batch` over an album: the group photo in one person's folder gets each masked face
    from its own person of the album; the unknown and the unmasked face stay as they were."""
    from unmask.batch import InProcess, Settings, run_batch

    album = tmp_path / "album"
    for person, names in PEOPLE.items():
        (album / person).mkdir(parents=True)
        for name in names:
            (album / person / name).symlink_to(people_dir / person / name)
    (album / "p01" / "group.png").symlink_to(group["photo"])
    summary = run_batch(album, tmp_path / "out", Settings(method="warp"), InProcess(), bars=False)
    assert summary.counts == {"done": 1, "not masked": 4}, summary.counts
    row = json.loads((tmp_path / "out" / "records" / "p01" / "group.png.complete.json").read_text())
    faces = row["record"]["faces"]
    assert sorted((_tile(e), e["status"], e["person"]) for e in faces) == [
        (0, "completed", "p01"), (1, "completed", "p04"), (2, "unknown person", None), (3, "no mask", None)]
    before, after = read_image(group["photo"]), read_image(tmp_path / "out" / "p01" / "group.png")
    np.testing.assert_array_equal(after[:, 2 * TILE:], before[:, 2 * TILE:])
    assert not np.array_equal(after[:, :TILE], before[:, :TILE])


def test_the_users_assignment_overrides_the_matching(group):
    """`assign`: the faces given by hand go to the person chosen (even one over the same-person
    limit) or to nobody (left as it is, said so); the other faces and people are matched as
    without it. A face without a mask or a person not given is refused."""
    from unmask.errors import UnmaskError
    from unmask.pipeline import prepare

    index = {_tile(e): e["face"] for e in group["record"]["faces"]}  # tile -> face number
    scene = prepare(group["photo"], people=group["people"], assign={index[0]: "p04", index[1]: None})
    got = {tile: (scene.faces[i].person, scene.faces[i].status) for tile, i in index.items()}
    # p01, no longer taken by its own face, is within its same-person limit of p02's face
    assert got == {0: ("p04", "to fill"), 1: (None, "unknown person"), 2: ("p01", "to fill"),
                   3: (None, "no mask")}, got
    spot = scene.faces[index[0]]
    assert spot.distance == spot.people["p04"] and spot.distance > spot.limit  # p01's face is not p04's
    assert scene.faces[index[1]].message == "given to nobody"
    assert scene.faces[index[2]].distance <= scene.faces[index[2]].limit
    swapped = prepare(group["photo"], people=group["people"], assign={index[0]: "p04", index[1]: "p01"})
    assert [swapped.faces[index[t]].person for t in range(4)] == ["p04", "p01", None, None]
    assert "given to another face" in swapped.faces[index[2]].message  # p01, its closest, is taken
    for wrong in ({index[3]: "p01"}, {index[0]: "p09"}):
        with pytest.raises(UnmaskError, match="cannot give faces"):
            prepare(group["photo"], people=group["people"], assign=wrong)


def test_people_and_one_face_options_are_refused_before_any_work(tmp_path):
    photo = write_image(tmp_path / "photo.png", np.zeros((64, 64, 3), np.uint8))
    (tmp_path / "people").mkdir()
    for extra in (["--reference", str(photo)], ["--face", "1"], []):
        result = CliRunner().invoke(cli, ["run", str(photo), "--people", str(tmp_path / "people"), *extra,
                                          "-o", str(tmp_path / "out.png")])
        assert result.exit_code != 0 and not (tmp_path / "out.png").exists()
    result = CliRunner().invoke(cli, ["run", str(photo), "-o", str(tmp_path / "out.png")])
    assert result.exit_code == 2 and "--reference" in result.output and "--people" in result.output
