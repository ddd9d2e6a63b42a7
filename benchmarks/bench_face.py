"""Face benchmark: speed of detection + landmarks + alignment, and the hidden-mouth estimate.

    python benchmarks/bench_face.py [--data ../shared/data] [--only speed|hidden]

speed:  a 12-megapixel photo (a people/ photo enlarged to 4000x3000 in memory) and a 160x160
        MFR2 crop; wall and CPU seconds for find_face + align_face(1024), best of 3.
hidden: on every people/ photo with a face >= 100 px wide, draw a flat-coloured synthetic face
        mask from the true landmarks (from just below the nose bridge to below the chin), detect
        again, and compare the mouth corners (48, 54) and the FFHQ quad centre with the truth for
        the raw landmarks, the mean-shape estimate (the mean shape recomputed without that
        person, so no face is scored against itself) and the estimate from another photo of the
        same person, and the average of those two estimates. Errors in px and in % of the
        inter-ocular distance (IOD).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from unmask.face import align_face, detect_faces, ffhq_quad, find_face
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
    find_face(big)  # load the models once
    for name, image in [("12 MP (3000x4000)", big), ("160x160 MFR2 crop", crop)]:
        face = find_face(image)
        wall, cpu = timed(lambda: align_face(image, find_face(image).landmarks, 1024))
        d_wall, d_cpu = timed(lambda: find_face(image))
        a_wall, a_cpu = timed(lambda: align_face(image, face.landmarks, 1024))
        print(f"{name}: detect+landmarks+align {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"(detect+landmarks {d_wall:.2f} s / {d_cpu:.2f} s CPU, align {a_wall:.2f} s / {a_cpu:.2f} s CPU)")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--only", choices=["speed", "hidden"])
    args = parser.parse_args()
    if args.only in (None, "speed"):
        speed(args.data)
    if args.only in (None, "hidden"):
        hidden(args.data)


if __name__ == "__main__":
    main()
