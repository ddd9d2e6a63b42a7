"""Contact sheets of `unmask eval`: the first cases aligned or the worst ones (sheet.png), and
full-size worst-first sheets per metric (sheets/).

`sheet.png`: the first cases of a synthetic or real run
(`contact_sheet`: masked | reference | each method's result | truth, aligned), or the failures and
worst cases of a `--cases` run (`worst_sheet`: masked | result | truth | remnant map). `sheets/`
(`--cases`) at the size a person looks at a photo (`sheet_set`): the worst cases by one metric
first, one row per case: masked | result | truth, each cut around the true region and shown with
the face at least 400 px tall (`SHEET_HEIGHT`), a few rows per sheet."""

from __future__ import annotations

import textwrap
from typing import Any, Callable

import numpy as np

SORTS = ("light90", "collateral", "seam", "remnant", "chroma90", "identity")
"""Metrics a sheet set can be sorted by; for each, higher is worse."""
SHEET_HEIGHT = 600
"""Height (px) a crop is shown at, at least: the crop is two region heights tall and the face
(brows to chin) about 1.4 of them, so the face is about 420 px; taller crops keep their size."""
MAX_HEIGHT = 900
"""Crops taller than this (large photos) are shrunk to it, to keep the sheets' files small."""
ROWS_PER_SHEET = 3
SHEET_ROWS = 12
"""Default count of worst cases per method and metric put on sheets."""
CROPS = ("masked", "result", "truth")
CONTACT_CASES = 8
"""Cases shown in a synthetic or real run's contact sheet (the first ones scored)."""
WORST = 6
"""Cases shown per method and per metric in a `--cases` run's contact sheet (the worst ones)."""
TILE = 200
"""Height (px) of a `--cases` contact sheet's tiles."""
REMNANT_COLOUR = (255, 0, 255)
"""Unchanged true-region pixels in the remnant map."""


def face_box(region: np.ndarray) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of the sheet's crop: the true `region`'s (H, W bool, non-empty) bounding box
    grown by half its height above and below (eyes, neck and collar show) and a quarter of its
    width on each side (ears, earrings), clipped to the photo."""
    ys, xs = np.nonzero(region)
    height, width = ys.max() + 1 - ys.min(), xs.max() + 1 - xs.min()
    pad_y, pad_x = round(0.5 * height), round(0.25 * width)
    return (max(0, ys.min() - pad_y), min(region.shape[0], ys.max() + 1 + pad_y),
            max(0, xs.min() - pad_x), min(region.shape[1], xs.max() + 1 + pad_x))


def face_crops(images: dict[str, np.ndarray], region: np.ndarray) -> dict[str, np.ndarray]:
    """Each uint8 (H, W, 3) image cut to `face_box(region)`, at its own resolution (shrunk with an
    area filter only when taller than `MAX_HEIGHT`)."""
    import cv2

    y0, y1, x0, x1 = face_box(region)
    crops = {}
    for name, image in images.items():
        crop = np.ascontiguousarray(image[y0:y1, x0:x1])
        if crop.shape[0] > MAX_HEIGHT:
            width = max(1, round(crop.shape[1] * MAX_HEIGHT / crop.shape[0]))
            crop = cv2.resize(crop, (width, MAX_HEIGHT), interpolation=cv2.INTER_AREA)
        crops[name] = crop
    return crops


def shown(crop: np.ndarray) -> np.ndarray:
    """A crop at the height it is shown: enlarged with a Lanczos filter to `SHEET_HEIGHT` when
    smaller, else unchanged."""
    import cv2

    if crop.shape[0] >= SHEET_HEIGHT:
        return crop
    width = max(1, round(crop.shape[1] * SHEET_HEIGHT / crop.shape[0]))
    return cv2.resize(crop, (width, SHEET_HEIGHT), interpolation=cv2.INTER_LANCZOS4)


def worst_first(rows: list[dict[str, Any]], metric: str) -> list[int]:
    """Indices of `rows` ordered by `metric`, highest (worst) first; NaN last."""
    return sorted(range(len(rows)), key=lambda i: -np.nan_to_num(float(rows[i][metric]), nan=-np.inf))


def row_labels(row: dict[str, Any], metric: str, rank: int) -> tuple[str, str, str]:
    """The labels over one sheet row's three crops: rank and case, the new metrics, the older ones."""
    status = "" if row["status"] == "done" else " FAILED"
    return (f"{metric} #{rank}: {row['case']} {row['mask']}{status}",
            f"light90 {row['light90']:.1f}  collateral {row['collateral']:.1%}  seam {row['seam']:.1f}"
            f" / {row['seam_texture']:.2f}",
            f"remnant {row['remnant']:.1%}  chroma90 {row['chroma90']:.1f}  identity {row['identity']:.2f}")


def sheet(rows: list[tuple[tuple[str, str, str], dict[str, np.ndarray]]]) -> np.ndarray:
    """One sheet (uint8 RGB): per entry (labels, crops) a row masked | result | truth, labelled."""
    from unmask.panel import make_panel

    tiles = []
    height = 0
    for labels, crops in rows:
        big = [shown(crops[name]) for name in CROPS]
        height = max(height, *(b.shape[0] for b in big))
        tiles += list(zip(labels, big))
    return make_panel(tiles, tile=height, per_row=len(CROPS))


