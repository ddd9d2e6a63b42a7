"""Choosing the reference: several unmasked photos of the person ranked for one masked target.

`gather` turns what the user gave (one photo, a list, a folder) into readable candidates with a
face, skipping unusable photos of a list or folder with the reason. `rank` scores each candidate by
what predicts a good completion; lower is better, and every part of the score is kept:

- `pose`: how far the reference's visible landmarks (jaw ends at ear level, brows, upper nose
  bridge, eyes) lie from the target's after the best similarity fit, in eye distances (RMS); the
  mirrored reference is tried too, as the `warp` method mirrors a face turned the other way. The
  target's lower face is masked, so only these points say how its head is turned and tilted.
- `mouth`: how far the reference's mouth is open (inner-lip gap in eye distances): an open or
  laughing mouth is carried into the completed face, which the mask hides and so cannot confirm.
- `detail`: how many halvings of fine detail (Laplacian contrast of the eye band) the reference
  lacks against the target when both are seen at the target's scale: a small face or a blurred
  photo scores high, one sharper than the target scores 0 (no gain past the target's own).
- `identity`: the upper-face identity distance to the target (`unmask.face.identity`), above
  the pair's same-person limit only (a reference that may be another person ranks last).

Each raw measure is divided by a round scale (`SCALES`) so the terms add with equal weight. The
scales were chosen before measuring and not fitted: a leave-one-person-out grid search over them
did no better on the template cases (docs/references.md).

The ranking sees only the inputs. `closest_result` then judges the outputs: the pipeline completes
the face with each of the few best-ranked references (`TRIES` for `warp`) and keeps the completed
face that dlib's identity descriptor finds closest to the person as the *other* references show.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from unmask.errors import UnmaskError
from unmask.images import PHOTO_SUFFIXES, NamedImage

POSE_POINTS = np.r_[0:3, 14:17, 17:29, 36:48]
"""Landmarks visible above a face mask (iBUG 300-W): jaw at ear level, brows, nose bridge, eyes."""

SCALES = {"pose": 0.05, "mouth": 0.15, "detail": 1.0, "identity": 0.1}
"""Raw measure per unit of score: 0.05 eye distances of pose mismatch (the median between two
photos of one person in the template cases is 0.056, the 90th percentile 0.11), an inner-lip gap
of 0.15 eye distances (a mouth clearly open; closed is below 0.02), one halving of detail, 0.1 of
identity distance past the same-person limit."""

TRIES = 3
"""How many of the best-ranked references `unmask.complete` completes the face with by default for
the `warp` method (it keeps the result `closest_result` prefers; the slow `stylegan` tries 1, the
best ranked only). Chosen on the template cases of seeds 5 and 9 (docs/references.md)."""

LIGHT_WEIGHT = 0.005
"""Identity distance that one L* of light mismatch costs when `closest_result` chooses between
completed faces (a rim light 10 levels deep weighs as much as 0.05 of identity distance). Fitted by
scripts/fit_light_choice.py on template seed 5, checked on seed 0 and procedural cases."""

_BAND_EYE_PX = 96  # the detail comparison never looks finer than this many pixels between the eyes

Reference = str | Path | np.ndarray | NamedImage
"""One reference photo: a file path, a uint8 RGB array (H, W, 3) or a `NamedImage`."""


@dataclass(eq=False)
class Candidate:
    """A readable reference photo and its face. `label`: the path (also a `NamedImage`'s), or
    "array N" for an array. Equal only to itself (the same photo may be given twice)."""

    label: str
    path: Path | None
    image: np.ndarray
    face: Any  # unmask.face.Face


@dataclass(eq=False)
class Ranked:
    """A candidate and its score (lower = better) = the sum of `terms`; `measures` are the raw
    quantities the terms come from (eye distances, halvings, identity distance, pixels)."""

    candidate: Candidate
    score: float
    terms: dict[str, float]
    measures: dict[str, Any]


def sources(reference: Reference | Sequence[Reference]) -> tuple[list[Reference], bool]:
    """The photos `reference` names, in order, and whether it named several (a list or a
    folder, whose unusable photos are skipped) rather than one (whose errors are raised).
    A folder gives its photo files sorted by name; raises `UnmaskError` for a folder without any."""
    if isinstance(reference, (str, Path)) and Path(reference).is_dir():
        return _folder_photos(Path(reference)), True
    if isinstance(reference, (list, tuple)):
        items: list[Reference] = []
        for item in reference:
            items.extend(sources(item)[0])
        if not items:
            raise UnmaskError("no reference photo given")
        return items, True
    return [reference], False


def gather(
    items: list[Reference],
    several: bool,
    read: Callable[[Reference, str], tuple[np.ndarray, Path | None]],
    face_index: int | None = None,
    say: Callable[[str], None] = lambda message: None,
) -> tuple[list[Candidate], list[dict[str, str]]]:
    """Read every reference photo of `items` (from `sources`) and find its face (`face_index`:
    which face, 0 = largest). `read(item, role)` returns (uint8 image, path or None) and raises
    `UnmaskError`.

    Returns the usable candidates and, when `several`, the skipped ones as {"label", "skipped":
    reason} (each also reported through `say` and `warnings.warn`). Raises the photo's own
    `UnmaskError` for a single reference, and one naming every reason when none of several is
    usable."""
    from unmask.face import find_face

    candidates, skipped = [], []
    for number, item in enumerate(items):
        label = _label(item, number)
        try:
            image, path = read(item, "reference")
            face = find_face(image, index=face_index, path=path)
        except UnmaskError as exc:
            if not several:
                raise
            skipped.append({"label": label, "skipped": str(exc)})
            message = f"skipping reference {exc}" if exc.path else f"skipping reference {label}: {exc}"
            say("warning: " + message)
            warnings.warn(message, stacklevel=3)
            continue
        candidates.append(Candidate(label, path, image, face))
    if not candidates:
        reasons = "; ".join(entry["skipped"] for entry in skipped)
        raise UnmaskError(f"none of the {len(items)} reference photos is usable: {reasons}")
    return candidates, skipped


def rank(target: np.ndarray, target_face, candidates: list[Candidate]) -> list[Ranked]:
    """The candidates scored for the masked face `target_face` in the photo `target` (uint8
    (H, W, 3)), best (lowest score) first; ties keep the given order."""
    from unmask.face.identity import identity_distance, same_person_limit, upper_face

    eyes = eye_distance(target_face.landmarks)
    band_px = min(eyes, _BAND_EYE_PX)
    target_detail = detail(target, target_face.landmarks, band_px)
    target_upper = upper_face(target, target_face.landmarks)
    ranked = []
    for candidate in candidates:
        points = candidate.face.landmarks
        pose, mirrored = pose_mismatch(target_face.landmarks, points)
        upper = upper_face(candidate.image, points)
        identity = identity_distance(target_upper.descriptor, upper.descriptor)
        limit = same_person_limit(target_upper, upper)
        lacking = max(0.0, float(np.log2(target_detail / max(detail(candidate.image, points, band_px), 1e-6))))
        measures = {"pose": round(pose, 4), "mirrored": mirrored, "mouth": round(mouth_opening(points), 4),
                    "detail": round(lacking, 4), "identity": round(identity, 4), "identity_limit": limit,
                    "eye_distance_px": round(eye_distance(points), 1)}
        raw = {"pose": pose, "mouth": measures["mouth"], "detail": lacking,
               "identity": max(0.0, identity - limit)}
        terms = {name: round(value / SCALES[name], 4) for name, value in raw.items()}
        ranked.append(Ranked(candidate, round(sum(terms.values()), 4), terms, measures))
    return sorted(ranked, key=lambda entry: entry.score)


def worth_trying(ranked: list[Ranked], tries: int) -> list[Ranked]:
    """The best-ranked entry and, up to `tries` in all, the next ones that are probably the same
    person as the target (upper-face identity within the pair's limit), best first."""
    same = [entry for entry in ranked[1:] if entry.measures["identity"] <= entry.measures["identity_limit"]]
    return ranked[:1] + same[: max(tries, 1) - 1]


def closest_result(faces: list[tuple[np.ndarray, np.ndarray]], tried: list[Ranked],
                   ranked: list[Ranked], mismatches: Sequence[float] | None = None) -> tuple[int, list[float]]:
    """Which completed face looks most like the person, under the target's light. `faces`: one
    (image uint8 (S, S, 3), the target's 68 landmarks (68, 2) in it) per entry of `tried` (from
    `worth_trying`), the landmarks the same face points for all so that only the pixels differ.
    Each is described (dlib, `unmask.metrics.descriptor`) and compared with the mean descriptor of
    the same-person references of `ranked` other than the one it was made from (its lower face
    copies that one). `mismatches`: per face, the light its reference brought that the relighting
    could not take away (`unmask.relight.light_mismatch`, L*); when all are known, each adds
    `LIGHT_WEIGHT` per level to the face's distance. Returns the index of the best (0 when no
    other reference is there to compare with) and the identity distances (about 0.3-0.5 for the
    same person)."""
    from unmask.face import identity_distance
    from unmask.metrics import descriptor

    people = [entry for entry in ranked if entry.measures["identity"] <= entry.measures["identity_limit"]]
    people += [entry for entry in tried if entry not in people]
    described = {id(entry): descriptor(entry.candidate.image, entry.candidate.face.landmarks) for entry in people}
    distances = []
    for (image, landmarks), entry in zip(faces, tried):
        others = [value for key, value in described.items() if key != id(entry)]
        if not others:
            return 0, []
        distances.append(identity_distance(descriptor(image, landmarks), np.mean(others, axis=0)))
    score = np.array(distances)
    if mismatches is not None and np.all(np.isfinite(mismatches)):
        score = score + LIGHT_WEIGHT * np.asarray(mismatches, float)
    return int(np.argmin(score)), distances


def ranking_record(ranked: list[Ranked], skipped: list[dict[str, str]], used: int = 0,
                   result_identity: dict[int, float] | None = None,
                   result_light: dict[int, float] | None = None) -> list[dict[str, Any]]:
    """The JSON-able ranking for a result's record: one entry per candidate, best first
    ({"label", "rank", "used", "score", "terms", "measures"}; the references the face was completed
    with also "result_identity" and "result_light", `closest_result`'s identity distance and light
    mismatch, keyed by rank), then the skipped photos. `used`: the rank of the reference whose
    result was kept."""
    entries = []
    for number, entry in enumerate(ranked):
        entries.append({"label": entry.candidate.label, "rank": number, "used": number == used, "score": entry.score,
                        "terms": entry.terms, "measures": entry.measures})
        if result_identity and number in result_identity:
            entries[-1]["result_identity"] = round(result_identity[number], 4)
        if result_light and number in result_light:
            entries[-1]["result_light"] = round(result_light[number], 2)
    return entries + skipped


def eye_distance(points: np.ndarray) -> float:
    """Distance between the two eye centres of 68 landmarks (68, 2), in pixels."""
    return float(np.linalg.norm(points[42:48].mean(axis=0) - points[36:42].mean(axis=0)))


def pose_mismatch(target: np.ndarray, reference: np.ndarray) -> tuple[float, bool]:
    """RMS distance, in the target's eye distances, between the target's `POSE_POINTS` and the
    reference's fitted onto them by a similarity transform; the smaller of the reference as is
    and mirrored, and whether mirrored was smaller. 0 = same pose; two photos of one person
    typically differ by 0.03-0.11."""
    from unmask.face.hidden import mirror_landmarks

    best = []
    for points in (reference, mirror_landmarks(reference, 0.0)):
        best.append(_fit_residual(points[POSE_POINTS], target[POSE_POINTS]) / eye_distance(target))
    return float(min(best)), bool(best[1] < best[0])


def mouth_opening(points: np.ndarray) -> float:
    """Mean gap between the inner lips (points 61-63 against 67-65), in eye distances: below
    0.02 for a closed mouth, 0.2 and more for a laugh."""
    gap = np.linalg.norm(points[[61, 62, 63]] - points[[67, 66, 65]], axis=1).mean()
    return float(gap / eye_distance(points))


def detail(image: np.ndarray, points: np.ndarray, eye_px: float) -> float:
    """Fine detail of the eye band (brows to the top of the nose), seen with `eye_px` pixels
    between the eye centres: the standard deviation of the Laplacian over that of the grey
    levels (unit-free; a blurred or upscaled face scores lower)."""
    import cv2

    band = _eye_band(image, points, eye_px)
    grey = cv2.cvtColor(band, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(cv2.Laplacian(grey, cv2.CV_32F).std() / (grey.std() + 1.0))


def _eye_band(image: np.ndarray, points: np.ndarray, eye_px: float) -> np.ndarray:
    """The band from above the brows to the upper nose bridge, rotated level and scaled so the
    eyes are `eye_px` apart: (0.9 * eye_px, 2.2 * eye_px, 3) uint8. A larger photo is reduced
    with area averaging first, so reducing adds no aliasing."""
    import cv2

    from unmask.face.hidden import fit_similarity

    scale = eye_px / eye_distance(points)
    if scale < 1.0:
        x0, y0 = np.maximum(points.min(axis=0) - eye_distance(points), 0).astype(int)
        x1, y1 = (points.max(axis=0) + eye_distance(points)).astype(int)
        image = cv2.resize(image[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        points = (points - [x0, y0]) * scale
    width, height = round(2.2 * eye_px), round(0.9 * eye_px)
    eyes = np.array([points[36:42].mean(axis=0), points[42:48].mean(axis=0)])
    placed = np.array([[0.6 * eye_px, 0.55 * eye_px], [1.6 * eye_px, 0.55 * eye_px]])
    matrix = fit_similarity(eyes, placed)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def _fit_residual(source: np.ndarray, target: np.ndarray) -> float:
    from unmask.face.hidden import fit_similarity

    matrix = fit_similarity(source, target)
    fitted = source @ matrix[:, :2].T + matrix[:, 2]
    return float(np.sqrt(np.mean(np.sum((fitted - target) ** 2, axis=1))))


def _label(item: Reference, number: int) -> str:
    """How the record names a reference: its path, or "array N" (N: its place in the list)."""
    if isinstance(item, NamedImage):
        return str(item.path)
    return str(item) if isinstance(item, (str, Path)) else f"array {number}"


def _folder_photos(folder: Path) -> list[Reference]:
    photos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    if not photos:
        raise UnmaskError(f"the reference folder holds no photo ({', '.join(PHOTO_SUFFIXES)})", folder)
    return list(photos)
