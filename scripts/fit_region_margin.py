"""Fit the region finder's margin, upsampling threshold and network rim (`unmask.region.finder._MARGIN`,
`_UPSAMPLE`, `_RIM`) on masked photos whose true region is known, and check them on others.

Every case of the given cases.csv files (`shared/tools/make_cases.py`'s templates, `unmask cases`'
procedural masks) is run through the finder on its work crop once per margin of `MARGINS` and rim
of `RIMS` (`finder.work_region`; cached in --cache), brought to the photo at every threshold of
`THRESHOLDS` (`finder.to_photo`) and scored against the true region: `extra_area` and
`missed_area` (`unmask.metrics.region_areas`), and `left`, the share of the true region farther
from the found one than the fill changes the photo at least half-way (`unmask.metrics.fill_reach`,
`left_beyond`: the mask the completed photo would keep; a refused case leaves all of it).

Persons and mask sources are split so that the check sees neither: the persons are sorted and
halved (the first half, people/ p01-p05, is also the half the shipped region network never saw),
the mask sources (a template with its recolours, a procedural kind) are shuffled with --seed and
halved. The constants are chosen on the second half of the persons with the first half of the
sources; the check is the first half of the persons with the second half of the sources. The
choice: the lowest median extra area among the settings that leave more than 1 % of the mask
(`left`) on no more fitting cases than the current constants do, ties to the larger margin and
the smaller rim.

    python /work/shared/tools/make_cases.py --people ../shared/data/people --out fit/t2 --seed 2
    python /work/shared/tools/make_cases.py --people ../shared/data/people --out fit/t7 --seed 7
    unmask cases ../shared/data/people -o fit/proc3 --seed 3
    python scripts/fit_region_margin.py fit/t2/cases.csv fit/t7/cases.csv fit/proc3/cases.csv \\
        --cache fit/cache --seed 0 [--cases-out fit/cases.csv]
"""

from __future__ import annotations

import argparse
import csv
import random
import re
from pathlib import Path

import numpy as np

from unmask.errors import UnmaskError
from unmask.face import find_face
from unmask.tables import rows_csv
from unmask.images import read_image, write_text
from unmask.metrics import fill_reach, left_beyond, region_areas
from unmask.region import finder

MARGINS = (0.0, 0.016, 0.03)
"""Margins tried (units of d): 0, 1 and 2 px on the work crop, where d is 64 px."""
THRESHOLDS = (0.2, 0.35, 0.5, 0.65, 0.8)
"""Upsampling thresholds tried: from about a third of a work pixel outwards to inwards."""
RIMS = (0.0, 0.016, 0.03, 0.05)
"""Rims tried (units of d): the network's pieces join only where they reach farther than this from
the region (0: every piece, as before the rim)."""
LEFT_LIMIT = 0.01
"""A case leaving more than this share of its mask (`left`) counts against a setting."""


def source_of(kind: str) -> str:
    """The mask source of a case's kind: a template with its recolours ("surgical-2-black" ->
    "surgical-2"), a drawn template or a procedural kind as it is."""
    return re.sub(r"^(surgical-\d+)-.*$", r"\1", kind)


def scored(work: finder.WorkRegion | None, truth: np.ndarray, threshold: float) -> dict[str, float]:
    """extra_area, missed_area and left of one work-crop region (None: no face) against `truth`."""
    if work is None:
        return {"extra_area": 0.0, "missed_area": 1.0, "left": 1.0}
    found = finder.to_photo(work, truth.shape, threshold)
    return {**region_areas(found, truth), "left": left_beyond(found, truth, fill_reach(work.landmarks))}


Setting = tuple[float, float]
"""(margin, rim) of one run of the finder, units of d."""
SETTINGS: list[Setting] = [(m, r) for m in MARGINS for r in RIMS]


