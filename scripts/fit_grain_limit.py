"""Fit `unmask.blend.GRAIN_LIMIT` (how far the compositing may scale the fill's fine detail to
the target's grain) on cases whose truth is known, and check it on others.

Every limit of `GRAINS` (1 = no grain match) runs `unmask eval --cases` (method `warp`, region
found, first reference) on the fitting cases; the one chosen has the lowest median `seam_texture`
(the change of sharpness across the fill's border) among those that keep every other statistic
within `NOISE` of no grain match. It and no grain match are then run on the checking cases. Rows
go to OUT/<set>-<limit>.csv (reused when there), the table to stdout. `--limit L` only runs that
limit on the fitting cases (to fill OUT from several processes at once).

    python scripts/fit_grain_limit.py --fit fit/t5/cases.csv --check fit/t0/cases.csv \\
        --check fit/proc/cases.csv --out fit/grain

A minimum cut through the compositing band (Photomontage) with a shorter fade across it was
fitted the same way in 5d113bb (scripts/fit_seam_fade.py) and dropped: docs/compositing.md.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

import unmask.blend as blend
from unmask.evaluation import evaluate
from unmask.tables import rows_csv
from unmask.images import write_text

GRAINS = (1.0, 2.0, 4.0)
"""Limits tried: none, at most twice (or half) the fine detail, at most four times."""
NOISE = {"seam": 0.3, "light90": 0.3, "collateral": 0.0005, "remnant": 0, "chroma90": 0.2, "identity": 0.003}
"""How much worse than without the grain match a fitted limit may leave each statistic."""


def statistics(rows: list[dict]) -> dict[str, float]:
    """The medians (remnant: the count of cases above 1 %) that the fit looks at."""
    def values(name: str) -> np.ndarray:
        return np.array([float(r[name]) if r.get(name) not in (None, "") else np.nan for r in rows])
    stats = {name: float(np.nanmedian(values(name)))
             for name in ("seam_texture", "seam", "light90", "collateral", "chroma90", "identity")}
    stats["remnant"] = int((values("remnant") > 0.01).sum())
    return stats


def run(cases: Path, limit: float, out: Path) -> dict[str, float]:
    """`warp` on the cases with `blend.GRAIN_LIMIT = limit`; rows cached in `out`."""
    file = out / f"{cases.parent.name}-{limit:g}.csv"
    if not file.is_file():
        blend.GRAIN_LIMIT = limit
        write_text(file, rows_csv(evaluate(cases, ["warp"], mode="cases", sorts=[], sheet_rows=0).rows))
    with open(file, newline="") as f:
        return statistics(list(csv.DictReader(f)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", type=Path, required=True, help="cases.csv to fit on")
    parser.add_argument("--check", type=Path, action="append", default=[], help="cases.csv to check on")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=float, help="only run this limit on the fitting cases")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.limit is not None:
        run(args.fit, args.limit, args.out)
        return
    tried = {limit: run(args.fit, limit, args.out) for limit in GRAINS}
    none = tried[1.0]
    allowed = [limit for limit, s in tried.items() if all(s[k] - none[k] <= NOISE[k] for k in NOISE)]
    chosen = min(allowed, key=lambda limit: (tried[limit]["seam_texture"], limit))
    print("set | limit | " + " | ".join(none))
    for limit, stats in tried.items():
        note = " (chosen)" if limit == chosen else ""
        print(f"{args.fit.parent.name} | {limit:g}{note} | " + " | ".join(f"{v:.4g}" for v in stats.values()))
    for cases in args.check:
        for limit in dict.fromkeys((1.0, chosen)):
            stats = run(cases, limit, args.out)
            print(f"{cases.parent.name} | {limit:g} | " + " | ".join(f"{v:.4g}" for v in stats.values()))


if __name__ == "__main__":
    main()
