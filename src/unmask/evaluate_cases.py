"""`unmask eval --cases`: the whole pipeline scored on masked photos whose truth is known.

A `cases.csv` (the format of `shared/tools/make_cases.py`: case, person, mask, target, region,
truth, references; paths relative to the csv, references ';'-separated) lists masked photos, the
exact mask region and the unmasked original. Every case is run through `unmask.complete` on the
full photo with the first reference (or all of them, ranked by the pipeline: `all_references`,
and the row's `reference` is then the one it chose), the region found automatically (`region="detected"`) or
given (`"truth"`), and scored in the original photo against the truth:

- `remnant`: share of the true region left unchanged (`unmask.metrics.remnant`),
- `chroma90`: 90th percentile of the chroma error in the true region (`unmask.metrics.chroma90`),
- `light90`: 90th percentile of the lightness error of areas in the true region (`unmask.metrics.light90`),
- `collateral`: share of the ring around the true region changed visibly (`unmask.metrics.collateral`),
- `extra_area`, `missed_area`: the region the pipeline filled (found, or the truth given) against
  the true one: its pixels outside the truth, and the true pixels it left out, each as a share of
  the true area (`unmask.metrics.region_areas`; a refused case filled nothing: missed 1),
- `seam`, `seam_texture`: step in lightness / sharpness across the fill's border that the truth
  does not have (`unmask.metrics.seam`, `unmask.metrics.seam_texture`),
- `identity`: dlib distance of the result to the truth, both described at the truth's landmarks
  (`identity_masked`: the same for the masked photo),
- `psnr_region`, `ssim_region`, `perceptual_region` inside the true region's box grown by 10 %.

A case the pipeline refuses (any `UnmaskError`: no face, no mask found, ...) is scored as the
masked photo itself (`status` "failed", its one-line `message`), never dropped, and counts as not
`done`.

Running is `run_jobs(jobs, executor=...)`: `run_job` of each `Job` (one case, one method),
independent of the others and returning plain data, on an `unmask.batch` executor (this process,
or a pool of processes: `unmask eval --cases ... --workers N`); scoring (`score_case`) is a pure
function of arrays. (A job names its files by path, so Dask workers would need the files too.)
"""

from __future__ import annotations

import csv
import io
import textwrap
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from unmask.batch.executors import Executor
from unmask.errors import UnmaskError
from unmask.evaluate import Report, checked_method
from unmask.metrics import CHROMA_SIGMA, UNCHANGED
from unmask.sheets import SHEET_ROWS, SORTS, sheet_set

COLUMNS = ("case", "person", "mask", "target", "region", "truth", "references")
CASE_METRICS = ("remnant", "chroma90", "light90", "collateral", "seam", "seam_texture", "identity",
                "identity_masked", "psnr_region", "ssim_region", "perceptual_region", "extra_area", "missed_area",
                "seconds")
REMNANT_LIMIT = 0.01
"""A case whose remnant exceeds this share shows mask fabric: the summary counts them."""
LIGHT_LIMIT = 20.0
"""A case whose light90 exceeds this shows a pale or dark patch: the summary counts them."""
COLLATERAL_LIMIT = 0.05
"""A case whose collateral exceeds this share visibly damaged the photo: the summary counts them."""
EXTRA_LIMIT = 0.05
"""A case whose filled region exceeds the true one by more than this share of it: the summary
counts them (issue 22 asks for a median at most this)."""
SHEET_WORST = 6
"""Cases shown per method and per metric in the contact sheet (the worst ones)."""
TILE = 200
REMNANT_COLOUR = (255, 0, 255)
"""Unchanged true-region pixels in the remnant map."""


@dataclass(frozen=True)
class PhotoCase:
    """One row of a cases.csv, paths resolved: the masked `target`, the true `region` image
    (white = mask), the unmasked `truth`, and the person's unmasked `references` (first = default)."""

    name: str
    person: str
    mask: str
    target: Path
    region: Path
    truth: Path
    references: tuple[Path, ...]


@dataclass(frozen=True)
class Job:
    """One case completed by one method: `region` "detected" or "truth"; `options` the method's;
    `all_references`: give the pipeline all the case's references (else the first)."""

    case: PhotoCase
    method: str
    region: str = "detected"
    options: dict[str, Any] = field(default_factory=dict)
    net: str = "alex"
    all_references: bool = False


