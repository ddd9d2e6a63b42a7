"""The whole job, and the Python API `unmask.complete(...)`.

photo -> face -> mask region (the user's, or found) -> FFHQ-aligned crops of target, reference
(and expression) -> identity check -> method -> Poisson-composited crop -> pasted back into the
original photo -> `Result` (full-size image, aligned crop, step images, JSON-able record).
"""

from __future__ import annotations

import dataclasses
import json
import platform
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from unmask.errors import UnmaskError
from unmask.images import NamedImage, read_image, read_photo, write_image, write_text
from unmask.photo_meta import PhotoInfo

if TYPE_CHECKING:
    from unmask.face import Face
    from unmask.region import MaskRegion

Progress = Callable[[str], None]

_ZOOM_MARGIN = 0.08  # room around the region for the compositing's grow, feather and colour ring
_MAX_ZOOM = 2.0
_MAX_CROP = 1024  # largest crop side a wide-crop method works at (time grows with its area)


@dataclass
class Result:
    """What `complete` returns. `image`: the completed photo, uint8 (H, W, 3), the target's size;
    `aligned`: the completed aligned crop (S, S, 3); `steps`: named uint8 images for a panel, in
    order; `record`: a JSON-able account of what was done; `inputs`: the input files (never
    overwritten by `save`)."""

    image: np.ndarray
    aligned: np.ndarray
    steps: dict[str, np.ndarray]
    record: dict[str, Any]
    inputs: list[Path] = field(default_factory=list)
    photo: PhotoInfo | None = None
    """What the target photo carried besides its pixels (EXIF, XMP, ICC profile, JPEG quality),
    written back by `save`; None for a target given as a bare array."""

    def save(self, path: str | Path, panel: str | Path | None = None, json: str | Path | None = None,
             strip_location: bool = False) -> list[Path]:
        """Write the completed photo to `path` with the target photo's EXIF (orientation upright;
        without its GPS location when `strip_location`), XMP and ICC profile, a JPEG at the target
        JPEG's quality and subsampling; and optionally the before/after panel and the JSON record;
        each atomically and never over an input. Returns the paths written."""
        from unmask.panel import make_panel

        check_outputs([path, panel, json], self.inputs)
        written = [write_image(path, self.image, protect=self.inputs, info=self.photo, strip_location=strip_location)]
        if panel is not None:
            written.append(write_image(panel, make_panel(self.steps), protect=self.inputs))
        if json is not None:
            written.append(write_text(json, self.to_json(), protect=self.inputs))
        return written

    def to_json(self) -> str:
        """The record as indented JSON text."""
        return json.dumps(self.record, indent=2) + "\n"


def check_outputs(outputs: list[str | Path | None], inputs: list[str | Path]) -> None:
    """Raise `UnmaskError` when an output path (None = not written) is an input file or when two
    outputs share a path; call it before any work so that nothing is computed in vain."""
    protected = {Path(p).resolve() for p in inputs}
    seen: set[Path] = set()
    for path in outputs:
        if path is None:
            continue
        resolved = Path(path).resolve()
        if resolved in protected:
            raise UnmaskError("refusing to overwrite an input file; choose another output path", path)
        if resolved in seen:
            raise UnmaskError("two outputs have the same path; give each its own", path)
        seen.add(resolved)


