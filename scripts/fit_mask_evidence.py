"""Fit the region network's part of the mask evidence (`unmask.region.evidence._NETWORK_SLOPE`,
`_NETWORK_AT`) on masked faces whose mask is known and on unmasked photos, and check it on real
masked photos it never saw.

Every face is run through the finder once (`finder.work_region` with a threshold no evidence
reaches, so no region is made): its colour evidence (`evidence.mask_evidence`) and the network's
mean probability on the lower face (`evidence.network_cue`). Faces:

- fitting, masked: every case of the given cases.csv files (`shared/tools/make_cases.py`'s
  templates, `unmask cases`' procedural masks);
- fitting, unmasked: every photo of --unmasked (people/, expressions/; the largest face);
- check: mfr2/ (--mfr2: labels.csv says which are masked) and wild/ (--wild: every face at least
  `MIN_FACE_SIZE` px wide that `detect_faces` finds, all taken as masked; a few are not faces or not
  masked, see docs/evaluation.md).

The curve is a logistic regression of masked / unmasked on the network's cue alone over every
fitting face, unmasked faces weighted `UNMASKED_WEIGHT` times (a false alarm on an unmasked face
is worse than a miss). (Fitting only on the faces whose colour evidence is below 0.5, the ones
the curve can change, is not possible: on the template and procedural cases of seeds 2, 7 and 3
there is none.) Printed: the fitted constants, and per set how many faces the colour evidence alone and
with the network judge masked.

    python scripts/fit_mask_evidence.py fit/t2/cases.csv fit/t7/cases.csv fit/proc3/cases.csv \\
        --unmasked ../shared/data/people ../shared/data/expressions --mfr2 ../shared/data/mfr2 \\
        --wild ../shared/data/wild --cache fit/evidence.csv
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from unmask.errors import UnmaskError
from unmask.face import MIN_FACE_SIZE, detect_faces, find_face
from unmask.images import read_image
from unmask.region import finder

UNMASKED_WEIGHT = 4.0
"""Weight of an unmasked face in the fit, against 1 for a masked one."""
FIELDS = ["set", "name", "face", "masked", "colour", "cue"]


def cues(image: np.ndarray, landmarks: np.ndarray) -> tuple[float, float]:
    """(colour evidence, network cue) of one face."""
    return finder.work_region(image, landmarks, min_score=2.0).cues


def faces_of(args: argparse.Namespace):
    """(set, name, face index, masked, image path, how to find the faces) for every face to score."""
    for path in args.cases:
        for row in csv.DictReader(path.open(newline="", encoding="utf-8")):
            yield f"cases:{path.parent.name}", row["case"], 1, path.parent / row["target"], "one"
    for folder in args.unmasked:
        for photo in sorted(folder.rglob("*.jpg")):
            yield f"unmasked:{folder.name}", str(photo.relative_to(folder)), 0, photo, "one"
    if args.mfr2:
        for row in csv.DictReader((args.mfr2 / "labels.csv").open(newline="", encoding="utf-8")):
            yield "mfr2", f"{row['person']}/{row['file']}", int(row["mask"] != "no-mask"), \
                args.mfr2 / row["person"] / row["file"], "one"
    if args.wild:
        for photo in sorted(args.wild.glob("*.jpg")):
            yield "wild", photo.name, 1, photo, "all"


def collect(args: argparse.Namespace) -> list[dict]:
    """Every face's cues, read from or added to the --cache csv."""
    known = {}
    if args.cache.is_file():
        for row in csv.DictReader(args.cache.open(newline="", encoding="utf-8")):
            known.setdefault((row["set"], row["name"]), []).append(row)
    rows = []
    for count, (group, name, masked, path, how) in enumerate(faces_of(args)):
        if (group, name) not in known:
            image = read_image(path)
            found = []
            try:
                faces = [find_face(image, path=path)] if how == "one" else \
                    [f for f in detect_faces(image) if f.width >= MIN_FACE_SIZE]
            except UnmaskError:
                faces = []
            for index, face in enumerate(faces):
                colour, cue = cues(image, face.landmarks)
                found.append({"set": group, "name": name, "face": index, "masked": masked,
                              "colour": round(colour, 4), "cue": round(cue, 4)})
            if not found:  # no face: a row without cues, so that it is not looked for again
                found.append({"set": group, "name": name, "face": -1, "masked": masked, "colour": "", "cue": ""})
            known[(group, name)] = found
            with args.cache.open("a", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=FIELDS)
                if handle.tell() == 0:
                    writer.writeheader()
                writer.writerows(found)
        rows += [r for r in known[(group, name)] if r["colour"] != ""]
        if (count + 1) % 50 == 0:
            print(f"{count + 1} photos", flush=True)
    return rows


def logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """Weighted 1-D logistic regression y ~ sigmoid(slope * (x - at)) by Newton's method, with a
    small ridge on the slope; returns (slope, at)."""
    a, b = 0.0, 0.0  # logit = a * x + b
    for _ in range(100):
        p = 1 / (1 + np.exp(-(a * x + b)))
        g = np.array([np.sum(weight * (p - y) * x) + 1e-3 * a, np.sum(weight * (p - y))])
        w = weight * p * (1 - p)
        h = np.array([[np.sum(w * x * x) + 1e-3, np.sum(w * x)], [np.sum(w * x), np.sum(w) + 1e-9]])
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-9:
            break
    return float(a), float(-b / a)


def judged(rows: list[dict], slope: float, at: float) -> str:
    """Counts of faces judged masked by the colour evidence alone and with the network's curve."""
    masked = [r for r in rows if int(r["masked"])]
    bare = [r for r in rows if not int(r["masked"])]

    def count(group: list[dict], with_net: bool) -> int:
        return sum((max(float(r["colour"]), 1 / (1 + np.exp(-slope * (float(r["cue"]) - at)))) if with_net
                    else float(r["colour"])) >= 0.5 for r in group)

    return (f"masked {len(masked):3d}: found {count(masked, False):3d} -> {count(masked, True):3d}   "
            f"unmasked {len(bare):3d}: taken as masked {count(bare, False):2d} -> {count(bare, True):2d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="+", type=Path, help="cases.csv files (templates, procedural)")
    parser.add_argument("--unmasked", nargs="+", type=Path, required=True, help="folders of unmasked photos")
    parser.add_argument("--mfr2", type=Path, help="the mfr2 folder (labels.csv), checked only")
    parser.add_argument("--wild", type=Path, help="the wild folder, checked only")
    parser.add_argument("--cache", type=Path, required=True, help="csv of every face's cues (read and extended)")
    args = parser.parse_args()
    args.cache.parent.mkdir(parents=True, exist_ok=True)

    rows = collect(args)
    fitting = [r for r in rows if r["set"].startswith(("cases:", "unmasked:"))]
    x = np.array([float(r["cue"]) for r in fitting])
    y = np.array([float(r["masked"]) for r in fitting])
    slope, at = logistic(x, y, np.where(y > 0, 1.0, UNMASKED_WEIGHT))
    print(f"\nfitted on {len(fitting)} faces ({int(y.sum())} masked): slope {slope:.2f}, at {at:.4f}")
    print(f"unmasked fitting faces' largest cues: {np.sort(x[y == 0])[-3:]}; masked faces' smallest: "
          f"{np.sort(x[y > 0])[:3]}")
    for group in sorted({r["set"] for r in rows}):
        print(f"{group:24s} {judged([r for r in rows if r['set'] == group], slope, at)}")
    for r in rows:
        if r["set"] in ("wild", "mfr2") and float(r["colour"]) < 0.5:
            print(f"  {r['set']} {r['name']} face {r['face']} masked {r['masked']}: colour {float(r['colour']):.3f} "
                  f"cue {float(r['cue']):.3f}")


if __name__ == "__main__":
    main()
