"""Faces on real photos (../shared/data): detection, FFHQ alignment checked by re-measuring the
landmarks on the aligned crop, masked-face detection on MFR2, paste-back, identity descriptor.

Detection is the expensive part (dlib's CNN detector, about 0.7 s of CPU per photo here), so it
runs once per session for all photos, in two worker processes."""

from __future__ import annotations

import csv
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import dlib
import numpy as np
import pytest

from face_fixtures import recipe_quad
from unmask.face import (
    Face,
    align_face,
    detect_faces,
    face_descriptor,
    ffhq_quad,
    identity_distance,
    paste_back,
)
from unmask.face.models import landmark_predictor
from unmask.images import read_image


def _detect_all(paths: list[Path]) -> dict[Path, tuple[np.ndarray, list[Face]]]:
    images = [read_image(p) for p in paths]
    context = multiprocessing.get_context("spawn")  # no fork: other tests may have started threads
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        found = list(pool.map(detect_faces, images))
    return {p: (img, faces) for p, img, faces in zip(paths, images, found)}


@pytest.fixture(scope="session")
def people(people_dir: Path) -> dict[Path, tuple[np.ndarray, list[Face]]]:
    """Every people/ photo with the faces found in it."""
    return _detect_all(sorted(people_dir.glob("*/*.jpg")))


@pytest.fixture(scope="session")
def masked(mfr2_dir: Path) -> dict[Path, tuple[np.ndarray, list[Face]]]:
    """Every masked MFR2 photo (labels.csv mask type other than no-mask) with its faces."""
    with open(mfr2_dir / "labels.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["mask"] != "no-mask"]
    return _detect_all([mfr2_dir / r["person"] / r["file"] for r in rows])


def _eyes(landmarks: np.ndarray) -> np.ndarray:
    return np.array([landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)])


def _redetect(crop: np.ndarray, face: Face, alignment) -> np.ndarray:
    """68 landmarks measured again on the aligned crop's pixels; the face box mapped into the crop
    only starts the predictor (re-running the CNN detector on 41 crops would cost ~30 s)."""
    cx, cy = alignment.to_crop(np.array([[(face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2]]))[0]
    half = face.width * alignment.scale / 2
    rect = dlib.rectangle(round(cx - half), round(cy - half), round(cx + half), round(cy + half))
    shape = landmark_predictor()(crop, rect)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def test_every_people_photo_has_a_face(people):
    missing = [str(p) for p, (_, faces) in people.items() if not faces]
    assert not missing


def test_real_landmarks_give_the_recipe_quad(people):
    for img, faces in people.values():
        np.testing.assert_allclose(ffhq_quad(faces[0].landmarks), recipe_quad(faces[0].landmarks), atol=0.5)


def test_people_aligned_eyes_level_and_on_target(people):
    """Re-measured on the crop: eye centres within 1% of the crop size of where the recipe puts
    them, and the eye line level within 1 degree of the recipe's own tilt (the recipe averages the
    eye line with the normal of the eye-to-mouth line, so a turned head keeps a small tilt)."""
    size = 512
    checked, level = 0, 0
    for path, (img, faces) in people.items():
        face = faces[0]
        if face.width < 100:
            continue
        crop, alignment = align_face(img, face.landmarks, size=size)
        measured = _eyes(_redetect(crop, face, alignment))
        target = alignment.to_crop(_eyes(face.landmarks))
        error = np.hypot(*(measured - target).T).max() / size
        assert error < 0.01, f"{path}: eye centre {error:.2%} of the crop from the FFHQ target"
        angle = np.degrees(np.arctan2(*(measured[1] - measured[0])[::-1]))
        recipe_angle = np.degrees(np.arctan2(*(target[1] - target[0])[::-1]))
        assert abs(angle - recipe_angle) < 1.0, f"{path}: eye line {angle:.2f} deg, recipe {recipe_angle:.2f}"
        checked += 1
        level += abs(angle) < 1.0
    assert checked >= 35
    # level to 1 degree outright: 31 of 41 measured; the others are turned heads (see above)
    assert level >= 0.7 * checked, f"only {level} of {checked} eye lines level within 1 degree"


def test_paste_back_reproduces_the_face_region(people):
    for path, (img, faces) in list(people.items())[::3]:
        crop, alignment = align_face(img, faces[0].landmarks, size=1024)
        back = paste_back(img, crop, alignment)
        hull = np.zeros(img.shape[:2], np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(np.round(faces[0].landmarks).astype(np.int32)), 1)
        inside = hull.astype(bool)
        mse = np.mean((back[inside].astype(np.float64) - img[inside]) ** 2)
        psnr = 10 * np.log10(255.0**2 / max(mse, 1e-10))
        assert psnr >= 40.0, f"{path}: PSNR {psnr:.1f} dB"
        outside = ~_quad_mask(img.shape, alignment.quad, grow=3)
        assert np.array_equal(back[outside], img[outside])


def _quad_mask(shape, quad: np.ndarray, grow: int) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, np.round(quad).astype(np.int32), 1)
    return cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool)


def test_masked_mfr2_faces_detected_and_aligned(masked):
    """At least 95% of the real masked faces are found and aligned: the eye centres measured again
    on the aligned crop lie within 8% of the crop size (a third of the eye distance) of where the
    alignment put them, i.e. the crop holds the detected face where FFHQ wants it. (Measured: 82 of
    86 found; the re-measured eyes agree within 3% for 77 of them, within 7.5% for all: the
    landmark predictor is less stable on masked, enlarged 160 px faces than on people/.)"""
    good = 0
    for path, (img, faces) in masked.items():
        if not faces:
            continue
        crop, alignment = align_face(img, faces[0].landmarks, size=256)
        measured = _eyes(_redetect(crop, faces[0], alignment))
        target = alignment.to_crop(_eyes(faces[0].landmarks))
        good += bool(np.hypot(*(measured - target).T).max() < 0.08 * 256)
    assert good >= 0.95 * len(masked), f"{good} of {len(masked)} masked faces detected and aligned"


def test_identity_descriptor_separates_people(people):
    by_person: dict[str, list[np.ndarray]] = {}
    for path, (img, faces) in people.items():
        if len(by_person.get(path.parent.name, [])) < 2:
            by_person.setdefault(path.parent.name, []).append(face_descriptor(img, faces[0]))
    same = [identity_distance(*d) for d in by_person.values() if len(d) == 2]
    firsts = [d[0] for d in by_person.values()]
    other = [identity_distance(a, b) for i, a in enumerate(firsts) for b in firsts[i + 1 :]]
    assert all(d.shape == (128,) for d in firsts)
    assert np.median(same) < 0.6 < np.median(other)
    assert np.mean(np.array(same) < 0.6) >= 0.8 and np.mean(np.array(other) > 0.6) >= 0.9
