"""Face benchmark: speed of detection + landmarks + alignment, detection under masks, and the
hidden-mouth estimate.

    python benchmarks/bench_face.py [--data ../shared/data] [--cases DIR/cases.csv]
                                    [--only speed|detection|hidden|size]

speed:  a 12-megapixel photo (a people/ photo enlarged to 4000x3000 in memory) and a 160x160
        MFR2 crop; wall and CPU seconds for find_face + align_face(1024), best of 3, with
        BlazeFace first (the default) and with dlib alone (the detector before it).
detection: faces found and landmark accuracy under masks, BlazeFace + dlib against dlib alone, on
        three sets: the template cases of ../shared/tools/make_cases.py (`--cases`, default
        ../cache/cases-t0/cases.csv; skipped when absent), procedural masks (`render_mask`, every
        kind, alternately black, white, the kind's own colours and dark brown) on every people/
        photo, and the masked photos of mfr2. Truth: dlib alone on the unmasked photo. A face
        counts as found when its eye midpoint is within 30% of the eye distance of the truth's
        (mfr2: when a face is found). Landmark error: brows and eye corners (17-26, 36, 39, 42,
        45), mean distance in % of the true eye distance.
hidden: on every people/ photo with a face >= 100 px wide, draw a flat-coloured synthetic face
        mask from the true landmarks (from just below the nose bridge to below the chin), detect
        again, and compare the mouth corners (48, 54) and the FFHQ quad centre with the truth for
        the raw landmarks, the mean-shape estimate (the mean shape recomputed without that
        person, so no face is scored against itself) and the estimate from another photo of the
        same person, and the average of those two estimates. Errors in px and in % of the
        inter-ocular distance (IOD).
size:   what sets `MIN_FACE_SIZE`: every people/ photo whose face is at least 110 px wide (and
        the masked targets of the template cases), scaled down so the face is 96 ... 40 px wide;
        faces found, and the landmark error against the full-size landmarks (unmasked: all 68;
        masked: brows, eyes and nose bridge, 17-47, against the unmasked truth), in % of the IOD.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import cv2
import numpy as np

from unmask.face import MIN_FACE_SIZE, align_face, detect_faces, ffhq_quad
from unmask.region import MASK_KINDS, render_mask
from unmask.face.hidden import estimate_hidden_landmarks, mean_shape
from unmask.images import read_image

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, repeat: int = 3) -> tuple[float, float]:
    """Best (wall, cpu) seconds of `repeat` calls."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def speed(data: Path) -> None:
    photo = read_image(data / "people" / "p01" / "1.jpg")
    big = cv2.resize(photo, (3000, 4000), interpolation=cv2.INTER_CUBIC)  # portrait 12 MP
    crop = read_image(data / "mfr2" / "m01" / "1.png")
    for use_blazeface in (True, False):
        detector = "BlazeFace + dlib" if use_blazeface else "dlib alone"
        detect_faces(big, use_blazeface)  # load the models once
        for name, image in [("12 MP (3000x4000)", big), ("160x160 MFR2 crop", crop)]:
            face = detect_faces(image, use_blazeface)[0]
            d_wall, d_cpu = timed(lambda: detect_faces(image, use_blazeface))
            a_wall, a_cpu = timed(lambda: align_face(image, face.landmarks, 1024))
            print(f"{detector:<16} {name}: detect+landmarks {d_wall:.2f} s wall / {d_cpu:.2f} s CPU, "
                  f"align {a_wall:.2f} s / {a_cpu:.2f} s CPU")


_BROWS_AND_EYE_CORNERS = list(range(17, 27)) + [36, 39, 42, 45]


