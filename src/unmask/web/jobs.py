"""What the web page does with its inputs, without any of the web library: show the face-mask
region found on an upload, turn the edited layer back into a region, run one completion into its
own folder, and phrase an error as the command line would.

Every path handled here is one the web library has already checked to be an upload of this app
(or a file this app wrote); nothing a client sends is opened as a path by this module's callers.
"""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from unmask.errors import FaceError, UnmaskError
from unmask.images import read_photo, write_image

if TYPE_CHECKING:
    from unmask.pipeline import Scene

REGION_COLOUR = (255, 40, 160, 150)
"""RGBA of the found region on the editable layer: the tint of the step panel, half opaque."""


@dataclass
class RegionPreview:
    """The masked photo (uint8 (H, W, 3)), the region found on it (bool (H, W), None when there
    is none), how many faces it shows, what to tell the user (empty when all went well), and the
    pipeline's `Scene` of the photo (None when no face was found), which `run_job` goes on from
    instead of finding face and region again."""

    photo: np.ndarray
    region: np.ndarray | None
    faces: int
    message: str = ""
    scene: Scene | None = None


@dataclass
class JobResult:
    """The files one completion wrote into its own folder, and what the page shows about it."""

    result: Path
    panel: Path
    record: Path
    region: Path | None
    identity_distance: float
    same_person: bool
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


MARK_ADVICE = "mark the face yourself (Mark the face yourself, below the inputs)"


def user_message(exc: UnmaskError) -> str:
    """The error's one line as the command line prints it, naming an upload by its own file name
    (not the app's temporary path)."""
    text = str(exc)
    return text.replace(str(exc.path), exc.path.name) if exc.path is not None else text


def page_message(exc: UnmaskError) -> str:
    """`user_message`, and for a face not found what to do about it on the page."""
    return f"{user_message(exc)}: {MARK_ADVICE}" if isinstance(exc, FaceError) else user_message(exc)


def preview_region(masked: str | Path, face: int | None = None, face_box: tuple[float, ...] | None = None,
                   eyes: tuple[float, ...] | None = None) -> RegionPreview:
    """Read the masked photo and find its face and face-mask region, as `unmask.complete` would:
    the `face`-th largest face (0 or None = the largest), or the face the user marked (`face_box`
    or `eyes`, as `face_marks` gives them; then `face` must be None). A photo that cannot be read
    raises `UnmaskError`; a face or region that is not found is reported in `message`, so the user
    can paint the region or mark the face."""
    from unmask.face import choose_face, detect_faces
    from unmask.pipeline import locate

    path = Path(masked)
    photo = read_photo(path)  # with its metadata, which the scene hands on to the written result
    faces = None  # detected once, here, when the user marked no face: the count is shown either way
    try:
        if face_box is None and eyes is None:
            faces = detect_faces(photo.pixels)
            scene = locate(photo, face=choose_face(faces, face, path))
            scene.detected = len(faces)
        else:
            scene = locate(photo, face=face, face_box=face_box, eyes=eyes)
    except UnmaskError as exc:
        count = len(faces if faces is not None else detect_faces(photo.pixels))
        return RegionPreview(photo.pixels, None, count, page_message(exc))
    spot = scene.faces[0]
    message = user_message(UnmaskError(spot.message, path)) if spot.region is None else ""
    return RegionPreview(photo.pixels, spot.region, scene.detected, message, scene)


