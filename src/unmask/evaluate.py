"""The evaluation harness: completion methods scored on real photos with known ground truth.

Every case goes through the pipeline's stages as `unmask run` does (`unmask.pipeline.prepare` ->
`fill` -> `compose`: the face found on the masked photo, the reference ranked and its identity
checked, the hidden landmarks estimated from it, the wide crop at the method's own size, the
Poisson composite pasted back into the photo); the completed photo is then seen at the scoring
size, FFHQ-aligned (`size`) around the completed face's landmarks, with the masked photo, the
reference and the truth aligned the same way. (`unmask eval --cases`, `evaluate_cases`, runs the
same stages through `unmask.complete` on full masked photos of a cases.csv.)

Synthetic mode (`people/<person>/<photo>`): every photo of a person with at least two photos is
a target once. A procedural face mask (`unmask.region.render_mask`, kinds cycling with the case index
and the seed) is painted on it; the unmasked photo is the ground truth and the painted region the
true region (given to the pipeline as the user's mask with `region` "truth", found by it with
"detected"). The reference is another photo of the same person, chosen by the seed. Scores of the
completion against the ground truth: PSNR, SSIM and perceptual distance inside the painted region's
bounding box grown by 10 % (also when the pipeline filled the detected region) and on the whole
aligned crop, and dlib's identity distance (both descriptors taken at the ground truth's own
landmarks), next to the identity distance of the masked input and of the reference.

Real mode (`mfr2`-style: `<person>/<file>` + `labels.csv` with person,file,mask; mask "no-mask" for
unmasked photos): targets are the masked photos, the region is found by the pipeline, the
reference is an unmasked photo of the person and the identity probe another one; only identity
distances are scored (completed and masked face vs the probe).

Cases are ordered round-robin over persons (so `limit` spans many persons) and are reproducible
for a given seed. A case whose photo, face or region cannot be used is recorded as skipped with
the reason.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from unmask.errors import UnmaskError
from unmask.images import PHOTO_SUFFIXES

MODES = ("synthetic", "real")
REGIONS = ("truth", "detected")
MARGIN = 0.1
"""The region's bounding box is grown by this fraction of its size on every side for scoring."""

IMAGE_METRICS = ("psnr_region", "ssim_region", "perceptual_region", "psnr_face", "ssim_face", "perceptual_face")
IDENTITY_METRICS = ("identity_result", "identity_masked", "identity_reference")
SHEET_CASES = 8
"""Cases shown in the contact sheet (the first ones scored)."""


@dataclass(frozen=True)
class Case:
    """One evaluation case: which photos play which part. `kind` is the synthetic mask kind
    (synthetic mode), `probe` the unmasked identity probe (real mode)."""

    index: int
    person: str
    target: Path
    reference: Path
    kind: str | None = None
    probe: Path | None = None

    @property
    def name(self) -> str:
        return f"{self.person}/{self.target.name}"


@dataclass
class Report:
    """Everything `evaluate` measured: one row per (case, method), the summary, the contact sheet;
    `sheets`: more sheets, file name -> a function drawing it (written under `sheets/`)."""

    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    sheet: np.ndarray | None
    inputs: list[Path] = field(default_factory=list)
    sheets: dict[str, Callable[[], np.ndarray]] = field(default_factory=dict)


# ----------------------------------------------------------------------------------- cases


def synthetic_cases(folder: str | Path, seed: int = 0, limit: int | None = None) -> list[Case]:
    """Cases of a `<person>/<photo>` folder: each photo of a person with >= 2 photos is a target
    once, with a reference and a mask kind chosen from the seed. Round-robin over persons."""
    from unmask.region.synthetic import MASK_KINDS

    persons = {name: photos for name, photos in person_photos(Path(folder)).items() if len(photos) >= 2}
    if not persons:
        raise UnmaskError("no person folder with at least two photos (expected <person>/<photo>.jpg)", folder)
    cases = []
    for index, (person, target) in enumerate(_round_robin(persons)):
        rng = np.random.default_rng([seed, index])
        others = [p for p in persons[person] if p != target]
        reference = others[int(rng.integers(len(others)))]
        kind = MASK_KINDS[(index + seed) % len(MASK_KINDS)]
        cases.append(Case(index, person, target, reference, kind=kind))
    return cases[:limit]