def detection_sets(data: Path, cases: Path) -> dict[str, list[tuple[str, np.ndarray, np.ndarray | None]]]:
    """{set name: [(label, masked photo, true landmarks or None)]} (see the module docstring)."""
    sets: dict[str, list[tuple[str, np.ndarray, np.ndarray | None]]] = {}
    if cases.is_file():
        with open(cases, newline="") as handle:
            rows = list(csv.DictReader(handle))
        sets["template cases"] = []
        for row in rows:
            truth = detect_faces(read_image(cases.parent / row["truth"]), use_blazeface=False)
            sets["template cases"].append((f"{row['case']} {row['mask']}", read_image(cases.parent / row["target"]),
                                           truth[0].landmarks if truth else None))
    colours = [(30, 30, 34), (240, 240, 240), None, (60, 50, 45)]
    sets["procedural"] = []
    for i, path in enumerate(sorted((data / "people").glob("*/*.jpg"))):
        image = read_image(path)
        truth = detect_faces(image, use_blazeface=False)
        if truth and truth[0].width >= MIN_FACE_SIZE:
            kind = MASK_KINDS[i % (len(MASK_KINDS) - 1)]  # all but pulled_down (the face shows)
            masked, _ = render_mask(image, truth[0].landmarks, kind, i, colours[i % len(colours)])
            sets["procedural"].append((f"{path.parent.name}/{path.name} {kind}", masked, truth[0].landmarks))
    with open(data / "mfr2" / "labels.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["mask"] != "no-mask"]
    sets["mfr2 masked"] = [(f"{row['person']}/{row['file']} {row['mask']}",
                            read_image(data / "mfr2" / row["person"] / row["file"]), None) for row in rows]
    return sets


def detection(data: Path, cases: Path) -> None:
    sets = detection_sets(data, cases)
    print(f"{'set':<15} {'detector':<16} {'found':>7}  landmark error %IOD: mean, median, max (n)  "
          "CPU s/photo  missed")
    for name, items in sets.items():
        for use_blazeface in (False, True):
            found, errors, cpu, missed = 0, [], 0.0, []
            for label, image, truth in items:
                start = time.process_time()
                faces = detect_faces(image, use_blazeface)
                cpu += time.process_time() - start
                ok = bool(faces) and (truth is None or _near(faces[0].landmarks, truth))
                found += ok
                if not ok:
                    missed.append(label)
                elif truth is not None:
                    iod = np.hypot(*(_eyes(truth)[1] - _eyes(truth)[0]))
                    diff = faces[0].landmarks[_BROWS_AND_EYE_CORNERS] - truth[_BROWS_AND_EYE_CORNERS]
                    errors.append(100 * np.hypot(*diff.T).mean() / iod)
            e = np.array(errors) if errors else np.full(1, np.nan)
            detector = "BlazeFace + dlib" if use_blazeface else "dlib alone"
            print(f"{name:<15} {detector:<16} {found:>3}/{len(items):<3}  {e.mean():5.2f} {np.median(e):5.2f} "
                  f"{e.max():6.1f} ({len(errors)})                  {cpu / len(items):.2f}  {', '.join(missed)}")


def _near(landmarks: np.ndarray, truth: np.ndarray) -> bool:
    """The eye midpoint within 30% of the true eye distance of the truth's."""
    eyes, true_eyes = _eyes(landmarks), _eyes(truth)
    return np.hypot(*(eyes.mean(0) - true_eyes.mean(0))) < 0.3 * np.hypot(*(true_eyes[1] - true_eyes[0]))


def synthetic_mask(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """The photo with a flat light-blue mask polygon over nose tip, mouth and chin."""
    centre = lm[30]
    jaw = centre + (lm[1:16] - centre) * 1.08
    jaw[4:11] += (lm[8] - lm[27]) * 0.06  # below the chin
    polygon = np.vstack([jaw, [lm[29] + (lm[29] - lm[28]) * 0.3]])
    out = image.copy()
    cv2.fillPoly(out, [np.round(polygon).astype(np.int32)], (170, 200, 230))
    return out


def _eyes(lm: np.ndarray) -> np.ndarray:
    return np.array([lm[36:42].mean(0), lm[42:48].mean(0)])


def hidden(data: Path) -> None:
    truths: dict[Path, tuple[np.ndarray, np.ndarray]] = {}
    for path in sorted((data / "people").glob("*/*.jpg")):
        image = read_image(path)
        faces = detect_faces(image)
        if faces and faces[0].width >= 100:
            truths[path] = (image, faces[0].landmarks)
    errors: dict[str, list[tuple[float, float, float, float]]] = {
        "raw": [], "mean shape": [], "reference": [], "average": []}
    missed = 0
    for path, (image, truth) in truths.items():
        faces = detect_faces(synthetic_mask(image, truth))
        if not faces:
            missed += 1
            continue
        raw = faces[0].landmarks
        others = [lm for p, (_, lm) in truths.items() if p.parent != path.parent]
        same = [lm for p, (_, lm) in truths.items() if p.parent == path.parent and p != path]
        iod = np.hypot(*(_eyes(truth)[1] - _eyes(truth)[0]))
        true_centre = ffhq_quad(truth).mean(0)
        candidates = {"raw": raw, "mean shape": estimate_hidden_landmarks(raw, mean_shape(others))}
        if same:
            candidates["reference"] = estimate_hidden_landmarks(raw, same[0])
            candidates["average"] = (candidates["reference"] + candidates["mean shape"]) / 2
        for name, lm in candidates.items():
            mouth = np.hypot(*(lm[[48, 54]] - truth[[48, 54]]).T).mean()
            centre = np.hypot(*(ffhq_quad(lm).mean(0) - true_centre))
            errors[name].append((mouth, 100 * mouth / iod, centre, 100 * centre / iod))
    print(f"hidden mouth: {len(truths)} people/ photos with a face >= 100 px, "
          f"{missed} not detected once masked")
    print(f"{'landmarks':<12} {'n':>3}  mouth corners: median px, mean %IOD, median %IOD | "
          "quad centre: median px, mean %IOD, median %IOD")
    for name, rows in errors.items():
        a = np.array(rows)
        print(f"{name:<12} {len(a):>3}  {np.median(a[:, 0]):6.1f} {a[:, 1].mean():6.1f} {np.median(a[:, 1]):6.1f}"
              f"          | {np.median(a[:, 2]):6.1f} {a[:, 3].mean():6.1f} {np.median(a[:, 3]):6.1f}")


SIZES = (96, 80, 64, 56, 48, 40)


def size(data: Path, cases: Path) -> None:
    items = [(read_image(path), None) for path in sorted((data / "people").glob("*/*.jpg"))]
    if cases.is_file():
        with open(cases, newline="") as handle:
            items += [(read_image(cases.parent / row["target"]), read_image(cases.parent / row["truth"]))
                      for row in csv.DictReader(handle)]
    errors: dict[tuple[bool, int], list[float]] = {}
    for image, truth in items:
        full = detect_faces(image if truth is None else truth)
        if not full or full[0].width < 110:
            continue
        points = slice(0, 68) if truth is None else slice(17, 48)
        true_lm = full[0].landmarks
        iod = np.hypot(*(_eyes(true_lm)[1] - _eyes(true_lm)[0]))
        for width in SIZES:
            scale = width / full[0].width
            small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            found = [f.landmarks / scale for f in detect_faces(small) if _near(f.landmarks / scale, true_lm)]
            error = np.hypot(*(found[0][points] - true_lm[points]).T).mean() / iod if found else np.nan
            errors.setdefault((truth is not None, width), []).append(100 * error)
    print(f"{'faces':<9} {'width px':>8} {'found':>7}  landmark error %IOD: median, p90")
    for (masked, width), e in errors.items():
        e = np.array(e)
        print(f"{'masked' if masked else 'unmasked':<9} {width:>8} {np.isfinite(e).sum():>3}/{len(e):<3}  "
              f"{np.nanmedian(e):5.2f} {np.nanpercentile(e, 90):5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--cases", type=Path, default=ROOT.parent / "cache" / "cases-t0" / "cases.csv")
    parser.add_argument("--only", choices=["speed", "detection", "hidden", "size"])
    args = parser.parse_args()
    if args.only in (None, "speed"):
        speed(args.data)
    if args.only in (None, "detection"):
        detection(args.data, args.cases)
    if args.only in (None, "hidden"):
        hidden(args.data)
    if args.only in (None, "size"):
        size(args.data, args.cases)


if __name__ == "__main__":
    main()
