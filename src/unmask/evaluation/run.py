"""Running an evaluation: one job per case, every method on it through the pipeline's stages, on an
`unmask.batch` executor.

`evaluate` makes one `Job` per case, `run_jobs` runs them on an `unmask.batch` executor (this
process, or a pool of processes: `--workers N`) with a progress bar,
and `run_job` does one case with every method through the pipeline's stages, as `unmask run`
does: `unmask.pipeline.prepare` once (the face, the region painted, given or found, the references
ranked), then per method `unmask.pipeline.complete_scene` (`fill` -> `compose`: the wide crop, the
result most like the person kept, the Poisson composite pasted back into the photo), and the
completed photo scored through `unmask.evaluation.scores.score`. A job is independent of the
others and returns plain data (a job names its files by path, so Dask workers would need the
files too).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from unmask.batch.executors import Executor
from unmask.errors import UnmaskError
from unmask.evaluation.cases import Case, PhotoCase, paint_case, read_cases, real_cases, synthetic_cases
from unmask.evaluation.report import Report, summarize
from unmask.evaluation.scores import (COLLATERAL_LIMIT, EXTRA_LIMIT, LIGHT_LIMIT, MARGIN, REMNANT_LIMIT, AlignedTruth, PhotoTruth,
                                      aligned_truth, score)
from unmask.evaluation.sheets import CONTACT_CASES, SHEET_ROWS, SORTS, case_tiles, contact_sheet, face_crops, \
    sheet_set, worst_sheet

MODES = ("synthetic", "real", "cases")
REGIONS = ("truth", "detected")


@dataclass(frozen=True)
class Job:
    """One case completed by each of `methods` (`options`: method name -> its options). `mode`
    "synthetic", "real" (a `Case`) or "cases" (a `PhotoCase`); `region` "truth" (the painted or
    true region is filled) or "detected" (the pipeline finds it); `net` the perceptual network;
    `size` the side of the aligned crops scored (synthetic, real); `seed` the procedural mask's
    and the methods'; `all_references`: a `PhotoCase`'s references all ranked (else the first)."""

    case: Case | PhotoCase
    mode: str
    methods: tuple[str, ...]
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    region: str = "detected"
    net: str = "alex"
    size: int = 256
    seed: int = 0
    all_references: bool = False


@dataclass
class CaseResult:
    """What one method measured on one case: the `row` (cases.csv), the contact sheet's `tiles`
    (synthetic, real: the aligned masked, reference, truth and result; cases: `case_tiles`) and
    the full-size sheets' `crops` (cases: `face_crops` of masked, result, truth)."""

    row: dict[str, Any]
    tiles: dict[str, np.ndarray] = field(default_factory=dict)
    crops: dict[str, np.ndarray] = field(default_factory=dict)


def evaluate(
    source: str | Path,
    methods: list[str],
    mode: str = "synthetic",
    size: int = 256,
    seed: int = 0,
    limit: int | None = None,
    region: str | None = None,
    net: str = "alex",
    options: dict[str, dict[str, Any]] | None = None,
    progress: Callable[..., Iterable] | None = None,
    executor: Executor | None = None,
    all_references: bool = False,
    sorts: Iterable[str] = SORTS,
    sheet_rows: int = SHEET_ROWS,
) -> Report:
    """Score `methods` (names for `make_method`) on the cases of `source` (docs/evaluation.md).

    `mode` "synthetic" (`source` a `<person>/<photo>` folder), "real" (an mfr2-style folder with
    labels.csv) or "cases" (a cases.csv); `size` the side of the aligned crops scored in synthetic
    and real mode (the method works at its own size, as in `unmask run`); `seed` chooses
    references and mask kinds; `limit` the first N cases only; `region` "truth" (synthetic
    default) or "detected" (the default with cases, the only choice in real mode); `net` the
    perceptual network; `options` method name -> its options; `progress(iterable, total=n)` wraps
    the results as they arrive (e.g. `tqdm`); `executor` runs the jobs (`run_jobs`);
    `all_references` (cases) lets the pipeline rank all of a case's references; `sorts` the
    metrics (`unmask.evaluation.sheets.SORTS`) by which the `sheet_rows` worst cases of each
    method get full-size sheets (cases). Returns a `Report`; raises `UnmaskError` for bad
    arguments (an unknown method or option before any case runs).
    """
    from unmask.perceptual import NETS

    if mode not in MODES:
        raise UnmaskError(f"unknown mode '{mode}'; choose one of: {', '.join(MODES)}")
    region = region or ("truth" if mode == "synthetic" else "detected")
    if region not in REGIONS:
        raise UnmaskError(f"unknown region source '{region}'; choose one of: {', '.join(REGIONS)}")
    if mode == "real" and region == "truth":
        raise UnmaskError("real masked photos have no true region: use --region detected")
    if net not in NETS:
        raise UnmaskError(f"unknown perceptual network '{net}'; choose one of: {', '.join(NETS)}")
    if size < 64:
        raise UnmaskError(f"the aligned size must be at least 64 px, got {size}")
    if not methods:
        raise UnmaskError("name at least one method to evaluate")
    sorts = list(dict.fromkeys(sorts))
    unknown = [name for name in sorts if name not in SORTS]
    if unknown:
        raise UnmaskError(f"unknown sheet order '{unknown[0]}'; choose among: {', '.join(SORTS)}")
    methods = list(dict.fromkeys(methods))
    options = {name: (options or {}).get(name, {}) for name in methods}
    for name in methods:  # an unknown method or option is the user's error, not a failed case
        checked_method(name, options[name])
    cases: list[Any]
    if mode == "cases":
        cases = read_cases(source)[:limit]
    else:
        cases = (synthetic_cases if mode == "synthetic" else real_cases)(source, seed, limit)
    jobs = [Job(case, mode, tuple(methods), options, region, net, size, seed, all_references) for case in cases]
    results = [result for job in run_jobs(jobs, progress, executor) for result in job]
    rows = [r.row for r in results]
    inputs = sorted({p for c in cases for p in c.inputs})
    summary = summarize(rows, methods, in_photo=mode == "cases")
    if mode != "cases":
        summary.update({"mode": mode, "folder": str(source), "size": size, "seed": seed, "region": region,
                        "perceptual_net": net, "margin": MARGIN, "cases": len(cases)})
        return Report(rows, summary, _first_cases_sheet(results, mode), inputs)
    from unmask.metrics import CHROMA_SIGMA, UNCHANGED

    summary.update({"cases_file": str(source), "region": region, "all_references": all_references,
                    "perceptual_net": net, "cases": len(cases),
                    "remnant_limit": REMNANT_LIMIT, "unchanged_rgb_sum": UNCHANGED, "chroma_sigma": CHROMA_SIGMA,
                    "light90_limit": LIGHT_LIMIT, "collateral_limit": COLLATERAL_LIMIT,
                    "extra_area_limit": EXTRA_LIMIT, "missed_area_limit": REMNANT_LIMIT})
    sheets = {}
    for method in methods:
        mine = [r for r in results if r.row["method"] == method]
        for metric in sorts:
            sheets.update(sheet_set([r.row for r in mine], [r.crops for r in mine], metric, sheet_rows, method))
    return Report(rows, summary, worst_sheet(rows, [r.tiles for r in results], methods), inputs, sheets)