def real_cases(folder: str | Path, seed: int = 0, limit: int | None = None) -> list[Case]:
    """Cases of an `mfr2`-style folder (labels.csv: person,file,mask): each masked photo is a
    target; reference and identity probe are two different unmasked photos of the person (a person
    with fewer than two gets no case). Round-robin over persons."""
    folder = Path(folder)
    labels = _read_labels(folder)
    masked: dict[str, list[Path]] = {}
    unmasked: dict[str, list[Path]] = {}
    for person, file, mask in labels:
        (unmasked if mask == "no-mask" else masked).setdefault(person, []).append(folder / person / file)
    persons = {p: sorted(masked[p]) for p in sorted(masked) if len(unmasked.get(p, [])) >= 2}
    if not persons:
        raise UnmaskError("no person with a masked photo and two unmasked ones in labels.csv", folder / "labels.csv")
    cases = []
    for index, (person, target) in enumerate(_round_robin(persons)):
        rng = np.random.default_rng([seed, index])
        reference, probe = (Path(p) for p in rng.choice(sorted(unmasked[person]), size=2, replace=False))
        cases.append(Case(index, person, target, reference, probe=probe))
    return cases[:limit]


def person_photos(folder: Path) -> dict[str, list[Path]]:
    """Photo files per person of a `<person>/<photo>` folder, sorted; persons without photos left out."""
    if not folder.is_dir():
        raise UnmaskError("not a folder of person folders", folder)
    persons = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        photos = sorted(p for p in sub.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())
        if photos:
            persons[sub.name] = photos
    return persons


def _round_robin(persons: dict[str, list[Path]]) -> Iterable[tuple[str, Path]]:
    """(person, photo) pairs: every person's first photo, then every person's second, ..."""
    for rank in range(max(len(photos) for photos in persons.values())):
        for person, photos in persons.items():
            if rank < len(photos):
                yield person, photos[rank]


def _read_labels(folder: Path) -> list[tuple[str, str, str]]:
    path = folder / "labels.csv"
    if not path.is_file():
        raise UnmaskError("real mode needs labels.csv (columns person,file,mask; mask 'no-mask' = unmasked)", path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"person", "file", "mask"} <= set(reader.fieldnames):
            raise UnmaskError(f"expected the columns person,file,mask, found {reader.fieldnames}", path)
        return [(row["person"], row["file"], row["mask"]) for row in reader]


# ----------------------------------------------------------------------------------- preparation


class _Photos:
    """Photos and their largest face, each read and detected once per evaluation."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[np.ndarray, Any]] = {}

    def get(self, path: Path) -> tuple[np.ndarray, Any]:
        from unmask.face import find_face
        from unmask.images import read_image

        if path not in self._cache:
            image = read_image(path)
            self._cache[path] = (image, find_face(image, path=path))
        return self._cache[path]


@dataclass
class _Truth:
    """What a case is scored against: the `photo` (the unmasked original in synthetic mode, the
    identity probe in real mode, uint8 (H, W, 3)), its `Face`, and the painted region
    (synthetic, bool (H, W); None in real mode)."""

    photo: np.ndarray
    face: Any  # unmask.face.Face
    region: np.ndarray | None = None


@dataclass
class _Crops:
    """A completed case seen at the scoring size: the masked photo, the reference and the truth
    (or probe) aligned around the completed face (S, S, 3), the landmarks at which identity
    descriptors are taken, the descriptor everything is compared with, the per-case row fields,
    the masked input's and the reference's identity distances, and the painted region in the crop
    (synthetic: scores use its box)."""

    masked: np.ndarray
    reference: np.ndarray
    truth: np.ndarray
    landmarks: np.ndarray
    anchor: np.ndarray
    record: dict[str, Any]
    identity: dict[str, float]
    truth_region: np.ndarray | None = None


def paint_case(case: Case, seed: int, photos: _Photos | None = None) -> tuple[np.ndarray, Any, np.ndarray, np.ndarray]:
    """A synthetic case's photo painted with its procedural mask: (original uint8 (H, W, 3), its
    face, masked uint8 (H, W, 3), painted region bool (H, W)); reproducible from `seed` and the
    case's index. Raises `UnmaskError` when the photo has no face."""
    from unmask.region.synthetic import render_mask

    original, face = (photos or _Photos()).get(case.target)
    masked, region = render_mask(original, face.landmarks, case.kind, np.random.default_rng([seed, case.index, 1]))
    return original, face, masked, region


