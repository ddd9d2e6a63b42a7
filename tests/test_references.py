"""Several references: ranking on real photos, folders and lists, unusable files, the record."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import unmask
from unmask.errors import ImageError, UnmaskError
from unmask.face import find_face
from unmask.region.synthetic import render_mask
from unmask.images import read_image, write_image
from unmask.references import LIGHT_WEIGHT, closest_result, gather, mouth_opening, pose_mismatch, rank, sources


def _small(image: np.ndarray, side: int = 480) -> np.ndarray:
    scale = side / max(image.shape[:2])
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def person(people_dir):
    """One person: a procedural mask painted on one photo (target, region), another photo as the
    good reference, and two copies of it degraded at test time: blurred, and squeezed sideways as
    a head turned away foreshortens the face."""
    truth = _small(read_image(people_dir / "p04" / "5.jpg"))
    masked, region = render_mask(truth, find_face(truth).landmarks, "surgical", 0)
    good = _small(read_image(people_dir / "p04" / "2.jpg"))
    blurred = cv2.GaussianBlur(good, (0, 0), 3.0)
    squeezed = np.ascontiguousarray(cv2.resize(good, None, fx=0.6, fy=1.0, interpolation=cv2.INTER_AREA))
    return {"target": masked, "region": region, "good": good, "blurred": blurred, "squeezed": squeezed}


def test_a_blurred_or_turned_reference_ranks_below_the_sharp_frontal_one(person):
    candidates, skipped = gather([person["blurred"], person["squeezed"], person["good"]], True, _array)
    ranked = rank(person["target"], find_face(person["target"]), candidates)
    by_label = {entry.candidate.label: entry for entry in ranked}
    assert not skipped and ranked[0].candidate.label == "array 2"
    assert by_label["array 0"].measures["detail"] > 1.0 > by_label["array 2"].measures["detail"]
    assert by_label["array 1"].measures["pose"] > by_label["array 2"].measures["pose"] + 0.05
    assert all(entry.score == pytest.approx(sum(entry.terms.values()), abs=1e-3) for entry in ranked)


def test_pose_and_mouth_measures_on_landmarks():
    from unmask.face.mean_shape import MEAN_SHAPE
    from unmask.methods.warp import mirror_landmarks

    shape = MEAN_SHAPE * 100 + 300
    assert pose_mismatch(shape, shape * 1.7 + 5) == (pytest.approx(0.0, abs=1e-9), False)
    mismatch, mirrored = pose_mismatch(shape, mirror_landmarks(shape, 600.0))
    assert mismatch == pytest.approx(0.0, abs=1e-9)
    squeezed = shape * [0.7, 1.0]
    assert pose_mismatch(shape, squeezed)[0] > 0.05
    opened = shape.copy()
    opened[[65, 66, 67], 1] += 30  # lower inner lip 0.3 eye distances down
    assert mouth_opening(opened) - mouth_opening(shape) == pytest.approx(0.3, abs=0.01)


def test_folder_with_a_corrupt_file_and_a_faceless_photo(person, tmp_path):
    folder = tmp_path / "album"
    folder.mkdir()
    write_image(folder / "b_good.png", person["good"])
    write_image(folder / "a_blurred.png", person["blurred"])
    (folder / "c_corrupt.jpg").write_bytes(b"not a jpeg at all")
    write_image(folder / "d_noface.png", np.full((200, 200, 3), 120, np.uint8))
    (folder / "notes.txt").write_text("not a photo")
    messages = []
    with pytest.warns(UserWarning, match="skipping reference"):
        result = unmask.complete(person["target"], folder, mask=person["region"], progress=messages.append)
    ranking = result.record["references"]
    assert [e["label"] for e in ranking if "rank" in e] == [str(folder / "b_good.png"), str(folder / "a_blurred.png")]
    used = [e for e in ranking if e.get("used")]
    assert len(used) == 1 and result.record["inputs"]["reference"] == used[0]["label"]
    assert set(ranking[0]) == {"label", "rank", "used", "score", "terms", "measures", "result_identity", "result_light"}
    assert set(ranking[0]["terms"]) == {"pose", "mouth", "detail", "identity"}
    # both are the person, so the face was completed with each and the result closer to the other
    # kept, its light mismatch counted as identity distance
    def cost(entry):
        return entry["result_identity"] + LIGHT_WEIGHT * entry["result_light"]
    assert cost(used[0]) == pytest.approx(min(cost(e) for e in ranking if "rank" in e), abs=1e-3)
    assert "choice" in result.record["seconds"]
    skipped = {e["label"]: e["skipped"] for e in ranking if "skipped" in e}
    assert set(skipped) == {str(folder / "c_corrupt.jpg"), str(folder / "d_noface.png")}
    assert "no face found" in skipped[str(folder / "d_noface.png")]
    assert sum("skipping reference" in m for m in messages) == 2
    assert result.record["same_person"]


def test_one_try_uses_the_best_ranked(person):
    result = unmask.complete(person["target"], [person["blurred"], person["good"]], mask=person["region"], tries=1)
    ranking = result.record["references"]
    assert ranking[0]["label"] == "array 1" and ranking[0]["used"] and not ranking[1]["used"]
    assert not any("result_identity" in e for e in ranking) and "choice" not in result.record["seconds"]


def test_the_same_photo_given_twice(person, tmp_path):
    good = write_image(tmp_path / "good.png", person["good"])
    result = unmask.complete(person["target"], [good, tmp_path], mask=person["region"])
    ranking = result.record["references"]
    assert [e["label"] for e in ranking] == [str(good)] * 2 and sum(e["used"] for e in ranking) == 1


def test_the_result_most_like_the_other_photos_is_kept(people_dir, person):
    """Of two "results", the masked photo and its unmasked truth, the truth is closer to the person."""
    truth = _small(read_image(people_dir / "p04" / "5.jpg"))
    others = [_small(read_image(people_dir / "p04" / name)) for name in ("1.jpg", "3.jpg", "4.jpg")]
    candidates, _ = gather([person["good"], *others], True, _array)
    ranked = rank(person["target"], find_face(person["target"]), candidates)
    points = find_face(truth).landmarks
    index, distances = closest_result([(person["target"], points), (truth, points)], ranked[:2], ranked)
    assert index == 1 and distances[1] < distances[0] - 0.05, distances
    # a light mismatch worth more than the identity gap turns the choice; an unknown one is ignored
    gap = (distances[0] - distances[1]) / LIGHT_WEIGHT
    faces = [(person["target"], points), (truth, points)]
    assert closest_result(faces, ranked[:2], ranked, [0.0, gap + 1.0])[0] == 0
    assert closest_result(faces, ranked[:2], ranked, [0.0, gap - 1.0])[0] == 1
    assert closest_result(faces, ranked[:2], ranked, [0.0, float("nan")])[0] == 1


def test_list_of_files_folders_and_arrays(person, tmp_path):
    folder = tmp_path / "more"
    folder.mkdir()
    write_image(folder / "squeezed.png", person["squeezed"])
    write_image(tmp_path / "good.png", person["good"])
    items, several = sources([person["blurred"], folder, tmp_path / "good.png"])
    assert several and items[1:] == [folder / "squeezed.png", tmp_path / "good.png"]
    assert sources(tmp_path / "good.png") == ([tmp_path / "good.png"], False)


def test_unusable_references(person, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(ImageError, match="bad.jpg"):  # one reference: its own error
        gather(*sources(bad), _read)
    blank = np.zeros((120, 120, 3), np.uint8)
    with pytest.raises(UnmaskError, match="none of the 2 reference photos is usable"), \
            pytest.warns(UserWarning, match="skipping reference"):
        gather(*sources([bad, blank]), _read)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UnmaskError, match="holds no photo"):
        sources(empty)


def _array(item, role):
    return item, None


def _read(item, role):
    return (read_image(item), item) if isinstance(item, Path) else (item, None)