@dataclass
class CaseResult:
    """What one job measured: the row for cases.csv, the contact-sheet tiles (masked, result,
    truth, remnant map: uint8 crops around the true region) and the full-size sheets' crops
    (masked, result, truth: `unmask.sheets.face_crops`)."""

    row: dict[str, Any]
    tiles: dict[str, np.ndarray]
    crops: dict[str, np.ndarray] = field(default_factory=dict)


def read_cases(path: str | Path) -> list[PhotoCase]:
    """The cases of a cases.csv, paths resolved against its folder. Raises `UnmaskError` naming
    the file for missing columns, an empty list, a case without references or a missing file."""
    path = Path(path)
    if not path.is_file():
        raise UnmaskError("cases file not found (expected a cases.csv)", path)
    folder = path.parent
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = set(COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise UnmaskError(f"missing columns {', '.join(sorted(missing))} (expected {', '.join(COLUMNS)})", path)
        cases = []
        for line, row in enumerate(reader, start=2):
            references = tuple(folder / p.strip() for p in row["references"].split(";") if p.strip())
            if not references:
                raise UnmaskError(f"line {line}: case {row['case']} has no reference", path)
            case = PhotoCase(row["case"], row["person"], row["mask"], folder / row["target"], folder / row["region"],
                             folder / row["truth"], references)
            for file in (case.target, case.region, case.truth, case.references[0]):
                if not file.is_file():
                    raise UnmaskError(f"line {line}: case {case.name}: file not found: {file}", path)
            cases.append(case)
    if not cases:
        raise UnmaskError("the cases file lists no case", path)
    return cases


def write_synthetic_cases(
    people: str | Path, out: str | Path, seed: int = 0, limit: int | None = None
) -> tuple[Path, list[str]]:
    """Write the synthetic cases of a `<person>/<photo>` folder (`unmask.evaluate.synthetic_cases`:
    procedural masks of every kind, reference chosen by `seed`) as a cases.csv in `out`: each
    case's masked photo and region as `<person>_<photo>/target.png` and `region.png`; `truth` is the
    original photo itself and `references` the synthetic mode's reference first, then the
    person's other photos (paths relative to `out`). Returns the csv's path and a line per photo
    that could not be painted (no face)."""
    import os

    from unmask.evaluate import paint_case, person_photos, synthetic_cases
    from unmask.images import write_image, write_text

    out = Path(out)
    photos = person_photos(Path(people))
    rows, skipped = [], []
    for case in synthetic_cases(people, seed, limit):
        try:
            _, _, masked, region = paint_case(case, seed)
        except UnmaskError as exc:
            skipped.append(str(exc))
            continue
        name = f"{case.person}_{case.target.stem}"
        mine = photos[case.person]
        write_image(out / name / "target.png", masked, protect=mine)
        write_image(out / name / "region.png", region.astype(np.uint8) * 255, protect=mine)
        others = [p for p in mine if p not in (case.target, case.reference)]
        relative = [os.path.relpath(p, out) for p in (case.reference, *others)]
        rows.append([name, case.person, case.kind, f"{name}/target.png", f"{name}/region.png",
                     os.path.relpath(case.target, out), ";".join(relative)])
    if not rows:
        raise UnmaskError("no photo could be painted with a mask (no face found in any)", people)
    return write_text(out / "cases.csv", _csv_text([list(COLUMNS), *rows])), skipped


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def run_jobs(jobs: Iterable[Job], progress: Callable[..., Iterable] | None = None,
             executor: Executor | None = None) -> list[CaseResult]:
    """`run_job` over `jobs` on `executor` (`unmask.batch`: a process pool, ...; default: this
    process), the results in the jobs' order. `progress(iterable, total=n)` wraps the results as
    they arrive (e.g. `tqdm`)."""
    from unmask.batch import InProcess

    jobs = list(jobs)
    arrivals = (executor or InProcess()).map(run_job, jobs)
    results = dict(progress(arrivals, total=len(jobs)) if progress else arrivals)
    return [results[index] for index in range(len(jobs))]


def run_job(job: Job) -> CaseResult:
    """Complete one case with one method on the full photo and score it (a refused case is scored
    as the masked photo). Raises `UnmaskError` only when the case's own files cannot be read."""
    from unmask.face import find_face
    from unmask.region import load_user_mask
    from unmask.images import read_image
    from unmask.metrics import region_areas
    from unmask.pipeline import complete, locate
    from unmask.sheets import face_crops

    case = job.case
    masked, truth = read_image(case.target), read_image(case.truth)
    if masked.shape != truth.shape:
        raise UnmaskError(f"the truth is {truth.shape[:2]}, the masked photo {masked.shape[:2]}", case.truth)
    region = load_user_mask(case.region, masked.shape[:2])
    row: dict[str, Any] = {"case": case.name, "person": case.person, "mask": case.mask, "method": job.method,
                           "region": job.region, "reference": str(case.references[0])}
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        filled = np.zeros_like(region)  # the region the pipeline fills (none when it refuses)
        try:
            references = list(case.references) if job.all_references else case.references[0]
            scene = locate(masked, mask=region if job.region == "truth" else None)
            filled = scene.faces[0].region if scene.faces[0].region is not None else filled
            completed = complete(scene, references, method=job.method, **job.options)
            result = completed.image
            row.update(status="done", message="", reference=completed.record["inputs"]["reference"])
        except UnmaskError as exc:
            result = masked
            row.update(status="failed", message=str(exc).splitlines()[0])
    row["seconds"] = round(time.perf_counter() - start, 3)
    row["warnings"] = "; ".join(dict.fromkeys(str(w.message) for w in caught))
    try:
        truth_landmarks = find_face(truth, path=case.truth).landmarks
    except UnmaskError:
        truth_landmarks = None  # identity is then not scored (NaN)
    row.update(score_case(result, masked, truth, region, truth_landmarks, job.net))
    row.update(region_areas(filled, region))
    crops = face_crops({"masked": masked, "result": result, "truth": truth}, region)
    return CaseResult(row, case_tiles(result, masked, truth, region), crops)


def score_case(
    result: np.ndarray, masked: np.ndarray, truth: np.ndarray, region: np.ndarray,
    truth_landmarks: np.ndarray | None, net: str = "alex",
) -> dict[str, float]:
    """Every per-case score of `result` (uint8 (H, W, 3), the completed photo) against `truth`,
    given the `masked` photo and the true `region` (H, W) bool; `truth_landmarks` (68, 2) where the
    identity descriptors are taken (None: identity scores are NaN). Keys: remnant, chroma90,
    light90, collateral, seam, seam_texture, identity, identity_masked, psnr_region, ssim_region,
    perceptual_region."""
    from unmask.face import identity_distance
    from unmask.metrics import box_scores, chroma90, collateral, descriptor, light90, remnant, seam, seam_texture

    scores = {"remnant": remnant(result, masked, region), "chroma90": chroma90(result, truth, region),
              "light90": light90(result, truth, region), "collateral": collateral(result, masked, region),
              "seam": seam(result, truth, masked, region), "seam_texture": seam_texture(result, truth, masked, region)}
    if truth_landmarks is None:
        scores.update(identity=float("nan"), identity_masked=float("nan"))
    else:
        anchor = descriptor(truth, truth_landmarks)
        scores["identity"] = identity_distance(descriptor(result, truth_landmarks), anchor)
        scores["identity_masked"] = identity_distance(descriptor(masked, truth_landmarks), anchor)
    scores.update(box_scores(result, truth, region, 0.1, net))
    return scores


def remnant_map(result: np.ndarray, masked: np.ndarray, region: np.ndarray) -> np.ndarray:
    """`result` (H, W, 3) dimmed outside the true `region`, with the region's unchanged pixels
    (mask fabric left) in `REMNANT_COLOUR`."""
    from unmask.metrics import unchanged

    out = result.copy()
    out[~region] = out[~region] // 3 + 170
    out[region & unchanged(result, masked)] = REMNANT_COLOUR
    return out


def case_tiles(result: np.ndarray, masked: np.ndarray, truth: np.ndarray, region: np.ndarray) -> dict[str, np.ndarray]:
    """The contact-sheet tiles of one case: masked, result, truth and the remnant map, cut to the
    true region's box grown by 40 % and scaled to `TILE` px high (uint8)."""
    from unmask.metrics import crop, region_box
    from unmask.panel import fit_tile

    box = region_box(region, margin=0.4)
    images = {"masked": masked, "result": result, "truth": truth, "remnant": remnant_map(result, masked, region)}
    return {name: fit_tile(crop(image, box), TILE) for name, image in images.items()}


def jobs_for(cases: list[PhotoCase], methods: list[str], region: str = "detected",
             options: dict[str, dict[str, Any]] | None = None, net: str = "alex",
             all_references: bool = False) -> list[Job]:
    """One job per case and method (cases outer), each method with its `options`."""
    if region not in ("truth", "detected"):
        raise UnmaskError(f"unknown region source '{region}'; choose truth or detected")
    return [Job(case, method, region, (options or {}).get(method, {}), net, all_references)
            for case in cases for method in methods]


def summarize_cases(rows: list[dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    """Per method: cases, done, failed (with their messages), the counts of cases with remnant above
    `REMNANT_LIMIT`, light90 above `LIGHT_LIMIT` and collateral above `COLLATERAL_LIMIT`, and median
    / 90th percentile / mean / max / n of every metric over all cases (failures included, scored as
    the masked photo; NaN left out); the same per mask kind under "by_mask_kind"."""
    out = _summary(rows, methods)
    out["by_mask_kind"] = {kind: _summary([r for r in rows if r["mask"] == kind], methods)
                           for kind in sorted({r["mask"] for r in rows})}
    return out


def _summary(rows: list[dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"methods": {}}
    for name in methods:
        mine = [r for r in rows if r["method"] == name]
        metrics = {}
        for metric in CASE_METRICS:
            values = np.array([r[metric] for r in mine], dtype=np.float64)
            values = values[np.isfinite(values)]
            if values.size:
                metrics[metric] = {"median": float(np.median(values)), "p90": float(np.percentile(values, 90)),
                                   "mean": float(values.mean()), "max": float(values.max()), "n": int(values.size)}
        failed = [r for r in mine if r["status"] != "done"]
        out["methods"][name] = {
            "cases": len(mine), "done": len(mine) - len(failed), "failed": len(failed),
            "remnant_over_1pct": sum(r["remnant"] > REMNANT_LIMIT for r in mine),
            "light90_over_20": sum(r["light90"] > LIGHT_LIMIT for r in mine),
            "collateral_over_5pct": sum(r["collateral"] > COLLATERAL_LIMIT for r in mine),
            "extra_area_over_5pct": sum(r["extra_area"] > EXTRA_LIMIT for r in mine),
            "missed_area_over_1pct": sum(r["missed_area"] > REMNANT_LIMIT for r in mine),
            "metrics": metrics, "failures": sorted({f"{r['case']}: {r['message']}" for r in failed}),
        }
    return out


def format_case_summary(summary: dict[str, Any]) -> str:
    """The summary as a text table: done, the counts of cases over the limits (remnant > 1 %,
    light90 > 20, collateral > 5 %), then median / 90th percentile / mean of every metric per method."""
    methods = list(summary["methods"])
    width = max(28, *(len(name) + 3 for name in methods))
    entries = [summary["methods"][name] for name in methods]
    counts = (("done / cases", lambda e: f"{e['done']} / {e['cases']}"),
              ("remnant > 1%", lambda e: e["remnant_over_1pct"]), ("light90 > 20", lambda e: e["light90_over_20"]),
              ("collateral > 5%", lambda e: e["collateral_over_5pct"]),
              ("extra_area > 5%", lambda e: e["extra_area_over_5pct"]),
              ("missed_area > 1%", lambda e: e["missed_area_over_1pct"]))
    lines = [f"{'median / p90 / mean':<20}" + "".join(f"{name:>{width}}" for name in methods)]
    lines += [f"{label:<20}" + "".join(f"{cell(e)}".rjust(width) for e in entries) for label, cell in counts]
    for metric in CASE_METRICS:
        cells = [e["metrics"].get(metric) for e in entries]
        lines.append(f"{metric:<20}" + "".join(
            (f"{c['median']:.4f} / {c['p90']:.4f} / {c['mean']:.4f}" if c else "-").rjust(width) for c in cells))
    return "\n".join(lines)


def worst_sheet(results: list[CaseResult], methods: list[str], count: int = SHEET_WORST) -> np.ndarray:
    """Contact sheet, per method: the failed cases (their masked photo and message), then among the
    completed ones the `count` worst by remnant and the `count` worst by chroma90, one row each:
    masked | result | truth | remnant map (unchanged true-region pixels in magenta), labelled."""
    from unmask.panel import make_panel
    from unmask.sheets import worst_first

    tiles: list[tuple[str, np.ndarray]] = []
    for method in methods:
        mine = [r for r in results if r.row["method"] == method]
        for result in (r for r in mine if r.row["status"] != "done"):
            reason = textwrap.shorten(result.row["message"].split(" (")[0].split(";")[0], 24, placeholder="...")
            tiles.append((f"{method} FAILED {result.row['case']}: {reason}", result.tiles["masked"]))
        tiles += [("", np.full((TILE, TILE, 3), 255, np.uint8))] * (-len(tiles) % 4)  # worst cases: own rows
        done = [r for r in mine if r.row["status"] == "done"]
        for metric in ("remnant", "chroma90"):
            order = worst_first([r.row for r in done], metric)[:count]
            for rank, result in enumerate((done[i] for i in order), start=1):
                row = result.row
                tiles += [(f"{method} worst {metric} #{rank}: {row['case']} {row['mask']}", result.tiles["masked"]),
                          (f"remnant {row['remnant']:.1%}, chroma90 {row['chroma90']:.1f}", result.tiles["result"]),
                          ("truth", result.tiles["truth"]), ("unchanged in magenta", result.tiles["remnant"])]
    return make_panel(tiles, tile=TILE, per_row=4)


def evaluate_cases(
    path: str | Path,
    methods: list[str],
    region: str = "detected",
    options: dict[str, dict[str, Any]] | None = None,
    net: str = "alex",
    limit: int | None = None,
    progress: Callable[..., Iterable] | None = None,
    executor: Executor | None = None,
    all_references: bool = False,
    sorts: Iterable[str] = SORTS,
    sheet_rows: int = SHEET_ROWS,
) -> Report:
    """Score `methods` on the cases of the cases.csv at `path` (see the module text): `region`
    "detected" or "truth"; `options` method name -> its options; `net` the perceptual network;
    `limit` the first N cases only; `executor` runs the jobs (`run_jobs`); `all_references` lets
    the pipeline rank all of a case's references (else the first is used); `sorts` the metrics
    (`unmask.sheets.SORTS`) by which the `sheet_rows` worst cases of each method get full-size
    sheets. Returns a `Report` (rows, summary, worst-cases sheet, full-size sheets)."""
    from unmask.perceptual import NETS

    if net not in NETS:
        raise UnmaskError(f"unknown perceptual network '{net}'; choose one of: {', '.join(NETS)}")
    if not methods:
        raise UnmaskError("name at least one method to evaluate")
    sorts = list(dict.fromkeys(sorts))
    unknown = [name for name in sorts if name not in SORTS]
    if unknown:
        raise UnmaskError(f"unknown sheet order '{unknown[0]}'; choose among: {', '.join(SORTS)}")
    methods = list(dict.fromkeys(methods))
    for name in methods:  # an unknown method or option is the user's error, not a failed case
        checked_method(name, (options or {}).get(name, {}))
    cases = read_cases(path)[:limit]
    results = run_jobs(jobs_for(cases, methods, region, options, net, all_references), progress, executor)
    rows = [r.row for r in results]
    summary = summarize_cases(rows, methods)
    summary.update({"cases_file": str(path), "region": region, "all_references": all_references,
                    "perceptual_net": net, "cases": len(cases),
                    "remnant_limit": REMNANT_LIMIT, "unchanged_rgb_sum": UNCHANGED, "chroma_sigma": CHROMA_SIGMA,
                    "light90_limit": LIGHT_LIMIT, "collateral_limit": COLLATERAL_LIMIT,
                    "extra_area_limit": EXTRA_LIMIT, "missed_area_limit": REMNANT_LIMIT})
    inputs = sorted({p for c in cases for p in (c.target, c.region, c.truth, *c.references)})
    sheets = {}
    for method in methods:
        mine = [r for r in results if r.row["method"] == method]
        for metric in sorts:
            sheets.update(sheet_set([r.row for r in mine], [r.crops for r in mine], metric, sheet_rows, method))
    return Report(rows, summary, worst_sheet(results, methods), inputs, sheets)