def sheet_set(rows: list[dict[str, Any]], crops: list[dict[str, np.ndarray]], metric: str, worst: int,
              prefix: str) -> dict[str, Callable[[], np.ndarray]]:
    """The `worst` cases by `metric` (all methods' `rows` with their `crops`, in one list) as sheets
    of `ROWS_PER_SHEET` rows, worst first: file name `<prefix>-<metric>-<n>.png` -> a function
    drawing that sheet (drawn when written, so that only one sheet is in memory)."""
    if metric not in SORTS:
        raise ValueError(f"unknown sheet order '{metric}'; choose one of: {', '.join(SORTS)}")
    order = worst_first(rows, metric)[:worst]
    pages = [order[i:i + ROWS_PER_SHEET] for i in range(0, len(order), ROWS_PER_SHEET)]

    def draw(page: list[int], first: int) -> Callable[[], np.ndarray]:
        return lambda: sheet([(row_labels(rows[i], metric, first + k), crops[i]) for k, i in enumerate(page)])

    return {f"{prefix}-{metric}-{n}.png": draw(page, 1 + (n - 1) * ROWS_PER_SHEET)
            for n, page in enumerate(pages, start=1)}


def contact_sheet(shown: list[tuple[str, dict[str, np.ndarray], dict[str, np.ndarray]]], last: str) -> np.ndarray:
    """One row per case (name, its aligned "masked", "reference" and "truth" crops, each method's
    result crop): masked | reference | each method's result (white when it has none) | `last`
    (the truth's label: "ground truth" or "identity probe")."""
    from unmask.panel import make_panel

    methods = list(dict.fromkeys(name for _, _, results in shown for name in results))
    tiles: dict[str, np.ndarray] = {}
    for name, crops, results in shown:
        blank = np.full_like(crops["masked"], 255)
        tiles[f"{name} masked"] = crops["masked"]
        tiles[f"{name} reference"] = crops["reference"]
        for method in methods:
            tiles[f"{name} {method}"] = results.get(method, blank)
        tiles[f"{name} {last}"] = crops["truth"]
    return make_panel(tiles, tile=160, per_row=len(methods) + 3)


def remnant_map(result: np.ndarray, masked: np.ndarray, region: np.ndarray) -> np.ndarray:
    """`result` (H, W, 3) dimmed outside the true `region`, with the region's unchanged pixels
    (mask fabric left) in `REMNANT_COLOUR`."""
    from unmask.metrics import unchanged

    out = result.copy()
    out[~region] = out[~region] // 3 + 170
    out[region & unchanged(result, masked)] = REMNANT_COLOUR
    return out


def case_tiles(result: np.ndarray, masked: np.ndarray, truth: np.ndarray, region: np.ndarray) -> dict[str, np.ndarray]:
    """The `--cases` contact-sheet tiles of one case: masked, result, truth and the remnant map,
    cut to the true region's box grown by 40 % and scaled to `TILE` px high (uint8)."""
    from unmask.metrics import crop, region_box
    from unmask.panel import fit_tile

    box = region_box(region, margin=0.4)
    images = {"masked": masked, "result": result, "truth": truth, "remnant": remnant_map(result, masked, region)}
    return {name: fit_tile(crop(image, box), TILE) for name, image in images.items()}


def worst_sheet(rows: list[dict[str, Any]], tiles: list[dict[str, np.ndarray]], methods: list[str],
                count: int = WORST) -> np.ndarray:
    """Contact sheet of a `--cases` run (`rows` with their `case_tiles`), per method: the failed
    cases (their masked photo and message), then among the completed ones the `count` worst by
    remnant and the `count` worst by chroma90, one row each: masked | result | truth | remnant
    map (unchanged true-region pixels in magenta), labelled."""
    from unmask.panel import make_panel

    shown: list[tuple[str, np.ndarray]] = []
    for method in methods:
        mine = [i for i, row in enumerate(rows) if row["method"] == method]
        for i in (i for i in mine if rows[i]["status"] != "done"):
            reason = textwrap.shorten(rows[i]["message"].split(" (")[0].split(";")[0], 24, placeholder="...")
            shown.append((f"{method} FAILED {rows[i]['case']}: {reason}", tiles[i]["masked"]))
        shown += [("", np.full((TILE, TILE, 3), 255, np.uint8))] * (-len(shown) % 4)  # worst cases: own rows
        done = [i for i in mine if rows[i]["status"] == "done"]
        for metric in ("remnant", "chroma90"):
            order = worst_first([rows[i] for i in done], metric)[:count]
            for rank, i in enumerate((done[k] for k in order), start=1):
                row, tile = rows[i], tiles[i]
                shown += [(f"{method} worst {metric} #{rank}: {row['case']} {row['mask']}", tile["masked"]),
                          (f"remnant {row['remnant']:.1%}, chroma90 {row['chroma90']:.1f}", tile["result"]),
                          ("truth", tile["truth"]), ("unchanged in magenta", tile["remnant"])]
    return make_panel(shown, tile=TILE, per_row=4)
