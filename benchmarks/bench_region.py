"""Mask-region segmentation on real photos.

1. people/: every unmasked photo gets a synthetic mask of every kind (`render_mask`, seeded);
   the face is detected again on the masked photo (as a user's photo would be) and the found
   region is scored against the exact rendered region: IoU, remnant (share of the true region
   outside the found one: fabric that would stay) and extra (found area outside the truth, as a
   share of the truth). Also: how often an unmasked photo is wrongly reported as masked.
3. --cases DIR/cases.csv (make_cases.py template cases): remnant and extra per template; a
   masked face that is not detected is counted apart (it is the detector's failure).
2. mfr2/: real masks. For every masked photo: found?, coverage of the nose-tip-to-chin area,
   share of the region above the eyes; for unmasked ones: false alarms. Writes a contact sheet
   of the regions to benchmarks/out/mfr2_regions.png (not committed: it shows the shared photos).

    python benchmarks/bench_region.py                    # data from ../shared/data
    python benchmarks/bench_region.py --data DIR --step 2   # every 2nd people/ photo
    python benchmarks/bench_region.py --only cases --cases DIR/cases.csv
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from unmask.errors import FaceError
from unmask.face import find_face
from unmask.region.finder import find_mask_region, overlay_region
from unmask.region.synthetic import MASK_KINDS, render_mask
from unmask.images import read_image, write_image
from unmask.metrics import region_areas

ROOT = Path(__file__).resolve().parents[1]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def remnant_extra(found: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(share of the truth outside `found`, area of `found` outside the truth / truth area):
    `unmask.metrics.region_areas`."""
    areas = region_areas(found, truth)
    return areas["missed_area"], areas["extra_area"]


def summary(name: str, remnants: list[float], extras: list[float], width: int = 20) -> str:
    """One table row: count, median/max remnant (%), cases over 1 %, median extra (%)."""
    r, e = np.array(remnants), np.array(extras)
    return (f"{name:{width}s} {len(r):3d} {100 * np.median(r):8.2f} {100 * r.max():7.2f} {(r > 0.01).sum():5d} "
            f"{100 * np.median(e):8.1f}")


HEADER = "n  remnant%   max%  >1%   extra%"


def bench_people(folder: Path, step: int) -> None:
    photos = sorted(folder.glob("*/*.jpg"))[::step]
    scores: dict[str, list[float]] = {kind: [] for kind in MASK_KINDS}
    remnants: dict[str, list[float]] = {kind: [] for kind in MASK_KINDS}
    extras: dict[str, list[float]] = {kind: [] for kind in MASK_KINDS}
    misses = {kind: 0 for kind in MASK_KINDS}
    false_alarms = 0
    start = time.perf_counter()
    for index, path in enumerate(photos):
        image = read_image(path)
        face = find_face(image, path=path)
        false_alarms += find_mask_region(image, face).found
        for k, kind in enumerate(MASK_KINDS):
            masked, truth = render_mask(image, face.landmarks, kind, 1000 * index + k)
            try:
                masked_face = find_face(masked, path=path)
            except FaceError:
                misses[kind] += 1
                continue
            found = find_mask_region(masked, masked_face).mask
            scores[kind].append(iou(found, truth))
            remnant, extra = remnant_extra(found, truth)
            remnants[kind].append(remnant)
            extras[kind].append(extra)
    seconds = time.perf_counter() - start
    print(f"\npeople/: {len(photos)} photos x {len(MASK_KINDS)} kinds, {seconds:.0f} s "
          "(detection on every masked photo included; shared CPU, timings noisy); masked faces "
          "not detected are left out (no face)")
    print(f"{'kind':12s} {HEADER}  IoU-median IoU-min no-face")
    for kind in MASK_KINDS:
        a = np.array(scores[kind])
        print(f"{summary(kind, remnants[kind], extras[kind], 12)}  {np.median(a):10.3f} {a.min():7.3f} {misses[kind]:7d}")
    print(summary("all", sum(remnants.values(), []), sum(extras.values(), []), 12))
    print(f"unmasked photos reported as masked: {false_alarms}/{len(photos)}")


