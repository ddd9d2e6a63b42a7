"""Fit the lightness limit of `unmask.methods.neck.NECK_SKIN_FLOOR` (how much darker than the face's
skin a pixel below the jaw may be and still count as neck skin) on cases whose truth is known, and
check it on others.

Every limit of `LIMITS` (100 = any lightness, as before) runs `unmask eval --cases` (method `warp`,
region found, first reference) on the fitting cases; the one chosen has the fewest cases with
`light90` above 20 (then the lowest median `light90`) among those that keep every other statistic
within `NOISE` of any lightness. It and any lightness are then run on the checking cases. Rows go
to OUT/<set>-<limit>.csv (reused when there), the table to stdout. `--limit L` only runs that limit
on the given cases (to fill OUT from several processes at once).

    python scripts/fit_neck_skin.py --fit fit/t5/cases.csv --check fit/t0/cases.csv \\
        --check fit/proc/cases.csv --out fit/neck
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

import unmask.methods.neck as neck
from unmask.evaluation import evaluate
from unmask.evaluation.report import rows_csv
from unmask.evaluation.scores import LIGHT_LIMIT
from unmask.images import write_text

LIMITS = (100.0, 45.0, 38.0, 30.0)
"""Lightness limits tried (CIELAB L* below the face's skin): any lightness, then tighter ones."""
NOISE = {"seam": 0.3, "collateral": 0.0005, "remnant": 0, "chroma90": 0.2, "identity": 0.003}
"""How much worse than any lightness a fitted limit may leave each statistic."""


def statistics(rows: list[dict]) -> dict[str, float]:
    """The medians (remnant: the count of cases above 1 %; light90_over: above `LIGHT_LIMIT`)
    that the fit looks at."""
    def values(name: str) -> np.ndarray:
        return np.array([float(r[name]) if r.get(name) not in (None, "") else np.nan for r in rows])
    stats = {"light90_over": int((values("light90") > LIGHT_LIMIT).sum())}
    stats.update({name: float(np.nanmedian(values(name)))
                  for name in ("light90", "seam", "collateral", "chroma90", "identity")})
    stats["remnant"] = int((values("remnant") > 0.01).sum())
    return stats


def run(cases: Path, limit: float, out: Path) -> dict[str, float]:
    """`warp` on the cases with the neck skin's lightness limit `limit`; rows cached in `out`."""
    file = out / f"{cases.parent.name}-{limit:g}.csv"
    if not file.is_file():
        neck.NECK_SKIN_FLOOR = (limit, *neck.NECK_SKIN_FLOOR[1:])
        write_text(file, rows_csv(evaluate(cases, ["warp"], mode="cases", sorts=[], sheet_rows=0).rows))
    with open(file, newline="") as f:
        return statistics(list(csv.DictReader(f)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", type=Path, required=True, help="cases.csv to fit on")
    parser.add_argument("--check", type=Path, action="append", default=[], help="cases.csv to check on")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=float, help="only run this limit on the fitting and checking cases")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.limit is not None:
        for cases in (args.fit, *args.check):
            run(cases, args.limit, args.out)
        return
    tried = {limit: run(args.fit, limit, args.out) for limit in LIMITS}
    today = tried[100.0]
    allowed = [limit for limit, s in tried.items() if all(s[k] - today[k] <= NOISE[k] for k in NOISE)]
    chosen = min(allowed, key=lambda limit: (tried[limit]["light90_over"], tried[limit]["light90"]))
    print("set | limit | " + " | ".join(today))
    for limit, stats in tried.items():
        note = " (chosen)" if limit == chosen else ""
        print(f"{args.fit.parent.name} | {limit:g}{note} | " + " | ".join(f"{v:.4g}" for v in stats.values()))
    for cases in args.check:
        for limit in dict.fromkeys((100.0, chosen)):
            stats = run(cases, limit, args.out)
            print(f"{cases.parent.name} | {limit:g} | " + " | ".join(f"{v:.4g}" for v in stats.values()))


if __name__ == "__main__":
    main()
