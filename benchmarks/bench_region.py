"""Mask-region segmentation on real photos.

1. people/: every unmasked photo gets a synthetic mask of every kind (`render_mask`, seeded);
   the face is detected again on the masked photo (as a user's photo would be) and the found
   region is scored against the exact rendered region (IoU). Also: how often an unmasked photo
   is wrongly reported as masked.
2. mfr2/: real masks. For every masked photo: found?, coverage of the nose-tip-to-chin area,
   share of the region above the eyes; for unmasked ones: false alarms. Writes a contact sheet
   of the regions to benchmarks/out/mfr2_regions.png (not committed: it shows the shared photos).

    python benchmarks/bench_region.py                    # data from ../shared/data
    python benchmarks/bench_region.py --data DIR --step 2   # every 2nd people/ photo
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from unmask.errors import FaceError
from unmask.face import find_face
from unmask.face.region import find_mask_region, overlay_region
from unmask.face.synthetic import MASK_KINDS, render_mask
from unmask.images import read_image, write_image

ROOT = Path(__file__).resolve().parents[1]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def bench_people(folder: Path, step: int) -> None:
    photos = sorted(folder.glob("*/*.jpg"))[::step]
    scores: dict[str, list[float]] = {kind: [] for kind in MASK_KINDS}
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
                scores[kind].append(0.0)
                continue
            scores[kind].append(iou(find_mask_region(masked, masked_face).mask, truth))
    seconds = time.perf_counter() - start
    print(f"\npeople/: {len(photos)} photos x {len(MASK_KINDS)} kinds, {seconds:.0f} s "
          "(detection on every masked photo included; shared CPU, timings noisy)")
    print(f"{'kind':12s} {'median':>7s} {'mean':>7s} {'min':>7s} {'<0.85':>6s} {'no face':>8s}")
    for kind in MASK_KINDS:
        a = np.array(scores[kind])
        print(f"{kind:12s} {np.median(a):7.3f} {a.mean():7.3f} {a.min():7.3f} {(a < 0.85).sum():6d} {misses[kind]:8d}")
    print(f"unmasked photos reported as masked: {false_alarms}/{len(photos)}")


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
    parser.add_argument("--only", choices=("people", "mfr2"), default=None)
    args = parser.parse_args()
    if args.only != "people":
        bench_mfr2(args.data / "mfr2", args.out)
    if args.only != "mfr2":
        bench_people(args.data / "people", args.step)


if __name__ == "__main__":
    main()