def checked_method(name: str, options: dict[str, Any]):
    """The method `name` made with `options`; `UnmaskError` for an unknown name or a refused option."""
    from unmask.methods import make_method

    try:
        return make_method(name, **options)
    except (TypeError, ValueError) as exc:  # an option the method does not take, or a bad value
        raise UnmaskError(f"method '{name}' with options {options}: {exc}") from None


def run_jobs(jobs: Iterable[Job], progress: Callable[..., Iterable] | None = None,
             executor: Executor | None = None) -> list[list[CaseResult]]:
    """`run_job` over `jobs` on `executor` (`unmask.batch`: a process pool, ...; default: this
    process), each job's results in the jobs' order. `progress(iterable, total=n)` wraps the
    results as they arrive (e.g. `tqdm`)."""
    from unmask.batch import InProcess

    jobs = list(jobs)
    arrivals = (executor or InProcess()).map(run_job, jobs)
    results = dict(progress(arrivals, total=len(jobs)) if progress else arrivals)
    return [results[index] for index in range(len(jobs))]


def run_job(job: Job) -> list[CaseResult]:
    """One case with every method of the job, one `CaseResult` per method. The pipeline's stages
    run as in `unmask run` (one `prepare`, then `complete_scene` per method) and the completed
    photo is scored (`score`). Synthetic and real: a case the pipeline refuses is "skipped" with
    the reason; cases: it is "failed" and scored as the masked photo, its one-line `message`.
    Raises `UnmaskError` only when a cases.csv case's own files cannot be read."""
    from unmask import pipeline
    from unmask.metrics import region_areas

    in_photo = job.mode == "cases"
    photo_truth = _photo_truth(job.case) if in_photo else None  # type: ignore[arg-type]
    algorithms = {name: checked_method(name, job.options.get(name, {})) for name in job.methods}
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            scene, truth_photo = _prepare(job, photo_truth)
            refused = ""
        except UnmaskError as exc:
            scene, truth_photo, refused = None, None, str(exc)
    prepared = [str(w.message) for w in caught]
    shared = time.perf_counter() - start if in_photo else 0.0  # with --cases, the seconds include prepare's
    aligned: AlignedTruth | None = None
    results = []
    for name, algorithm in algorithms.items():
        row: dict[str, Any] = {**_case_fields(job), "method": name}
        if in_photo:
            row.update(region=job.region, reference=str(job.case.references[0]))  # type: ignore[union-attr]
        start = time.perf_counter()
        completed, message = None, refused
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if scene is not None:
                try:
                    completed = pipeline.complete_scene(scene, algorithm, job.options.get(name), seed=job.seed)
                    if not in_photo:
                        aligned = aligned or aligned_truth(scene, completed.filled[0], *truth_photo, job.size,
                                                           str(job.case.kind))  # type: ignore[union-attr]
                except UnmaskError as exc:
                    completed, message = None, str(exc)
        seconds = round(shared + time.perf_counter() - start, 3)
        said = "; ".join(dict.fromkeys([*prepared, *(str(w.message) for w in caught)]))
        if in_photo:
            assert photo_truth is not None
            done = completed is not None
            image = completed.image if done else photo_truth.masked
            row.update(status="done" if done else "failed", message="" if done else (message.splitlines() or [""])[0],
                       seconds=seconds, warnings=said)
            if done:
                row["reference"] = completed.record["inputs"]["reference"]
            scores, _ = score(image, photo_truth, job.net)
            row.update(scores)
            filled = scene.faces[0].region if scene is not None and scene.faces[0].region is not None else None
            row.update(region_areas(np.zeros_like(photo_truth.region) if filled is None else filled, photo_truth.region))
            images = {"masked": photo_truth.masked, "result": image, "truth": photo_truth.truth}
            results.append(CaseResult(row, case_tiles(image, photo_truth.masked, photo_truth.truth, photo_truth.region),
                                      face_crops(images, photo_truth.region)))
        elif completed is None or aligned is None:
            results.append(CaseResult({**row, "status": "skipped", "reason": message, "seconds": seconds,
                                       "warnings": said}))
        else:
            scores, shown = score(completed.image, aligned, job.net, completed.filled[0].points)
            row.update(status="ok", reason="", seconds=seconds, warnings=said, **scores)
            tiles = {"masked": aligned.masked, "reference": aligned.reference, "truth": aligned.truth, **shown}
            results.append(CaseResult(row, tiles))
    return results