def _prepare(case: Case, mode: str, photos: _Photos, seed: int, region_mode: str):
    """The pipeline's first stage on a case (`unmask.pipeline.prepare`, as `unmask run` does it:
    the masked photo's face found, the region painted or found, the reference ranked) and what
    the case is scored against: (`Scene`, `_Truth`)."""
    from unmask import pipeline
    from unmask.images import NamedImage

    reference = NamedImage(case.reference, photos.get(case.reference)[0])
    if mode == "synthetic":
        original, face, masked, painted = paint_case(case, seed, photos)
        try:
            scene = pipeline.prepare(NamedImage(case.target, masked), reference,
                                     mask=painted if region_mode == "truth" else None)
        except UnmaskError as exc:
            raise UnmaskError(f"after painting a {case.kind} mask: {exc}") from None
        return scene, _Truth(original, face, painted)
    assert case.probe is not None
    probe, probe_face = photos.get(case.probe)
    scene = pipeline.prepare(NamedImage(case.target, photos.get(case.target)[0]), reference)
    return scene, _Truth(probe, probe_face)


def _crops(scene, filled, truth: _Truth, size: int, case: Case) -> _Crops:
    """The case's inputs and truth aligned at `size` around the completed face's landmarks
    (`filled.points`, the hidden ones as the pipeline estimated them from the reference)."""
    from unmask.face import align_face, face_descriptor
    from unmask.metrics import descriptor

    masked_crop, alignment = align_face(scene.photo.pixels, filled.points, size)
    reference = filled.reference
    reference_crop, reference_alignment = align_face(reference.image, reference.face.landmarks, size)
    region = alignment.region_to_crop(scene.faces[filled.index].region)
    record: dict[str, Any] = {"region_fraction": float(region.mean())}
    if truth.region is None:  # real: the probe, aligned on its own face, described in its photo
        truth_crop, _ = align_face(truth.photo, truth.face.landmarks, size)
        landmarks = alignment.to_crop(filled.points)
        anchor = face_descriptor(truth.photo, truth.face)
        truth_region = None
    else:  # synthetic: the original photo under the same transform as the masked one
        truth_crop, _ = align_face(truth.photo, filled.points, size)
        landmarks = alignment.to_crop(truth.face.landmarks)
        anchor = descriptor(truth_crop, landmarks)
        truth_region = alignment.region_to_crop(truth.region)
        if not truth_region.any():
            raise UnmaskError(f"the painted {case.kind} mask does not overlap the aligned face", case.target)
        if scene.faces[filled.index].region_info.get("source") == "detected":
            union = np.logical_or(region, truth_region).sum()
            record["region_iou"] = float(np.logical_and(region, truth_region).sum() / max(union, 1))
    reference_identity = (face_descriptor(reference.image, reference.face) if truth.region is None else
                          descriptor(reference_crop, reference_alignment.to_crop(reference.face.landmarks)))
    identity = {"identity_masked": _distance(descriptor(masked_crop, landmarks), anchor),
                "identity_reference": _distance(reference_identity, anchor)}
    return _Crops(masked_crop, reference_crop, truth_crop, landmarks, anchor, record, identity, truth_region)


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    from unmask.face import identity_distance

    return identity_distance(a, b)


# ----------------------------------------------------------------------------------- evaluation