def bench_cases(cases_csv: Path) -> None:
    """Template cases: remnant and extra per mask template; undetected faces counted apart."""
    with open(cases_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    remnants: dict[str, list[float]] = {}
    extras: dict[str, list[float]] = {}
    no_face, not_found = [], []
    for row in rows:
        target = read_image(cases_csv.parent / row["target"])
        truth = read_image(cases_csv.parent / row["region"])[..., 0] > 127
        try:
            face = find_face(target)
        except FaceError:
            no_face.append(row["case"])
            continue
        found = find_mask_region(target, face)
        if not found.found:
            not_found.append(row["case"])
        remnant, extra = remnant_extra(found.mask, truth)
        remnants.setdefault(row["mask"], []).append(remnant)
        extras.setdefault(row["mask"], []).append(extra)
    print(f"\n{cases_csv}: {len(rows)} cases; no face detected (left out): {len(no_face)} {no_face}; "
          f"judged unmasked (remnant 100 %): {len(not_found)} {not_found}")
    print(f"{'mask':20s} {HEADER}")
    for mask in sorted(remnants):
        print(summary(mask, remnants[mask], extras[mask]))
    print(summary("all", sum(remnants.values(), []), sum(extras.values(), [])))


def bench_mfr2(folder: Path, out: Path) -> None:
    with open(folder / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    tiles, failures = [], []
    masked = {"n": 0, "no face": 0, "found": 0, "covered": 0, "below eyes": 0}
    unmasked = {"n": 0, "no face": 0, "false alarms": 0}
    coverages = []
    for row in rows:
        path = folder / row["person"] / row["file"]
        image = read_image(path)
        is_masked = row["mask"] != "no-mask"
        counts = masked if is_masked else unmasked
        counts["n"] += 1
        try:
            face = find_face(image, path=path)
        except FaceError:
            counts["no face"] += 1
            failures.append(f"{row['person']}/{row['file']} ({row['mask']}): no face detected")
            continue
        found = find_mask_region(image, face)
        if is_masked:
            masked["found"] += found.found
            masked["covered"] += found.coverage >= 0.9
            masked["below eyes"] += found.above_eyes <= 0.01
            coverages.append(found.coverage)
            if not (found.found and found.coverage >= 0.9 and found.above_eyes <= 0.01):
                failures.append(f"{row['person']}/{row['file']} ({row['mask']}): found={found.found} "
                                f"score={found.score:.2f} coverage={found.coverage:.2f} above_eyes={found.above_eyes:.3f}")
            tiles.append(overlay_region(image, found.mask))
        else:
            unmasked["false alarms"] += found.found
            if found.found:
                failures.append(f"{row['person']}/{row['file']} (no-mask): false alarm, score={found.score:.2f}")
    print(f"\nmfr2/ masked photos: {masked}; median coverage {np.median(coverages):.3f}")
    print(f"mfr2/ unmasked photos: {unmasked}")
    for line in failures:
        print("  ", line)
    columns = 10
    blank = np.zeros_like(tiles[0])
    tiles += [blank] * (-len(tiles) % columns)
    sheet = np.concatenate([np.concatenate(tiles[i : i + columns], axis=1) for i in range(0, len(tiles), columns)])
    print(f"contact sheet: {write_image(out / 'mfr2_regions.png', sheet)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--step", type=int, default=1, help="use every STEP-th people/ photo")
    parser.add_argument("--cases", type=Path, help="a make_cases.py cases.csv to measure too")
    parser.add_argument("--only", choices=("people", "mfr2", "cases"), default=None)
    args = parser.parse_args()
    if args.only in (None, "mfr2"):
        bench_mfr2(args.data / "mfr2", args.out)
    if args.only in (None, "people"):
        bench_people(args.data / "people", args.step)
    if args.cases and args.only in (None, "cases"):
        bench_cases(args.cases)


if __name__ == "__main__":
    main()