def region_layer(region: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """The region as an RGBA layer (H, W, 4) uint8 for the image editor: `REGION_COLOUR` where
    True, fully transparent elsewhere (an empty layer when `region` is None)."""
    layer = np.zeros((*shape, 4), np.uint8)
    if region is not None:
        layer[region] = REGION_COLOUR
    return layer


def region_from_layers(layers: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """The region the user left on the editor's layers, bool (H, W): every pixel that any layer
    covers (alpha > 0). Layers are RGBA uint8 (H, W, 4) at the photo's size."""
    region = np.zeros(shape, bool)
    for layer in layers:
        layer = np.asarray(layer)
        if layer.shape[:2] != shape:
            raise UnmaskError(f"the painted region is {layer.shape[1]}x{layer.shape[0]} px, the photo "
                              f"{shape[1]}x{shape[0]}: upload the photo again")
        region |= layer[:, :, 3] > 0 if layer.ndim == 3 and layer.shape[2] == 4 else layer.reshape(shape) > 0
    return region


def face_marks(text: str, eyes: bool) -> dict[str, tuple[float, ...]]:
    """The points the user clicked on the photo, "X,Y,X,Y" in photo pixels, as the keyword
    `unmask.complete` takes: {"eyes": (x, y, x, y)} for the two eye centres (`eyes`), else
    {"face_box": (x0, y0, x1, y1)} for two opposite corners of the face, clicked in either order;
    {} for an empty text. Parsed as the command line's `--eyes` / `--face-box` (`UnmaskError`
    for anything but four numbers)."""
    from unmask.face.hints import parse_numbers

    if not text.strip():
        return {}
    if eyes:
        return {"eyes": parse_numbers(text, "X,Y,X,Y", "the eye marks")}
    x0, y0, x1, y1 = parse_numbers(text, "X,Y,X,Y", "the face box marks")
    return {"face_box": (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))}


KEEP_SECONDS = 3600
"""How long uploads and results stay in the app's folder (a user may come back to download)."""


def new_folder(root: Path) -> Path:
    """A new folder of its own for one job under `root`, so users' files never mix; on the way,
    every folder under `root` (jobs, and the web library's uploads) older than `KEEP_SECONDS`
    is removed."""
    now = time.time()
    for old in root.iterdir():
        if old.is_dir() and now - old.stat().st_mtime > KEEP_SECONDS:
            shutil.rmtree(old, ignore_errors=True)
    folder = root / uuid.uuid4().hex
    folder.mkdir(parents=True)
    return folder


def run_job(folder: Path, masked: Path, references: list[Path], method: str = "warp",
            region: np.ndarray | None = None, found: Scene | None = None,
            progress: Callable[[str], None] | None = None, **arguments: Any) -> JobResult:
    """Complete `masked` from `references` with `unmask.complete` and write into `folder`: the
    full-size result (PNG, or JPEG for a JPEG photo, as the command line writes it), the step
    panel, the JSON record and the region used (white = filled; when known). `region`: the region
    on the editor, bool (H, W), or None; `found`: the scene `preview_region` made of `masked`
    (face and region found), or None. With it the photo is not searched again (the face
    arguments `face`, `face_box`, `eyes` were the preview's and are not used); the region is
    passed as `mask=` only when it differs from the one found, so an unedited region runs
    exactly like the command line without `--mask`. Other `arguments` go to `unmask.complete`
    unchanged. The record and the progress messages name the uploads by their own file names
    (`by_name`), never by the app's temporary paths."""
    import warnings

    from unmask.pipeline import complete

    if not references:
        raise UnmaskError("add at least one reference photo: an unmasked photo of the same person")
    uploads = [masked, *references, *([Path(arguments["expression"])] if arguments.get("expression") else [])]

    def say(message: str) -> None:
        if progress is not None:
            progress(by_name(message, uploads))

    if found is not None and found.photo.path != Path(masked):
        found = None  # made of another upload
    found_region = None if found is None else found.faces[0].region
    same = region is not None and found_region is not None and np.array_equal(region, found_region)
    mask = None if region is None or same else region
    target: Path | Scene = masked
    if found is not None and (mask is not None or found_region is not None):
        target = found
        arguments = {k: v for k, v in arguments.items() if k not in ("face", "face_box", "eyes")}
    reference: Path | list[Path] = references[0] if len(references) == 1 else list(references)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings reach the user through `say`, once
        result = complete(target, reference, method=method, mask=mask, progress=say, **arguments)
    record = result.record = by_name(result.record, uploads)
    stem, suffix = masked.stem, (".jpg" if masked.suffix.lower() in (".jpg", ".jpeg") else ".png")
    written = result.save(folder / f"{stem}-unmasked{suffix}", panel=folder / f"{stem}-panel.png",
                          json=folder / f"{stem}-record.json")
    used = mask if mask is not None else found_region
    return JobResult(*written, region=None if used is None else write_image(
                         folder / f"{stem}-region.png", used.astype(np.uint8) * 255),
                     identity_distance=float(record["identity_distance"]), same_person=bool(record["same_person"]),
                     warnings=list(record["warnings"]),
                     seconds=float(sum(record["seconds"].values())))


def by_name(value: Any, uploads: list[Path]) -> Any:
    """`value` (a message, or a JSON-able record of dicts, lists and strings) with every upload's
    path replaced by the upload's own file name."""
    if isinstance(value, str):
        for path in uploads:
            value = value.replace(str(path), path.name)
        return value
    if isinstance(value, dict):
        return {key: by_name(item, uploads) for key, item in value.items()}
    if isinstance(value, list):
        return [by_name(item, uploads) for item in value]
    return value

