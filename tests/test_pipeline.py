"""`unmask.complete` on a real photo pair with a painted mask: what changes, where it lands, the record."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import unmask
from unmask.blend import GROW, composite_region, grow_region, paste_into_photo
from unmask.errors import UnmaskError
from unmask.face import Alignment, align_face, find_face
from unmask.region import MaskRegion
from unmask.face.identity import MASKED_SAME_PERSON, SHARP_SAME_PERSON
from unmask.images import read_image

# the target is masked, so the identity check may warn although the reference is the same person
pytestmark = pytest.mark.filterwarnings("ignore:the reference looks like another person")


def _paint_mask(photo: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A flat light-blue face mask from the nose bridge over the jaw line: (masked photo, region).
    (Plain on purpose: these tests are about the pipeline's geometry, not the mask's look.)"""
    import cv2

    outline = np.vstack([landmarks[1:16], landmarks[[28]]]).round().astype(np.int32)
    region = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillPoly(region, [outline], 1)
    region = region.astype(bool)
    masked = photo.copy()
    masked[region] = (150, 196, 226)
    return masked, region


@pytest.fixture(scope="module")
def photos(people_dir):
    truth = read_image(people_dir / "p02" / "2.jpg")
    face = find_face(truth)
    masked, region = _paint_mask(truth, face.landmarks)
    return {"truth": truth, "face": face, "masked": masked, "region": region,
            "reference": people_dir / "p02" / "3.jpg"}


@pytest.fixture(scope="module")
def result(photos):
    messages = []
    res = unmask.complete(photos["masked"], photos["reference"], mask=photos["region"], method="warp",
                          progress=messages.append)
    res.messages = messages
    return res


def _alignment(result) -> Alignment:
    return Alignment.from_quad(np.asarray(result.record["alignment"]["quad"]), result.aligned.shape[0])


def test_photo_pixels_outside_the_composited_region_are_bit_identical(photos, result):
    masked, region = photos["masked"], photos["region"]
    assert result.image.shape == masked.shape and result.image.dtype == np.uint8
    scale = _alignment(result).scale
    # the crop region grows by GROW * crop side before compositing; + 3 px for the resampling
    reach = math.ceil(GROW * result.aligned.shape[0] / scale) + 3
    allowed = grow_region(region, reach)
    changed = np.any(result.image != masked, axis=2)
    assert not changed[~allowed].any(), int(changed[~allowed].sum())
    # and the mask is gone: most of the region changed, by a lot (the mask was light blue / black)
    assert changed[region].mean() > 0.95
    assert result.record["changed_photo_px"] == int(changed.sum())


def test_aligned_pixels_outside_the_composited_region_are_bit_identical(photos, result):
    alignment = _alignment(result)
    target_crop = result.steps["masked photo"]
    region_crop = alignment.region_to_crop(photos["region"])
    outside = ~composite_region(region_crop)
    assert np.array_equal(result.aligned[outside], target_crop[outside])
    assert not np.array_equal(result.aligned[region_crop], target_crop[region_crop])


def test_paste_back_lands_where_the_face_was(photos, result):
    # paste the ground truth's aligned crop through the pipeline's alignment into the masked photo:
    # if the inverse alignment is right, the re-detected landmarks (mouth and jaw included) are the
    # original photo's to within 2 px at the original resolution (the photo is 560x415)
    alignment = _alignment(result)
    truth_crop = alignment.crop_like(photos["truth"])
    region_crop = alignment.region_to_crop(photos["region"])
    pasted = paste_into_photo(photos["masked"], truth_crop, alignment, composite_region(region_crop))
    found = find_face(pasted).landmarks
    error = np.linalg.norm(found - photos["face"].landmarks, axis=1)
    pasted_points = np.r_[5:12, 31:36, 48:68]  # chin, nostrils, mouth: all inside the pasted region
    assert error[pasted_points].mean() < 2.0, error[pasted_points].mean()
    # dlib's points are whole pixels and its jaw line wanders by a few: the median over all 68
    assert np.median(error) < 2.0, np.median(error)


