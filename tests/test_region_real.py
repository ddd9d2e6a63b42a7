"""Mask-region finder on the real photos: synthetic masks on people/ (IoU and remnant against the exact
rendered region) and real masks in mfr2/ (nose tip to chin covered, eyes left alone). A remnant
here is the true region beyond the fill's reach from the found one (`unmask.metrics.left_beyond`):
the region stops at the mask's edge and the compositing's grow takes its blended rim."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from unmask.errors import FaceError
from unmask.face import find_face
from unmask.face.models import landmark_predictor
from unmask.region.finder import find_mask_region
from unmask.face.skin import skin_patches
from unmask.region.synthetic import MASK_KINDS, render_mask
from unmask.images import read_image
from unmask.metrics import fill_reach, left_beyond

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
    # masks pulled down under the nose: on 2 of these 6 photos judged unmasked, on 1 the cut
    # takes the cheeks (docs/region.md, known failures)
    assert medians.pop("pulled_down") >= 0.6
    assert all(m >= 0.85 for m in medians.values()), medians


def test_synthetic_masks_leave_no_fabric(people):
    """The share of the true region beyond the fill's reach from the found one (what would stay as
    fabric)."""
    remnants = []
    for index, (path, image, face) in enumerate(people[:3]):
        for k, kind in enumerate(MASK_KINDS):
            masked, truth = render_mask(image, face.landmarks, kind, 500 + 1000 * index + k)
            found = find_mask_region(masked, face.landmarks)
            remnants.append(_left(found, truth))
    assert np.median(remnants) <= 0.002, np.round(remnants, 4)


def _left(found, truth: np.ndarray) -> float:
    """The share of the true region (bool (H, W)) that a fill of the found `MaskRegion` leaves."""
    return left_beyond(found.mask, truth, fill_reach(found.landmarks))


def _bordered_mask(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A surgical mask like a photographed one: light blue body reaching up over the nose bridge
    close to the eyes, a white upper border with a grey nose wire in it. Returns (masked, region)."""
    import cv2

    _, body = render_mask(image, landmarks, "surgical", 0)
    eyes = landmarks[36:48]
    d = float(np.linalg.norm(landmarks[36:42].mean(axis=0) - landmarks[42:48].mean(axis=0)))
    top = eyes[:, 1].max() + 0.15 * d  # a little under the lower eyelids
    ys, xs = np.nonzero(body)
    region = body.copy()
    columns = np.arange(xs.min(), xs.max() + 1)
    first = np.array([ys[xs == x].min() if (xs == x).any() else body.shape[0] for x in columns])
    centre = landmarks[27:31, 0].mean()
    # the top edge rises towards the nose bridge (a wire bent over it)
    wanted = np.maximum(top, first - 0.12 * d * np.clip(1 - np.abs(columns - centre) / (0.6 * d), 0, 1))
    for x, y0, y1 in zip(columns, wanted.astype(int), first):
        region[y0:y1, x] = True
    masked = image.copy()
    masked[region] = (150, 196, 226)
    yy = np.arange(image.shape[0])[:, None]
    band = region & (yy < np.interp(np.arange(image.shape[1]), columns, wanted)[None, :] + 0.1 * d)
    masked[band] = (238, 240, 242)
    wire = np.zeros(image.shape[:2], np.uint8)
    pts = np.stack([columns, wanted + 0.05 * d], axis=1)
    pts = pts[np.abs(columns - centre) < 0.35 * d].round().astype(np.int32)
    cv2.polylines(wire, [pts], False, 1, max(1, round(0.02 * d)))
    masked[(wire > 0) & region] = (170, 172, 176)
    return masked, region


def test_white_border_and_nose_wire_covered(people):
    for path, image, face in people[:3]:
        masked, truth = _bordered_mask(image, face.landmarks)
        found = find_mask_region(masked, face.landmarks)
        assert found.found, path
        remnant = _left(found, truth)
        assert remnant <= 0.01, (path.name, remnant)  # measured 0 to 0.9 %