def evaluate(
    folder: str | Path,
    methods: list[str],
    mode: str = "synthetic",
    size: int = 256,
    seed: int = 0,
    limit: int | None = None,
    region: str | None = None,
    net: str = "alex",
    options: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> Report:
    """Score `methods` (names for `make_method`) on the cases of `folder` (see the module text).

    `mode` "synthetic" or "real"; `size` the side of the aligned crops scored (the method works
    at its own size, as in `unmask run`); `region` "truth" (synthetic default)
    or "detected" (the only choice in real mode); `net` the perceptual network; `options` method
    name -> its options; `progress` wraps the case iterable (e.g. `tqdm`). Returns a `Report`;
    raises `UnmaskError` for bad arguments.
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
    algorithms = {name: checked_method(name, (options or {}).get(name, {})) for name in dict.fromkeys(methods)}
    cases = synthetic_cases(folder, seed, limit) if mode == "synthetic" else real_cases(folder, seed, limit)

    from unmask import pipeline
    from unmask.face import align_face

    photos = _Photos()
    rows: list[dict[str, Any]] = []
    shown: list[tuple[Case, _Crops, dict[str, np.ndarray]]] = []
    for case in (progress or iter)(cases):
        base = _case_fields(case, mode)
        try:
            scene, truth = _prepare(case, mode, photos, seed, region)
        except UnmaskError as exc:
            rows.extend({**base, "method": name, "status": "skipped", "reason": str(exc)} for name in algorithms)
            continue
        results, crops = {}, None
        for name, algorithm in algorithms.items():
            row = {**base, "method": name, "status": "ok", "reason": ""}
            try:
                start = time.perf_counter()
                filled = pipeline.fill(scene, 0, algorithm, seed=seed)
                completed = pipeline.compose(scene, [filled], method=name, options=(options or {}).get(name), seed=seed)
                row["seconds"] = round(time.perf_counter() - start, 3)
                crops = crops or _crops(scene, filled, truth, size, case)
            except UnmaskError as exc:
                rows.append({**row, "status": "skipped", "reason": str(exc)})
                continue
            image, _ = align_face(completed.image, filled.points, size)
            rows.append({**row, **crops.record, **_score(image, crops, mode, net)})
            results[name] = image
        if results and crops is not None and len(shown) < SHEET_CASES:
            shown.append((case, crops, results))
    summary = summarize(rows, list(algorithms))
    summary.update({"mode": mode, "folder": str(folder), "size": size, "seed": seed, "region": region,
                    "perceptual_net": net, "margin": MARGIN, "cases": len(cases)})
    inputs = sorted({p for c in cases for p in (c.target, c.reference, c.probe) if p is not None})
    return Report(rows, summary, _sheet(shown, mode) if shown else None, inputs)


def checked_method(name: str, options: dict[str, Any]):
    """The method `name` made with `options`; `UnmaskError` for an unknown name or a refused option."""
    from unmask.methods import make_method

    try:
        return make_method(name, **options)
    except (TypeError, ValueError) as exc:  # an option the method does not take, or a bad value
        raise UnmaskError(f"method '{name}' with options {options}: {exc}") from None


def _case_fields(case: Case, mode: str) -> dict[str, Any]:
    fields = {"case": case.name, "person": case.person, "target": str(case.target), "reference": str(case.reference)}
    if mode == "synthetic":
        fields["mask_kind"] = case.kind
    else:
        fields["probe"] = str(case.probe)
    return fields


def _score(image: np.ndarray, prepared: _Crops, mode: str, net: str) -> dict[str, float]:
    from unmask.metrics import descriptor, image_scores

    scores: dict[str, float] = {}
    if mode == "synthetic":
        scores.update(image_scores(image, prepared.truth, prepared.truth_region, MARGIN, net))
    scores["identity_result"] = _distance(descriptor(image, prepared.landmarks), prepared.anchor)
    scores.update(prepared.identity)
    return scores


def summarize(rows: list[dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    """Per method: cases scored and skipped, and the median and mean of every metric over the
    scored cases (non-finite values, e.g. the PSNR of an unchanged region, are left out); the
    same per synthetic mask kind under "by_mask_kind"."""
    out = _summarize_methods(rows, methods)
    kinds = sorted({r["mask_kind"] for r in rows if r.get("mask_kind")})
    if kinds:
        out["by_mask_kind"] = {kind: _summarize_methods([r for r in rows if r.get("mask_kind") == kind], methods)
                               for kind in kinds}
    return out


def _summarize_methods(rows: list[dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"methods": {}}
    for name in methods:
        mine = [r for r in rows if r["method"] == name]
        ok = [r for r in mine if r["status"] == "ok"]
        metrics = {}
        for metric in (*IMAGE_METRICS, *IDENTITY_METRICS, "region_iou", "seconds"):
            values = np.array([r[metric] for r in ok if metric in r], dtype=np.float64)
            values = values[np.isfinite(values)]
            if values.size:
                metrics[metric] = {"median": float(np.median(values)), "mean": float(values.mean()), "n": int(values.size)}
        skipped = [r for r in mine if r["status"] != "ok"]
        out["methods"][name] = {"scored": len(ok), "skipped": len(skipped), "metrics": metrics,
                                "skip_reasons": sorted({r["reason"] for r in skipped})}
    return out


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a text table: one line per metric, median / mean per method."""
    methods = list(summary["methods"])
    metrics = [m for m in (*IMAGE_METRICS, *IDENTITY_METRICS, "region_iou", "seconds")
               if any(m in summary["methods"][name]["metrics"] for name in methods)]
    width = max(19, *(len(name) + 3 for name in methods))
    lines = [f"{'median / mean':<20}" + "".join(f"{name:>{width}}" for name in methods)]
    for metric in metrics:
        cells = []
        for name in methods:
            value = summary["methods"][name]["metrics"].get(metric)
            cells.append(f"{value['median']:.3f} / {value['mean']:.3f}" if value else "-")
        lines.append(f"{metric:<20}" + "".join(f"{cell:>{width}}" for cell in cells))
    lines.append(f"{'scored / skipped':<20}" + "".join(
        f"{summary['methods'][n]['scored']:>{width - 6}} / {summary['methods'][n]['skipped']:<3}" for n in methods))
    return "\n".join(lines)


def _sheet(shown: list[tuple[Case, _Crops, dict[str, np.ndarray]]], mode: str) -> np.ndarray:
    """Contact sheet: one row per case, masked | reference | each method's result | truth (probe)."""
    from unmask.panel import make_panel

    last = "ground truth" if mode == "synthetic" else "identity probe"
    methods = list(dict.fromkeys(name for _, _, results in shown for name in results))
    tiles: dict[str, np.ndarray] = {}
    for case, prepared, results in shown:
        blank = np.full_like(prepared.masked, 255)
        tiles[f"{case.name} masked"] = prepared.masked
        tiles[f"{case.name} reference"] = prepared.reference
        for name in methods:
            tiles[f"{case.name} {name}"] = results.get(name, blank)
        tiles[f"{case.name} {last}"] = prepared.truth
    return make_panel(tiles, tile=160, per_row=len(methods) + 3)


# ----------------------------------------------------------------------------------- output


def write_report(report: Report, outdir: str | Path) -> list[Path]:
    """Write cases.csv, cases.json, summary.json, sheet.png (when a case was scored) and the
    report's other `sheets` (under `sheets/`) into `outdir`, atomically, never over an input photo.
    Returns the paths written."""
    from unmask.images import write_image, write_text

    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise UnmaskError("the output path exists and is not a folder", outdir)
    protect = report.inputs
    written = [
        write_text(outdir / "cases.csv", _csv(report.rows), protect=protect),
        write_text(outdir / "cases.json", _json(report.rows), protect=protect),
        write_text(outdir / "summary.json", _json(report.summary), protect=protect),
    ]
    if report.sheet is not None:
        written.append(write_image(outdir / "sheet.png", report.sheet, protect=protect))
    for name, draw in report.sheets.items():
        written.append(write_image(outdir / "sheets" / name, draw(), protect=protect))
    return written


def _csv(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def _json(value: Any) -> str:
    return json.dumps(_finite(value), indent=2) + "\n"


def _finite(value: Any) -> Any:
    """JSON has no infinity: non-finite floats become null (an infinite PSNR: identical pixels)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
