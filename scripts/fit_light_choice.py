"""Fit `unmask.references.LIGHT_WEIGHT` (how much a completed face's light mismatch counts against
its identity distance when the pipeline keeps one of its tries) on cases whose truth is known, and
check it on others.

1. Collect: every case with two or more references runs `unmask.complete` with all of them (the
   pipeline ranks them and completes the face from each of the best few). Every try is recorded:
   its identity distance to the person's other photos and its light mismatch (what
   `closest_result` sees), and, against the truth warped into the try's aligned crop, its
   `light90` and identity distance. Rows go to OUT/<set>.csv (reused when there).
2. Choose: for every weight of `WEIGHTS`, each case keeps the try with the lowest identity
   distance + weight x light mismatch. The weight chosen on the fitting cases has the lowest mean
   light90 among those whose mean identity to the truth is at most `IDENTITY_NOISE` worse than
   weight 0's (today's choice). Left-one-person-out on the fitting cases (the weight chosen on the
   other persons, applied to the one left out) and the checking cases are reported at it.

    python scripts/fit_light_choice.py --fit cases-t5/cases.csv --check cases-t0/cases.csv \\
        --check cases-proc/cases.csv --out fit/light
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np

WEIGHTS = (0.0, 0.0025, 0.005, 0.01, 0.02, 0.04)
"""Identity distance per L* of light mismatch tried (0: identity alone)."""
IDENTITY_NOISE = 0.003
"""How much worse the mean identity to the truth may get for a lower light90."""
FIELDS = ["case", "person", "try", "id_dist", "mismatch", "light90", "identity"]


def collect(cases: Path, out: Path, tries: int | None = None) -> list[dict]:
    """One row per try of every case of `cases` (a cases.csv) with two or more references, the face
    completed with the `tries` best ranked (None: the method's)."""
    import unmask
    import unmask.pipeline as pipeline
    from unmask.errors import UnmaskError
    from unmask.face import detect_faces, identity_distance
    from unmask.images import read_image
    from unmask.metrics import descriptor, light90

    if out.is_file():
        return list(csv.DictReader(out.open()))
    fills = []
    step = pipeline._fill  # every try's completion is kept by wrapping the per-reference step

    def keep(*args, **kwargs):
        fills.append(step(*args, **kwargs))
        return fills[-1]

    pipeline._fill = keep
    rows = []
    try:
        for case in csv.DictReader(cases.open()):
            references = [str((cases.parent / name).resolve()) for name in case["references"].split(";")]
            if len(references) < 2:
                continue
            fills.clear()
            try:
                kept = unmask.complete(str(cases.parent / case["target"]), reference=references,
                                       tries=tries).filled[0]
            except UnmaskError as error:
                print(case["case"], "not completed:", error)
                continue
            if len(kept.distances) < 2:
                continue
            truth = read_image(cases.parent / case["truth"])
            region = read_image(cases.parent / case["region"])[..., 0] > 127
            truth_points = detect_faces(truth)[0].landmarks
            for number, (fill, distance, mismatch) in enumerate(zip(fills, kept.distances, kept.mismatches)):
                size = fill.case.size
                truth_crop = cv2.warpAffine(truth, fill.alignment.matrix[:2], (size, size), flags=cv2.INTER_LINEAR)
                points = fill.alignment.to_crop(truth_points)
                image = fill.completion.image
                rows.append({"case": case["case"], "person": case["person"], "try": number,
                             "id_dist": round(distance, 4), "mismatch": round(mismatch, 3),
                             "light90": round(light90(image, truth_crop, fill.alignment.region_to_crop(region)), 3),
                             "identity": round(identity_distance(descriptor(image, points),
                                                                 descriptor(truth_crop, points)), 4)})
            print(case["case"], "tries", len(fills), flush=True)
    finally:
        pipeline._fill = step
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return [{key: str(value) for key, value in row.items()} for row in rows]


def choose(rows: list[dict], weight: float) -> list[dict]:
    """Per case, the try kept with this weight."""
    cases: dict[str, list[dict]] = {}
    for row in rows:
        cases.setdefault(row["case"], []).append(row)
    return [min(tries, key=lambda r: float(r["id_dist"]) + weight * float(r["mismatch"])) for tries in cases.values()]


def summary(kept: list[dict]) -> dict[str, float]:
    """Mean and median light90, the count above 20, mean and median identity to the truth."""
    light = np.array([float(r["light90"]) for r in kept])
    identity = np.array([float(r["identity"]) for r in kept])
    return {"cases": len(kept), "light90 mean": light.mean(), "light90 median": float(np.median(light)),
            "light90 > 20": int((light > 20).sum()), "identity mean": identity.mean(),
            "identity median": float(np.median(identity))}


def fitted(rows: list[dict]) -> float:
    """The weight of `WEIGHTS` with the lowest mean light90 whose mean identity is within
    `IDENTITY_NOISE` of weight 0's."""
    base = summary(choose(rows, 0.0))["identity mean"]
    allowed = [w for w in WEIGHTS if summary(choose(rows, w))["identity mean"] <= base + IDENTITY_NOISE]
    return min(allowed, key=lambda w: summary(choose(rows, w))["light90 mean"])


def line(label: str, stats: dict[str, float]) -> str:
    return (f"{label:34s} {stats['cases']:3d} cases | light90 mean {stats['light90 mean']:5.2f} median "
            f"{stats['light90 median']:5.2f} > 20: {stats['light90 > 20']} | identity mean "
            f"{stats['identity mean']:.4f} median {stats['identity median']:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fit", type=Path, required=True, help="cases.csv to fit on")
    parser.add_argument("--check", type=Path, action="append", default=[], help="cases.csv to check on")
    parser.add_argument("--out", type=Path, required=True, help="folder for the per-try rows")
    parser.add_argument("--tries", type=int, help="references each case is completed with (default: the method's)")
    args = parser.parse_args()
    fit = collect(args.fit, args.out / f"{args.fit.parent.name}.csv", args.tries)
    for weight in WEIGHTS:
        print(line(f"fit {args.fit.parent.name} weight {weight:g}", summary(choose(fit, weight))))
    weight = fitted(fit)
    print(f"chosen weight: {weight:g}")
    held_out = []
    for person in sorted({r["person"] for r in fit}):
        other = fitted([r for r in fit if r["person"] != person])
        held_out += choose([r for r in fit if r["person"] == person], other)
        print(f"  without {person}: weight {other:g}")
    print(line("fit, each person left out", summary(held_out)))
    print(line("fit, weight 0", summary(choose(fit, 0.0))))
    for check in args.check:
        rows = collect(check, args.out / f"{check.parent.name}.csv", args.tries)
        print(line(f"check {check.parent.name} weight 0", summary(choose(rows, 0.0))))
        print(line(f"check {check.parent.name} weight {weight:g}", summary(choose(rows, weight))))


if __name__ == "__main__":
    main()