def test_record_steps_and_progress(photos, result):
    record = json.loads(result.to_json())
    assert record["method"] == "warp"
    assert record["region"]["source"] == "user mask"
    assert record["region"]["area_px"] == int(photos["region"].sum())
    # the target is masked, so its descriptor is far even from the same person: only the bookkeeping
    assert 0.0 <= record["identity_distance"] < 1.5
    assert record["identity_limit"] in (SHARP_SAME_PERSON, MASKED_SAME_PERSON)
    assert record["same_person"] is (record["identity_distance"] <= record["identity_limit"])
    assert record["references"][0]["used"] and record["inputs"]["reference"] == record["references"][0]["label"]
    assert set(record["seconds"]) >= {"read", "faces", "region", "identity", "align", "method", "paste"}
    assert record["faces"]["target"]["box"] and record["photo_size"] == [photos["masked"].shape[1],
                                                                       photos["masked"].shape[0]]
    assert list(result.steps)[0] == "masked photo" and list(result.steps)[-1] == "result"
    assert "warped reference" in result.steps
    assert any("finding faces" in m for m in result.messages) and result.messages[-1].startswith("done")


def test_bad_inputs_raise_clear_errors(photos, tmp_path):
    masked, region = photos["masked"], photos["region"]
    with pytest.raises(UnmaskError, match="mask array"):
        unmask.complete(masked, photos["reference"], mask=region[:-1])
    with pytest.raises(UnmaskError, match="empty"):
        unmask.complete(masked, photos["reference"], mask=np.zeros_like(region))
    with pytest.raises(UnmaskError, match="uint8 RGB"):
        unmask.complete(masked.astype(np.float32), photos["reference"], mask=region)
    with pytest.raises(UnmaskError, match="unknown method"):
        unmask.complete(masked, photos["reference"], mask=region, method="nope")
    with pytest.raises(UnmaskError, match="does not accept"):
        unmask.complete(masked, photos["reference"], mask=region, no_such_option=1)
    blank = np.full((64, 64, 3), 128, np.uint8)  # small: a blank photo runs every detector stage
    with pytest.raises(UnmaskError, match="no face"):
        unmask.complete(blank, photos["reference"])
    found = MaskRegion(region[:-1], True, 1.0, 1.0, 0.0, photos["face"].landmarks)  # a found face and region
    with pytest.raises(UnmaskError, match="mask region"):
        unmask.complete(masked, photos["reference"], mask=found)
    with pytest.raises(UnmaskError, match="not both"):
        unmask.complete(masked, photos["reference"], face=photos["face"], eyes=(1, 2, 3, 4))


def test_zoomed_alignment_keeps_the_landmark_transform(photos):
    # pipeline._align widens the FFHQ quad by spreading the landmarks; the crop must still hold the
    # face where the alignment says
    from unmask.pipeline import _align

    points = photos["face"].landmarks
    crop, alignment = _align(photos["truth"], points, 384, zoom=1.3)
    plain, plain_alignment = align_face(photos["truth"], points, 384)
    centre = plain_alignment.quad.mean(axis=0)
    assert np.allclose(alignment.quad, centre + 1.3 * (plain_alignment.quad - centre))
    assert crop.shape == (384, 384, 3)


def test_zoom_to_fit_from_the_region_outline_is_the_zoom_from_all_its_pixels():
    """The crop's zoom is set by the region's farthest pixel: found on its outline, it is the
    same zoom as from every pixel (regions with holes and several pieces, some clipped at 2)."""
    import cv2

    from unmask.face import ffhq_quad
    from unmask.face.mean_shape import MEAN_SHAPE
    from unmask.pipeline import _MAX_ZOOM, _ZOOM_MARGIN, _zoom_to_fit

    rng = np.random.default_rng(3)
    zooms = []
    for _ in range(12):
        region = np.zeros((600, 500), np.uint8)
        for _ in range(int(rng.integers(1, 4))):
            x, y = (int(v) for v in rng.integers(0, 500, 2))
            cv2.ellipse(region, (x, y), (int(rng.integers(3, 160)), int(rng.integers(3, 160))),
                        float(rng.uniform(0, 180)), 0, 360, 1, -1)
        region = region.astype(bool) & (rng.random((600, 500)) < 0.95)
        landmarks = MEAN_SHAPE * rng.uniform(60, 200) + rng.uniform(100, 400, 2)
        alignment = Alignment.from_quad(ffhq_quad(landmarks), 256)
        ys, xs = np.nonzero(region)
        points = alignment.to_crop(np.stack([xs, ys], axis=1).astype(np.float64))
        reach = np.abs(points - 255 / 2.0).max() / 128.0
        expected = float(np.clip(reach * (1.0 + _ZOOM_MARGIN), 1.0, _MAX_ZOOM))
        zooms.append(_zoom_to_fit(region, landmarks, 256))
        assert zooms[-1] == expected
    assert any(1.0 < z < _MAX_ZOOM for z in zooms)