def _photo_truth(case: PhotoCase) -> PhotoTruth:
    """A cases.csv case's masked photo, truth, true region and the truth's landmarks (None when
    no face is found on it). Raises `UnmaskError` for unreadable or mismatched files."""
    from unmask.face import find_face
    from unmask.images import read_image
    from unmask.region import load_user_mask

    masked, truth = read_image(case.target), read_image(case.truth)
    if masked.shape != truth.shape:
        raise UnmaskError(f"the truth is {truth.shape[:2]}, the masked photo {masked.shape[:2]}", case.truth)
    region = load_user_mask(case.region, masked.shape[:2])
    try:
        landmarks = find_face(truth, path=case.truth).landmarks
    except UnmaskError:
        landmarks = None  # identity is then not scored (NaN)
    return PhotoTruth(masked, truth, region, landmarks)


def _prepare(job: Job, photo_truth: PhotoTruth | None):
    """The pipeline's first stage on the job's case (`unmask.pipeline.prepare`, as `unmask run`
    does it) and what an aligned truth is made of: (`Scene`, (photo, its face, painted region)
    for synthetic and real, None for cases)."""
    from unmask import pipeline
    from unmask.face import find_face
    from unmask.images import NamedImage, read_image

    case = job.case
    if isinstance(case, PhotoCase):
        assert photo_truth is not None
        references = list(case.references) if job.all_references else case.references[0]
        mask = photo_truth.region if job.region == "truth" else None
        return pipeline.prepare(photo_truth.masked, references, mask=mask), None
    reference = NamedImage(case.reference, read_image(case.reference))
    if job.mode == "synthetic":
        original, face, masked, painted = paint_case(case, job.seed)
        try:
            scene = pipeline.prepare(NamedImage(case.target, masked), reference,
                                     mask=painted if job.region == "truth" else None)
        except UnmaskError as exc:
            raise UnmaskError(f"after painting a {case.kind} mask: {exc}") from None
        return scene, (original, face, painted)
    assert case.probe is not None
    probe = read_image(case.probe)
    probe_face = find_face(probe, path=case.probe)
    return pipeline.prepare(NamedImage(case.target, read_image(case.target)), reference), (probe, probe_face, None)


def _case_fields(job: Job) -> dict[str, Any]:
    """The row's first fields, naming the case."""
    case = job.case
    if isinstance(case, PhotoCase):
        return {"case": case.name, "person": case.person, "mask": case.mask}
    fields = {"case": case.name, "person": case.person, "target": str(case.target), "reference": str(case.reference)}
    if job.mode == "synthetic":
        fields["mask_kind"] = case.kind
    else:
        fields["probe"] = str(case.probe)
    return fields


def _first_cases_sheet(results: list[CaseResult], mode: str) -> np.ndarray | None:
    """The contact sheet of the first `CONTACT_CASES` cases with a scored method (None: none)."""
    shown: dict[str, tuple[dict[str, np.ndarray], dict[str, np.ndarray]]] = {}
    for result in results:
        row = result.row
        if row["status"] != "ok" or (row["case"] not in shown and len(shown) == CONTACT_CASES):
            continue
        crops, scored = shown.setdefault(row["case"], (result.tiles, {}))
        scored[row["method"]] = result.tiles["result"]
    if not shown:
        return None
    return contact_sheet([(name, crops, scored) for name, (crops, scored) in shown.items()],
                         "ground truth" if mode == "synthetic" else "identity probe")
