"""Fit `unmask.blend.GRAIN_LIMIT` and `FADE` (the compositing's grain match and the fade across
its cut) on cases whose truth is known, and check them on others.

Every setting runs `unmask eval --cases` (method `warp`, region found, first reference) on the
fitting cases. First the grain limit, with the fade as before the cut (`FADE = GROW`: the cut has
no room): of `GRAINS` (1 = no grain match), the one with the lowest median `seam_texture` (the
change of sharpness across the fill's border) among those that keep every other statistic within
`NOISE` of today's (1, `GROW`). Then, with that grain limit, the fade: of `FADES`, the one with the
lowest median `seam` (the step in lightness across the border) under the same guard. The chosen
setting and today's are then run on the checking cases. Rows go to
OUT/<set>-<fade>-<grain>.csv, the table to stdout. `--setting FADE:GRAIN` only runs that setting
(to fill the cache from several processes at once).

    python scripts/fit_seam_fade.py --fit fit/t5/cases.csv --check fit/t0/cases.csv \\
        --check fit/proc/cases.csv --out fit/seam
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

import unmask.blend as blend
from unmask.evaluation import evaluate

GRAINS = (1.0, 2.0, 4.0)
"""Grain limits tried: none, at most twice (or half) the fine detail, at most four times."""
FADES = (0.004, 0.008, blend.GROW)
"""Fades tried, fractions of the crop side (a 1024 px crop: 4, 8 and 16 px; `GROW`: no cut)."""
TODAY = (blend.GROW, 1.0)
"""(fade, grain limit) before the cut and the grain match."""
NOISE = {"seam": 0.3, "seam_texture": 0.02, "light90": 0.3, "collateral": 0.0005, "remnant": 0, "chroma90": 0.2,
         "identity": 0.003}
"""How much worse than today's a fitted setting may leave each statistic."""


def statistics(rows: list[dict]) -> dict[str, float]:
    """The medians (remnant: the count of cases above 1 %) that the fit looks at."""
    def values(name: str) -> np.ndarray:
        return np.array([float(r[name]) if r.get(name) not in (None, "") else np.nan for r in rows])
    stats = {name: float(np.nanmedian(values(name)))
             for name in ("seam", "seam_texture", "light90", "collateral", "chroma90", "identity")}
    stats["remnant"] = int((values("remnant") > 0.01).sum())
    return stats


def run(cases: Path, fade: float, grain: float, out: Path) -> dict[str, float]:
    """`warp` on the cases with `blend.FADE = fade`, `blend.GRAIN_LIMIT = grain`; rows cached in `out`."""
    file = out / f"{cases.parent.name}-{fade:g}-{grain:g}.csv"
    if not file.is_file():
        blend.FADE, blend.GRAIN_LIMIT = fade, grain
        rows = evaluate(cases, ["warp"], mode="cases", sorts=[], sheet_rows=0).rows
        part = file.with_suffix(".part")
        with open(part, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        part.replace(file)
    with open(file, newline="") as f:
        return statistics(list(csv.DictReader(f)))


def best(tried: dict[tuple[float, float], dict[str, float]], candidates: list[tuple[float, float]],
         metric: str) -> tuple[float, float]:
    """Of `candidates`, the setting with the lowest `metric` among those within `NOISE` of today's
    on every other statistic (today's when none is)."""
    today = tried[TODAY]
    allowed = [key for key in candidates if all(tried[key][k] - today[k] <= NOISE[k] for k in NOISE if k != metric)]
    return min(allowed or [TODAY], key=lambda key: (tried[key][metric], key == TODAY))


def line(name: str, key: tuple[float, float], stats: dict[str, float], note: str = "") -> str:
    return f"{name} | {key[0]:g} | {key[1]:g}{note} | " + " | ".join(f"{v:.4g}" for v in stats.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", type=Path, required=True, help="cases.csv to fit on")
    parser.add_argument("--check", type=Path, action="append", default=[], help="cases.csv to check on")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--setting", help="FADE:GRAIN: only run this setting on the fitting cases")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.setting:
        fade, grain = (float(v) for v in args.setting.split(":"))
        run(args.fit, fade, grain, args.out)
        return
    tried = {(blend.GROW, grain): run(args.fit, blend.GROW, grain, args.out) for grain in GRAINS}
    grain = best(tried, list(tried), "seam_texture")[1]
    tried.update({(fade, grain): run(args.fit, fade, grain, args.out) for fade in FADES})
    chosen = best(tried, [(fade, grain) for fade in FADES], "seam")
    print("set | fade | grain | " + " | ".join(tried[TODAY]))
    for key, stats in tried.items():
        print(line(args.fit.parent.name, key, stats, " (chosen)" if key == chosen else ""))
    for cases in args.check:
        for key in dict.fromkeys((TODAY, chosen)):
            print(line(cases.parent.name, key, run(cases, *key, args.out)))


if __name__ == "__main__":
    main()