def complete(
    target: str | Path | np.ndarray | NamedImage,
    reference: str | Path | np.ndarray | NamedImage | list[str | Path | np.ndarray | NamedImage],
    expression: str | Path | np.ndarray | NamedImage | None = None,
    method: str = "warp",
    mask: str | Path | np.ndarray | MaskRegion | None = None,
    face: int | Face | None = None,
    reference_face: int | None = None,
    face_box: tuple[float, float, float, float] | None = None,
    eyes: tuple[float, float, float, float] | None = None,
    size: int | None = None,
    strict: bool = False,
    tries: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    bars: bool | None = None,
    **method_options: Any,
) -> Result:
    """Complete the masked face in `target` from `reference`, unmasked photos of the same person.

    target, expression: file paths, uint8 RGB arrays (H, W, 3) or `NamedImage`s (decoded photos
    that keep their file name for messages). `reference`: one such photo, a folder of them, or a
    list of photos and folders: they are ranked for the target (`unmask.references`), the face is
    completed with each of the `tries` best ranked (default: the method's, `warp` 3, `stylegan` 1),
    the result most like the other photos of the person is kept, and `record["references"]` gives
    the ranking, the results' distances and the one used (unusable photos of a list or folder are
    skipped with a warning); `record["warnings"]` lists every warning given (e.g. a reference that
    looks like another person). `method`: one of
    `unmask.methods.METHODS` ("warp" needs no model). `mask`: the region to fill, a mask image
    path (white = fill) or a bool array of the target's size; without it the face mask is found.
    `face` / `reference_face`: which face in a photo with several (0 = largest). A `Face` that
    `unmask.face.find_face` found on the target, and a `MaskRegion` that `find_mask_region` found
    for it, as `face` and `mask`, are used as they are (no second detection: a batch's scan found
    them; the result is the same). `face_box` (x0, y0, x1, y1) or `eyes` (x_left, y_left,
    x_right, y_right): where the target's face is, in target photo pixels, when the detectors
    miss it (see `unmask.face.hints`). `size`: aligned
    crop side (default: the method's). `strict`: refuse a reference that looks like another person
    (upper-face identity check, `unmask.face.identity`) instead of warning. `progress` receives
    one message per stage. `bars`: let the method show progress bars and its own messages
    (default: when `progress` is given). Extra keyword arguments are the method's options. Raises
    `UnmaskError` for unusable inputs.
    """
    from unmask import references
    from unmask.blend import paste_into_photo
    from unmask.face import Face, find_face
    from unmask.region import MaskRegion, find_mask_region
    from unmask.methods import make_method

    warned: list[str] = []  # the record's "warnings": every "warning: ..." said on the way

    def say(message: str) -> None:
        if message.startswith("warning: "):
            warned.append(message.removeprefix("warning: "))
        if progress is not None:
            progress(message)

    clock = _Clock()
    reference_items, several = references.sources(reference)
    inputs = [Path(p) for p in (target, *reference_items, expression, mask) if isinstance(p, (str, Path))]

    say("reading photos")
    target_photo = read_photo(target) if isinstance(target, (str, Path)) else target
    target_img, target_name = _read(target_photo, "target")
    target_info = target_photo.info if isinstance(target_photo, NamedImage) else None
    expression_img, expression_name = (None, None) if expression is None else _read(expression, "expression")
    options = dict(method_options)
    if size is not None:
        options["size"] = int(size)
    algorithm = _make_method(make_method, method, options)
    found = mask if isinstance(mask, MaskRegion) else None
    region = None if mask is None or found is not None else _user_region(mask, target_img.shape[:2])
    if found is not None and found.mask.shape != target_img.shape[:2]:
        raise UnmaskError(f"the mask region is {found.mask.shape}, the target photo is {target_img.shape[:2]}")
    if isinstance(face, Face) and (face_box is not None or eyes is not None):
        raise UnmaskError("give the target's face either as a found Face or by a face box / eyes, not both")
    clock.lap("read")

    say("finding faces")
    target_face = face if isinstance(face, Face) else find_face(target_img, index=face, path=target_name,
                                                                 face_box=face_box, eyes=eyes)
    candidates, skipped = references.gather(reference_items, several, _read, reference_face, say)
    expression_face = None if expression_img is None else find_face(expression_img, path=expression_name)
    clock.lap("faces")

    if region is None:
        if found is None:
            say("finding the face-mask region")
            found = find_mask_region(target_img, target_face)
        region, region_info = _found_region(found, target_name)
        # the region finder may have put a mask-dragged upper face back on the eyes: use it from here on
        region_info["upper_face_moved"] = not np.array_equal(found.landmarks, target_face.landmarks)
        target_face = dataclasses.replace(target_face, landmarks=found.landmarks)
    else:
        region_info = {"source": "user mask"}
    clock.lap("region")

    say("ranking the reference photos" if len(candidates) > 1 else "checking that the reference is the same person")
    ranked = references.rank(target_img, target_face, candidates)
    tried = references.worth_trying(ranked, algorithm.tries if tries is None else tries)
    if strict and all(entry.measures["identity"] > entry.measures["identity_limit"] for entry in tried):
        # every reference to try looks like another person: refuse before the (maybe slow) completion
        _check_identity(tried[0].measures["identity"], tried[0].measures["identity_limit"], strict,
                        tried[0].candidate.path, say)
    clock.lap("identity")

    show = progress is not None if bars is None else bars
    expression_pair = None if expression_face is None else (expression_img, expression_face)
    fills = []
    for entry in tried:
        if len(candidates) > 1:
            say(f"completing from reference {entry.candidate.label} "
                f"(ranked {ranked.index(entry) + 1} of {len(candidates)})")
        fills.append(_fill(target_img, target_face, region, entry.candidate, algorithm, size, seed, expression_pair,
                           target_name, say, show, clock))
    pick, distances = 0, []
    if len(fills) > 1:
        say("keeping the result that looks most like the other photos of the person")
        faces = [(f.completion.image, f.alignment.to_crop(fills[0].points)) for f in fills]
        pick, distances = references.closest_result(faces, tried, ranked)
        clock.lap("choice")
    chosen = tried[pick].candidate
    if len(candidates) > 1:
        say(f"using reference {chosen.label} (best of {len(candidates)})")
    distance, limit = tried[pick].measures["identity"], tried[pick].measures["identity_limit"]
    _check_identity(distance, limit, strict, chosen.path, say)
    kept = fills[pick]
    completion, case, alignment, crop = kept.completion, kept.case, kept.alignment, kept.crop

    say("pasting back into the photo")
    image = paste_into_photo(target_img, completion.image, alignment, completion.changed)
    clock.lap("paste")
    target_crop, region_crop, reference_crop = case.target, case.region, case.reference

    steps = {"masked photo": target_crop, "face-mask region": _show_region(target_crop, region_crop),
             "reference": reference_crop}
    if case.expression is not None:
        steps["expression"] = case.expression
    steps.update({name: img for name, img in completion.steps.items() if name != "composite"})
    steps["result"] = completion.image
    record = {
        "unmask_version": _version(),
        "method": method,
        "method_options": {k: _jsonable(v) for k, v in options.items()},
        "seed": seed,
        "inputs": {"target": _label(target), "reference": chosen.label, "expression": _label(expression),
                   "mask": None if isinstance(mask, MaskRegion) else _label(mask)},
        "photo_size": [int(target_img.shape[1]), int(target_img.shape[0])],
        "photo_file": None if target_info is None else target_info.record(),
        "crop_size": crop,
        "faces": {"target": _face_record(target_face), "reference": _face_record(chosen.face),
                  **({"expression": _face_record(expression_face)} if expression_face is not None else {})},
        "region": {**region_info, "area_px": int(region.sum()),
                   "area_fraction": round(float(region.mean()), 5), "area_crop_px": int(region_crop.sum())},
        "references": references.ranking_record(ranked, skipped, ranked.index(tried[pick]),
                                                 {ranked.index(e): d for e, d in zip(tried, distances)}),
        "identity_distance": round(float(distance), 4),
        "identity_limit": limit,
        "same_person": bool(distance <= limit),
        "alignment": {"quad": alignment.quad.tolist(), "crop_size": crop},  # full precision: reusable
        "completion": completion.info,
        "changed_photo_px": _changed_pixels(image, target_img),
        "warnings": warned,
        "seconds": clock.laps,
        "versions": _versions(),
    }
    say(f"done in {clock.total():.1f} s")
    return Result(image=image, aligned=completion.image, steps=steps, record=record, inputs=inputs,
                  photo=target_info)


