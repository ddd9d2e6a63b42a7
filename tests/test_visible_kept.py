"""`warp` on a real photo, in colour and in grey (where the skin tests cannot lean on colour):
what the photo shows beside the mask (a collar under the chin, an earring, a beard along the jaw)
stays exactly as it was beyond the compositing band (the region grown by `blend.GROW` of the crop
side, where the fill fades into the photo)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import unmask
from unmask.blend import GROW
from unmask.face import find_face
from unmask.images import read_image

pytestmark = pytest.mark.filterwarnings("ignore:the reference looks like another person")

RESAMPLING = 2
"""Photo pixels the paste back's interpolation may reach beyond the changed crop pixels."""


def _band(result) -> float:
    """The compositing band's width in photo pixels: `GROW` of the crop side, the crop's side in
    photo pixels being the length of the alignment quad's side."""
    quad = np.asarray(result.record["alignment"]["quad"])
    return GROW * float(np.linalg.norm(quad[1] - quad[0]))


@pytest.fixture(scope="module", params=["colour", "grey"])
def case(people_dir, request):
    photo = read_image(people_dir / "p02" / "2.jpg")
    photo = cv2.resize(photo, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)  # crop px ~ photo px
    reference = people_dir / "p02" / "3.jpg"
    if request.param == "grey":
        photo = np.repeat(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
        reference = np.repeat(cv2.cvtColor(read_image(reference), cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    points = find_face(photo).landmarks
    region = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillPoly(region, [np.vstack([points[2:15], points[[29]]]).round().astype(np.int32)], 1)
    region = region.astype(bool)
    distance = cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, 5)
    yy, xx = np.indices(region.shape)
    near = (distance >= 3) & (distance <= 24)
    chin_y, jaw = points[8, 1], points[[2, 14]]
    things = {
        # a white collar under the chin, a gold earring beside the jaw, a dark beard along its side
        "collar": near & (yy > chin_y) & (np.abs(xx - points[8, 0]) < 0.5 * (jaw[1, 0] - jaw[0, 0])),
        "earring": (np.hypot(xx - (jaw[0, 0] - 16), yy - jaw[0, 1]) <= 12) & (distance >= 3),
        "beard": near & (yy > points[4, 1]) & (yy < points[6, 1]) & (xx > points[8, 0]),
    }
    rng = np.random.default_rng(0)
    masked = photo.copy()
    masked[things["collar"]] = (245, 245, 240)
    masked[things["earring"]] = (212, 175, 55)
    masked[things["beard"]] = rng.integers(20, 60, (int(things["beard"].sum()), 3))
    masked[region] = (150, 196, 226)
    result = unmask.complete(masked, reference, mask=region, method="warp")
    return masked, region, distance, things, result.image, _band(result) + RESAMPLING


@pytest.mark.parametrize("thing", ["collar", "earring", "beard"])
def test_what_the_photo_shows_beside_the_mask_stays(case, thing):
    masked, region, distance, things, image, clear = case
    shown = things[thing] & (distance >= clear)
    assert shown.sum() > 100
    changed = np.any(image != masked, axis=2)
    assert not changed[shown].any(), int(changed[shown].sum())


def test_only_the_mask_and_the_band_change(case):
    masked, region, distance, _, image, clear = case
    changed = np.any(image != masked, axis=2)
    assert changed[region].mean() > 0.97
    assert not changed[distance >= clear].any(), int(changed[distance >= clear].sum())
