"""How much of each case's `light90` is one offset of the whole fill's lightness, and how much is
patches inside it.

Every case of a cases.csv (truth known) is completed as `unmask eval --cases` completes it
(method `warp`, region found, first reference) and scored on the true region: `light90`; the
median signed L* difference of the fill against the truth (`unmask.metrics.light_difference`,
positive: paler); and `light90` after that median is taken away (`flat90`), the patches left when
the fill's level is right. A case above 20 whose `flat90` is well under 20 is a fill too pale or
too dark as a whole: the level set on the region's border (`unmask.blend`) does not hold for
the lower face, from a light or a content (beard, open mouth, teeth) that differs between the
photos. Rows go to OUT (CSV), the counts to stdout.

    python scripts/light_offsets.py fit/t5/cases.csv --out fit/t5-offsets.csv
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

from unmask import pipeline
from unmask.errors import UnmaskError
from unmask.evaluation.cases import read_cases
from unmask.evaluation.run import checked_method
from unmask.evaluation.scores import LIGHT_LIMIT
from unmask.images import read_image, write_text
from unmask.metrics import light_difference
from unmask.region import load_user_mask
from unmask.tables import rows_csv


def offsets(result: np.ndarray, truth: np.ndarray, region: np.ndarray) -> dict[str, float]:
    """`light90`, the median signed L* difference `offset` and `flat90` (module docstring) of a
    completed photo `result` against its `truth` (uint8 (H, W, 3)) on the true `region` (H, W)."""
    difference = light_difference(result, truth, region)
    offset = float(np.median(difference))
    return {"light90": float(np.percentile(np.abs(difference), 90)), "offset": offset,
            "flat90": float(np.percentile(np.abs(difference - offset), 90))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", type=Path, help="a cases.csv")
    parser.add_argument("--out", type=Path, required=True, help="CSV of the rows")
    args = parser.parse_args()
    method = checked_method("warp", {})
    rows = []
    for case in read_cases(args.cases):
        masked, truth = read_image(case.target), read_image(case.truth)
        region = load_user_mask(case.region, masked.shape[:2])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = pipeline.complete_scene(pipeline.prepare(masked, case.references[0]), method).image
        except UnmaskError as exc:
            print(f"{case.name}: {exc}")
            continue
        rows.append({"case": case.name, **{k: round(v, 3) for k, v in offsets(result, truth, region).items()}})
    write_text(args.out, rows_csv(rows))
    light = np.array([r["light90"] for r in rows])
    flat = np.array([r["flat90"] for r in rows])
    paler = sum(r["offset"] > 0 for r in rows if r["light90"] > LIGHT_LIMIT)
    print(f"{args.cases.parent.name}: light90 > {LIGHT_LIMIT:g} in {int((light > LIGHT_LIMIT).sum())} of {len(rows)} "
          f"({paler} of them paler), with the offset taken away {int((flat > LIGHT_LIMIT).sum())}; "
          f"median light90 {np.median(light):.2f}, flat90 {np.median(flat):.2f}, "
          f"offset {np.median([r['offset'] for r in rows]):+.2f}")


if __name__ == "__main__":
    main()