@dataclass
class _Filled:
    """One reference's completion: the aligned `case` it was made from, the target's `alignment`,
    the method's `completion` (aligned), `crop` the crop side, and `points`, the target's 68
    landmarks (hidden ones estimated from the reference) in the photo."""

    case: Any  # unmask.methods.AlignedCase
    alignment: Any  # unmask.face.Alignment
    completion: Any  # unmask.methods.Completion
    crop: int
    points: np.ndarray


def _fill(target_img: np.ndarray, target_face, region: np.ndarray, reference, algorithm, size: int | None,
          seed: int, expression: tuple[np.ndarray, Any] | None, target_name: Path | None, say: Progress,
          show: bool, clock: "_Clock") -> _Filled:
    """Complete the target photo's `region` (bool (H, W)) from one reference `Candidate`: align
    target, reference (and the `expression` photo and face) around the target's landmarks as the
    reference completes them, run `algorithm` on the aligned crops."""
    from unmask.face.hidden import estimate_hidden_landmarks
    from unmask.methods import AlignedCase

    target_points = estimate_hidden_landmarks(target_face.landmarks, reference.face.landmarks)
    zoom, crop = 1.0, algorithm.size
    if algorithm.wide_crop:
        zoom = _zoom_to_fit(region, target_points, crop)
        # keep the photo's own resolution on the face (within limits), so the pasted part is not blurred
        native = _quad_side(target_points) if size is None else crop
        crop = int(round(min(max(native, algorithm.size) * zoom, max(_MAX_CROP, algorithm.size)) / 8)) * 8
    say(f"aligning faces at {crop}x{crop}" + (f" ({zoom:.2f}x wider than FFHQ framing)" if zoom > 1 else ""))
    target_crop, alignment = _align(target_img, target_points, crop, zoom)
    reference_crop, reference_alignment = _align(reference.image, reference.face.landmarks, crop, zoom)
    region_crop = alignment.region_to_crop(region)
    outside = 1.0 - region_crop.sum() / max(region.sum() * alignment.scale**2, 1.0)
    if outside > 0.02:
        say(f"warning: {outside:.0%} of the face-mask region lies outside the aligned crop and stays unfilled")
    if not region_crop.any():
        raise UnmaskError("the face-mask region does not overlap the aligned face", target_name)
    case = AlignedCase(
        target=target_crop,
        region=region_crop,
        target_landmarks=alignment.to_crop(target_points),
        reference=reference_crop,
        reference_landmarks=reference_alignment.to_crop(reference.face.landmarks),
        seed=seed,
    )
    if expression is not None:
        expression_img, expression_face = expression
        case.expression, expression_alignment = _align(expression_img, expression_face.landmarks, crop, zoom)
        case.expression_landmarks = expression_alignment.to_crop(expression_face.landmarks)
    clock.lap("align")

    say(f"completing with method '{algorithm.name}'")
    completion = algorithm.complete(case, progress=say if show else None)
    clock.lap("method")
    return _Filled(case, alignment, completion, crop, target_points)