def work_regions(row: dict[str, str], folder: Path, cache: Path) -> tuple[np.ndarray, dict[Setting, finder.WorkRegion | None]]:
    """The true region of one case and its work-crop region per (margin, rim) (None when no face is
    found), read from or written to `cache`."""
    truth = read_image(folder / row["region"])[..., 0] > 127
    file = cache / f"{folder.name}-{row['case']}.npz"
    if file.is_file():
        stored = np.load(file)
        if not stored["face"]:
            return truth, {s: None for s in SETTINGS}
        return truth, {s: finder.WorkRegion(stored[f"segment{i}"], tuple(int(v) for v in stored["box"]),
                                            float(stored["score"]), stored["landmarks"])
                       for i, s in enumerate(SETTINGS)}
    image = read_image(folder / row["target"])
    try:
        face = find_face(image, path=folder / row["target"])
    except UnmaskError:
        np.savez_compressed(file, face=False)
        return truth, {s: None for s in SETTINGS}
    works = {(m, r): finder.work_region(image, face.landmarks, margin=m, rim=r) for m, r in SETTINGS}
    first = works[SETTINGS[0]]
    np.savez_compressed(file, face=True, box=np.array(first.box), score=first.score, landmarks=first.landmarks,
                        **{f"segment{i}": works[s].segment for i, s in enumerate(SETTINGS)})
    return truth, works


def summary(rows: list[dict]) -> str:
    extra = np.array([r["extra_area"] for r in rows])
    missed = np.array([r["missed_area"] for r in rows])
    left = np.array([r["left"] for r in rows])
    return (f"{len(rows):4d} cases  extra median {100 * np.median(extra):5.2f} %  missed median "
            f"{100 * np.median(missed):5.2f} % / mean {100 * missed.mean():5.2f} % / > 1 %: {(missed > 0.01).sum():3d}  "
            f"left > 1 %: {(left > LEFT_LIMIT).sum():2d}  left mean {100 * left.mean():5.2f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="+", type=Path, help="cases.csv files (templates, procedural)")
    parser.add_argument("--cache", type=Path, required=True, help="folder for the work-crop regions")
    parser.add_argument("--seed", type=int, default=0, help="shuffles the mask sources before halving them")
    parser.add_argument("--cases-out", type=Path, help="write every case's scores per setting here (csv)")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)

    cases = []
    for path in args.cases:
        for row in csv.DictReader(path.open(newline="", encoding="utf-8")):
            cases.append((path.parent, row))
    persons = sorted({row["person"] for _, row in cases})
    held_persons = set(persons[: len(persons) // 2])
    sources = sorted({source_of(row["mask"]) for _, row in cases})
    random.Random(args.seed).shuffle(sources)
    fit_sources = set(sources[: len(sources) // 2])
    print(f"held-out persons: {sorted(held_persons)}\nfitting sources: {sorted(fit_sources)}\n"
          f"held-out sources: {sorted(set(sources) - fit_sources)}")

    rows = []
    for index, (folder, row) in enumerate(cases):
        truth, works = work_regions(row, folder, args.cache)
        part = ("check" if row["person"] in held_persons else "") if source_of(row["mask"]) not in fit_sources \
            else ("fit" if row["person"] not in held_persons else "")
        for (margin, rim), work in works.items():
            for threshold in THRESHOLDS:
                rows.append({"set": folder.name, "case": row["case"], "mask": row["mask"], "part": part or "other",
                             "margin": margin, "rim": rim, "threshold": threshold, **scored(work, truth, threshold)})
        if (index + 1) % 20 == 0:
            print(f"{index + 1} / {len(cases)} cases", flush=True)

    def of(part: str, margin: float, rim: float, threshold: float) -> list[dict]:
        return [r for r in rows if r["part"] == part and r["margin"] == margin and r["rim"] == rim
                and r["threshold"] == threshold]

    current = (finder._MARGIN, finder._RIM, finder._UPSAMPLE)
    limit = sum(r["left"] > LEFT_LIMIT for r in of("fit", *current))
    print(f"\nfitting cases, per setting (margin d, rim d, threshold); current {current}: left > 1 % on {limit}")
    allowed = []
    for margin, rim in SETTINGS:
        for threshold in THRESHOLDS:
            mine = of("fit", margin, rim, threshold)
            print(f"  {margin:5.3f} {rim:5.3f} {threshold:4.2f}  {summary(mine)}")
            if sum(r["left"] > LEFT_LIMIT for r in mine) <= limit:
                allowed.append((float(np.median([r["extra_area"] for r in mine])), -margin, rim, margin, threshold))
    _, _, rim, margin, threshold = min(allowed)
    print(f"\nchosen: margin {margin} d, rim {rim} d, threshold {threshold}")
    for part in ("fit", "check", "other"):
        for name, setting in (("current", current), ("chosen", (margin, rim, threshold))):
            print(f"{part:6s} {name:8s} {summary(of(part, *setting))}")
    if args.cases_out:
        write_text(args.cases_out, rows_csv(rows))


if __name__ == "__main__":
    main()