@pytest.mark.parametrize("kind, colour", [("surgical", (236, 176, 190)), ("n95", (240, 240, 236))])
def test_pink_and_white_masks_found(people, kind, colour):
    missed = []
    for index, (path, image, face) in enumerate(people):
        masked, _ = render_mask(image, face.landmarks, kind, index, color=colour)
        if not find_mask_region(masked, face.landmarks).found:
            missed.append(path.name)
    assert not missed, missed


def test_printed_masks_of_skin_colour_found(people):
    """A print on fabric of the person's own skin colour: only its motifs' colour edges tell it
    from skin. Before the print cue 4 of these 6 were judged unmasked; now 1 (p03/3: dark brown
    and grey motifs, edges of lightness more than of colour, which stubble has too)."""
    missed = []
    for index, (path, image, face) in enumerate(people):
        skin = np.median(image[skin_patches(face.landmarks, image.shape[:2])], axis=0)
        masked, _ = render_mask(image, face.landmarks, "printed", index, color=tuple(int(c) for c in skin))
        found = find_mask_region(masked, face.landmarks)
        if not found.found:
            missed.append((path.name, round(found.score, 2)))
    assert len(missed) <= 1, missed


def _template_on(image: np.ndarray, landmarks: np.ndarray, templates_dir, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The photo with the mask template `name` (RGBA, `anchors.csv`: its pixel per landmark
    index) put on the face as `make_cases.py` does (the homography from its anchors to
    `landmarks` (68, 2)), and the template's region (alpha above one half), bool (H, W)."""
    rows = [r for r in csv.DictReader(open(templates_dir / "anchors.csv")) if r["template"] == name]
    source = np.array([[float(r["x"]), float(r["y"])] for r in rows], np.float32)
    target = landmarks[[int(r["landmark"]) for r in rows]].astype(np.float32)
    homography, _ = cv2.findHomography(source, target)
    rgba = cv2.cvtColor(cv2.imread(str(templates_dir / name), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    warped = cv2.warpPerspective(rgba, homography, image.shape[1::-1], flags=cv2.INTER_LINEAR).astype(np.float64)
    alpha = warped[..., 3:] / 255
    return np.round(alpha * warped[..., :3] + (1 - alpha) * image).astype(np.uint8), alpha[..., 0] > 0.5


def test_white_mask_on_pale_skin_found(people_dir, templates_dir):
    """The drawn white mask on the palest face of people/: its lower face is lighter than the skin
    around the eyes, which an unmasked face's never is. Before that cue it was judged unmasked
    (score 0.11; 0.26 with the template put on as make_cases.py does)."""
    path = people_dir / "p01" / "3.jpg"
    image = read_image(path)
    face = find_face(image, path=path)
    masked, _ = _template_on(image, face.landmarks, templates_dir, "drawn-white.png")
    found = find_mask_region(masked, face.landmarks)
    assert found.found, found.score
    assert not find_mask_region(image, face.landmarks).found


def _under_a_hat(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The photo with everything higher than 0.45 eye distances above the eyes painted dark blue
    (a hat: it covers the forehead skin sample, not the nose bridge)."""
    left, right = landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)
    brim = round(min(left[1], right[1]) - 0.45 * np.hypot(*(right - left)))
    out = image.copy()
    out[: max(brim, 0)] = (30, 35, 60)
    return out


def test_hats_do_not_hide_or_fake_a_mask(people):
    """Under a dark hat an unmasked face stays unmasked and a black mask is found: the forehead
    sample is not taken as skin (before, 5 of these 6 hatted faces were judged masked)."""
    alarms, missed = [], []
    for index, (path, image, face) in enumerate(people):
        hatted = _under_a_hat(image, face.landmarks)
        if find_mask_region(hatted, face.landmarks).found:
            alarms.append(path.name)
        masked, _ = render_mask(hatted, face.landmarks, "cloth", index, color=(25, 25, 30))
        if not find_mask_region(masked, face.landmarks).found:
            missed.append(path.name)
    assert not alarms and not missed, (alarms, missed)


def test_unmasked_people_reported_unmasked(people):
    alarms = [path.name for path, image, face in people if find_mask_region(image, face).found]
    assert len(alarms) <= 1, alarms


@pytest.mark.parametrize("photo", ["m032.jpg", "m019.jpg"])
def test_masks_the_colours_miss_found_by_the_network(wild_dir, photo):
    """A white cup N95 (m032) and a tan mesh respirator (m019) from the web: their colour evidence
    stays under 0.5 (0.36, 0.42), the network claims the lower face (mean probability 1.0, 0.84),
    so the face gets a region (the network's own), on the mask (nose tip to chin) and hardly above
    the lower eyelids (the cup's top over the nose bridge: 2.2 % of m032's region; the mfr2 test
    allows 12 %)."""
    image = read_image(wild_dir / photo)
    found = find_mask_region(image, find_face(image, path=wild_dir / photo))
    assert found.found and found.coverage > 0.9 and found.above_eyes < 0.05, \
        (found.score, found.coverage, found.above_eyes)


def test_bearded_and_smiling_faces_stay_unmasked(people_dir, expressions_dir):
    """The unmasked faces the network claims most of (a grey beard, people/ p05/3: mean 0.41;
    expressions/happy: 0.52 when its chosen face was the wall beside it, 0.00 on the face since
    false faces are left out) are still reported unmasked."""
    for path in (people_dir / "p05" / "3.jpg", expressions_dir / "happy.jpg"):
        image = read_image(path)
        found = find_mask_region(image, find_face(image, path=path))
        assert not found.found and found.score < 0.5, (path, found.score)


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
    # counted over all masked photos, so that detecting more hard faces (N99s) cannot fail it
    assert len(missed) + len(undetected) <= 0.05 * len(masked), (missed, undetected)
    # the region may reach between the eyes over the nose bridge (white borders, nose wires),
    # so a little of it lies above the lower eyelids: at most 11.5 % measured (m01/1, BlazeFace
    # landmarks, a 160 px photo; 12.9 % with a region network that took the sunglasses' hinge)
    bad = [
        (name, round(found.coverage, 2), round(found.above_eyes, 3))
        for name, found in detected
        if found.found and not (found.coverage >= 0.9 and found.above_eyes <= 0.12)
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


def test_same_region_in_a_fresh_and_a_busy_thread(people_dir):
    """GrabCut draws from OpenCV's random state, per thread, advancing with each use: the finder
    seeds it, so a long-lived thread (the web page's worker) finds the region a fresh process finds."""
    import threading

    photo = read_image(people_dir / "p05" / "1.jpg")
    masked, _ = render_mask(photo, find_face(photo).landmarks, "surgical", 0)
    face = find_face(masked)
    found = {}

    def worker() -> None:
        found["fresh"] = find_mask_region(masked, face).mask
        found["busy"] = [find_mask_region(masked, face).mask for _ in range(2)][-1]

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    np.testing.assert_array_equal(found["busy"], found["fresh"])


def _with_ear_loops(masked: np.ndarray, landmarks: np.ndarray, colour: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The masked photo with an ear loop drawn on each side (a half ellipse from the jaw beside
    the eye to the jaw beside the mouth, bulging out round the ear) and the loops' pixels, bool (H, W)."""
    import cv2

    d = float(np.linalg.norm(landmarks[42:48].mean(axis=0) - landmarks[36:42].mean(axis=0)))
    canvas = np.zeros(masked.shape[:2], np.uint8)
    for top, bottom, outward in ((1, 4, -1), (15, 12, 1)):
        a, b = landmarks[top], landmarks[bottom]
        centre = (a + b) / 2
        angle = np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0]))
        axes = (round(np.linalg.norm(b - a) / 2), round(0.4 * d))
        start, end = (0, 180) if outward < 0 else (180, 360)
        cv2.ellipse(canvas, tuple(np.round(centre).astype(int)), axes, angle, start, end, 1, max(2, round(0.04 * d)))
    loops = canvas.astype(bool)
    out = masked.copy()
    out[loops] = colour
    return out, loops


@pytest.mark.parametrize("colour, least", [((245, 245, 245), 0.8), ((20, 20, 20), 0.4)])
def test_ear_loops_taken_into_the_region(people, colour, least):
    """Thin white or black ear loops beside the face, over skin, hair and background (without the
    loop search about 5 % of them is covered; dark loops over dark hair are often missed)."""
    shares = []
    for index, (path, image, face) in enumerate(people[:3]):
        masked, truth = render_mask(image, face.landmarks, "surgical", 50 + index, color=(150, 190, 225))
        masked, loops = _with_ear_loops(masked, face.landmarks, colour)
        loops &= ~truth
        found = find_mask_region(masked, _landmarks_on(masked, face.box))
        shares.append((found.mask & loops).sum() / loops.sum())
    assert np.median(shares) >= least, shares


@pytest.mark.parametrize("template, photo, most", [("drawn-white.png", 3, 0.006), ("drawn-blue.png", 4, 0.015)])
def test_drawn_ear_loops_that_close_on_the_mask_taken(people, templates_dir, template, photo, most):
    """Drawn ear loops that stand out less than a loop alone over the background: a white tube
    drawn as a grey double line and a white loop running along the mask's light side. Without
    the search for weaker lines that close a ring with the mask, 1.1 % and 2.3 % of the region
    stayed (docs/region.md)."""
    path, image, face = people[photo]
    masked, truth = _template_on(image, face.landmarks, templates_dir, template)
    found = find_mask_region(masked, _landmarks_on(masked, face.box))
    assert _left(found, truth) <= most


def test_eyes_pulled_down_by_a_mask_are_moved_back(people):
    """A mask over the lower eyelids drags dlib's upper face down; BlazeFace's eyes put it back."""
    from unmask.region.finder import _eyes_checked

    path, image, face = people[0]
    landmarks = face.landmarks
    d = float(np.linalg.norm(landmarks[42:48].mean(axis=0) - landmarks[36:42].mean(axis=0)))
    assert np.array_equal(_eyes_checked(image, landmarks), landmarks)
    dragged = landmarks.copy()
    dragged[17:48, 1] += 0.25 * d
    moved = _eyes_checked(image, dragged)
    assert np.abs(moved[17:31] - landmarks[17:31]).max() < 0.15 * d  # brows, nose bridge: 0.25 d before
    assert np.abs(moved[36:48] - landmarks[36:48]).max() < 0.1 * d
    assert np.array_equal(moved[:17], dragged[:17]) and np.array_equal(moved[48:], dragged[48:])


def test_mask_over_the_lower_eyelids_taken_eyes_kept(people_dir, templates_dir):
    """The drawn black mask as `make_cases.py` puts it on: its upper edge runs over the lower
    eyelids, inside dlib's eye openings, which the prior keeps out of the cut. The fabric there is
    taken (left near the eyes before: 0.75, 0.37, 0.39 of it), the eyes' upper lids are not."""
    left, lids = [], 0
    for name in ("p06/1.jpg", "p04/2.jpg", "p02/1.jpg"):
        path = people_dir / name
        image = read_image(path)
        landmarks = find_face(image, path=path).landmarks
        masked, truth = _template_on(image, landmarks, templates_dir, "drawn-black.png")
        found = find_mask_region(masked, find_face(masked, path=path))
        d = float(np.linalg.norm(landmarks[42:48].mean(axis=0) - landmarks[36:42].mean(axis=0)))
        eyes = np.zeros(truth.shape, np.uint8)
        for eye in (landmarks[36:42], landmarks[42:48]):
            cv2.fillPoly(eyes, [np.round(eye).astype(np.int32)], 1)
        near = cv2.dilate(eyes, np.ones((round(0.15 * d) | 1,) * 2, np.uint8)).astype(bool) & truth
        left.append((near & ~found.mask).sum() / near.sum())
        lids += sum(found.mask[round(y), round(x)] for x, y in landmarks[[37, 38, 43, 44]])
    assert np.median(left) <= 0.25, left
    assert lids == 0