def _read(item: str | Path | np.ndarray | NamedImage, role: str) -> tuple[np.ndarray, Path | None]:
    if isinstance(item, (str, Path)):
        return read_image(item), Path(item)
    if isinstance(item, NamedImage):
        return _read(item.pixels, role)[0], item.path
    array = np.asarray(item)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise UnmaskError(f"the {role} must be an image file or a uint8 RGB array (H, W, 3), "
                          f"got {array.dtype} {array.shape}")
    return np.ascontiguousarray(array), None


def _make_method(make_method, name: str, options: dict[str, Any]):
    try:
        return make_method(name, **options)
    except TypeError as exc:  # an option the method does not take
        raise UnmaskError(f"method '{name}' does not accept these options {sorted(options)}: {exc}") from None
    except ValueError as exc:  # an option value the method refuses
        raise UnmaskError(f"method '{name}': {exc}") from None


def _user_region(mask: str | Path | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The user's region to fill, bool (H, W): a mask image (white = fill) or an array."""
    if isinstance(mask, (str, Path)):
        from unmask.region import load_user_mask

        region = load_user_mask(mask, shape)
    else:
        region = np.asarray(mask)
        if region.shape != shape:
            raise UnmaskError(f"the mask array is {region.shape}, the target photo is {shape}")
        region = region.astype(bool)
    if not region.any():
        raise UnmaskError("the mask is empty: nothing to fill (white marks the region)",
                          mask if isinstance(mask, (str, Path)) else None)
    return region


def _found_region(found: MaskRegion, name: Path | None) -> tuple[np.ndarray, dict[str, Any]]:
    """The region `find_mask_region` found on the photo, bool (H, W), and what it reported;
    `UnmaskError` naming the photo, saying why, when it found none."""
    from unmask.region import not_found_message

    if not found.found or not found.mask.any():
        raise UnmaskError(not_found_message(found), name)
    return found.mask.astype(bool), {"source": "detected", "score": round(float(found.score), 4),
                                     "coverage": round(float(found.coverage), 4)}


def _check_identity(distance: float, limit: float, strict: bool, reference_name: Path | None,
                    say: Progress) -> None:
    if distance <= limit:
        return
    message = f"the reference looks like another person (upper-face identity distance {distance:.2f} > {limit:.2f})"
    if strict:
        raise UnmaskError(message + "; without --strict this is only a warning", reference_name)
    say("warning: " + message)
    warnings.warn(message, stacklevel=3)


def _zoom_to_fit(region: np.ndarray, landmarks: np.ndarray, size: int) -> float:
    """How much wider than the FFHQ crop a crop must be to hold `region` with a margin (1 .. 2)."""
    from unmask.face import Alignment, ffhq_quad

    alignment = Alignment.from_quad(ffhq_quad(landmarks), size)
    ys, xs = np.nonzero(region)
    points = alignment.to_crop(np.stack([xs, ys], axis=1).astype(np.float64))
    reach = np.abs(points - (size - 1) / 2.0).max() / (size / 2.0)
    return float(np.clip(reach * (1.0 + _ZOOM_MARGIN), 1.0, _MAX_ZOOM))


def _quad_side(landmarks: np.ndarray) -> float:
    """Side of the FFHQ crop square in photo pixels."""
    from unmask.face import ffhq_quad

    quad = ffhq_quad(landmarks)
    return float(np.linalg.norm(quad[3] - quad[0]))


def _align(image: np.ndarray, landmarks: np.ndarray, size: int, zoom: float = 1.0):
    """FFHQ-aligned crop (size, size, 3) and its `Alignment`, covering `zoom` times the FFHQ quad.
    (The FFHQ quad is built from the landmarks and follows them under any similarity transform,
    so landmarks spread by `zoom` around the quad's centre give the quad spread by `zoom`.)"""
    from unmask.face import align_face, ffhq_quad

    centre = ffhq_quad(landmarks).mean(axis=0)
    return align_face(image, centre + zoom * (landmarks - centre), size)


def _show_region(crop: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The crop with the region tinted, for the panel."""
    out = crop.astype(np.float32)
    out[region] = 0.45 * out[region] + 0.55 * np.array([255.0, 40.0, 160.0])
    return out.astype(np.uint8)


def _changed_pixels(image: np.ndarray, before: np.ndarray) -> int:
    """How many pixels of two same-shaped (H, W, 3) images differ in any channel (channel by
    channel: `np.any(..., axis=2)` takes a tenth of a second on 12 MP)."""
    differs = image != before
    return int(np.count_nonzero(differs[..., 0] | differs[..., 1] | differs[..., 2]))


def _face_record(face) -> dict[str, Any]:
    return {"box": [round(float(v), 1) for v in face.box], "score": round(float(face.score), 4),
            "detector": face.detector}


def _label(item) -> str | None:
    if item is None:
        return None
    if isinstance(item, NamedImage):
        return str(item.path)
    return str(item) if isinstance(item, (str, Path)) else "array"


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (str, int, float, bool, type(None), list, dict, tuple)):
        return value
    return str(value)


def _version() -> str:
    from unmask import __version__

    return __version__


def _versions() -> dict[str, str]:
    import cv2

    versions = {"python": platform.python_version(), "numpy": np.__version__, "opencv": cv2.__version__}
    try:
        import dlib

        versions["dlib"] = dlib.__version__
    except ImportError:
        pass
    return versions


class _Clock:
    """Seconds spent per stage."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(self.laps.get(name, 0.0) + now - self.last, 3)
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.start
