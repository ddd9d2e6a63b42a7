"""What the web page does with its inputs, without any of the web library: show the faces and
face-mask regions found on an upload (numbered), turn the edited layer back into a region, run
one completion (one person, or each masked face of a group photo from its own person) into its
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
    """The masked photo (uint8 (H, W, 3)), the region found on it (bool (H, W), every masked
    face's together; None when there is none), how many faces it shows, what to tell the user
    (empty when all went well), and the pipeline's `Scene` of the photo (None when no face was
    found): every face found with its own region (`group`), or the one face the user marked.
    `run_job` goes on from the scene instead of finding faces and regions again."""

    photo: np.ndarray
    region: np.ndarray | None
    faces: int
    message: str = ""
    scene: Scene | None = None

    def masked(self) -> list[int]:
        """The scene's faces with a region to fill (indices into `scene.faces`), in order."""
        return [] if self.scene is None else self.scene.to_fill()


@dataclass
class JobResult:
    """The files one completion wrote into its own folder, and what the page shows about it: for
    one person the identity distance and verdict, for a group photo (`faces`, the record's
    entries: face, box, status, person, identity_distance, ...) None for both."""

    result: Path
    panel: Path
    record: Path
    region: Path | None
    identity_distance: float | None
    same_person: bool | None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    faces: list[dict[str, Any]] = field(default_factory=list)


MARK_ADVICE = "mark the face yourself (Mark the face yourself, below the inputs)"


def user_message(exc: UnmaskError) -> str:
    """The error's one line as the command line prints it, naming an upload by its own file name
    (not the app's temporary path)."""
    text = str(exc)
    return text.replace(str(exc.path), exc.path.name) if exc.path is not None else text


def page_message(exc: UnmaskError) -> str:
    """`user_message`, and for a face not found what to do about it on the page."""
    return f"{user_message(exc)}: {MARK_ADVICE}" if isinstance(exc, FaceError) else user_message(exc)


def preview_region(masked: str | Path, face_box: tuple[float, ...] | None = None,
                   eyes: tuple[float, ...] | None = None) -> RegionPreview:
    """Read the masked photo and find its faces and face-mask regions, as `unmask.complete` with
    `people` would (every face the detector finds, each with its own region), or the face the
    user marked (`face_box` or `eyes`, as `face_marks` gives them) and its region. A photo that
    cannot be read raises `UnmaskError`; no face, or no region on any face, is reported in
    `message`, so the user can paint the region or mark the face."""
    from unmask.face import detect_faces
    from unmask.pipeline import locate

    path = Path(masked)
    photo = read_photo(path)  # with its metadata, which the scene hands on to the written result
    marked = face_box is not None or eyes is not None
    try:
        scene = locate(photo, face_box=face_box, eyes=eyes, every=not marked)
    except UnmaskError as exc:  # unmarked, `locate` raises only when it detected no face at all
        count = len(detect_faces(photo.pixels)) if marked else 0
        return RegionPreview(photo.pixels, None, count, page_message(exc))
    preview = RegionPreview(photo.pixels, None, scene.detected, "", scene)
    for index in preview.masked():
        region = scene.faces[index].region
        preview.region = region.copy() if preview.region is None else preview.region | region
    if preview.region is None:
        why = one_face(scene, 0).faces[0].message  # as the command line says it for one face
        preview.message = user_message(UnmaskError(why, path))
    return preview


def one_face(scene: Scene, index: int) -> Scene:
    """The scene of face `index` of a group `scene` alone, as `locate(photo, face=index)` makes it
    (the region already found is used, not searched again)."""
    import dataclasses

    from unmask.pipeline import found_face

    if not scene.group:
        return scene
    spot = scene.faces[index]
    if spot.found is not None:  # its own message when it shows no face mask, not the group's
        spot = found_face(scene.photo.pixels, spot.face, spot.found, scene.photo.path)
    return dataclasses.replace(scene, faces=[spot], group=False, inputs=list(scene.inputs),
                               seconds=dict(scene.seconds))


def with_region(scene: Scene, region: np.ndarray) -> Scene:
    """A group `scene` with the region the user left on the page (bool (H, W)) in place of the
    regions found: each pixel goes to the face whose box centre is nearest; a face whose part
    differs from its region found takes its part as the user's region (status TO_FILL), or has
    nothing to fill when its part is empty. The scene itself is left as it was."""
    import dataclasses

    from unmask.pipeline import ERROR, NO_MASK, TO_FILL

    boxes = np.array([spot.face.box for spot in scene.faces], np.float64)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    ys, xs = np.nonzero(region)
    nearest = np.argmin((xs[:, None] - centres[None, :, 0]) ** 2 + (ys[:, None] - centres[None, :, 1]) ** 2, axis=1)
    faces = []
    for index, spot in enumerate(scene.faces):
        part = np.zeros(region.shape, bool)
        part[ys[nearest == index], xs[nearest == index]] = True
        same = np.array_equal(part, spot.region) if spot.region is not None else not part.any()
        if spot.status == ERROR or same:
            faces.append(spot)
        elif part.any():
            faces.append(dataclasses.replace(spot, region=part, region_info={"source": "user mask"}, status=TO_FILL,
                                             message=""))
        else:
            faces.append(dataclasses.replace(spot, region=None, status=NO_MASK, message="its region was erased"))
    return dataclasses.replace(scene, faces=faces)


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
            progress: Callable[[str], None] | None = None, people: dict[str, list[Path]] | None = None,
            assign: dict[int, str | None] | None = None, **arguments: Any) -> JobResult:
    """Complete `masked` from `references` with `unmask.complete` and write into `folder`: the
    full-size result (PNG, or JPEG for a JPEG photo, as the command line writes it), the step
    panel, the JSON record and the region used (white = filled; when known). `region`: the region
    on the editor, bool (H, W), or None; `found`: the scene `preview_region` made of `masked`
    (faces and regions found), or None. With it the photo is not searched again (the face
    arguments `face`, `face_box`, `eyes` were the preview's and are not used); the region is
    passed as `mask=` only when it differs from the one found, so an unedited region runs
    exactly like the command line without `--mask`. `people` {name: photos} instead of
    `references`: every masked face of the photo is completed from its own person's photos
    (`unmask.complete(..., people=, assign=)`; `assign` {face index: person or None} is the
    user's choice, the other faces go to the closest person); an edited region is split among
    the faces (`with_region`). Other `arguments` go to `unmask.complete` unchanged. The record
    and the progress messages name the uploads by their own file names (`by_name`), never by the
    app's temporary paths."""
    import warnings

    from unmask.pipeline import complete

    if not references and not any((people or {}).values()):
        raise UnmaskError("add at least one reference photo: an unmasked photo of the same person")
    uploads = [masked, *references, *[p for photos in (people or {}).values() for p in photos],
               *([Path(arguments["expression"])] if arguments.get("expression") else [])]

    def say(message: str) -> None:
        if progress is not None:
            progress(by_name(message, uploads))

    if found is not None and found.photo.path != Path(masked):
        found = None  # made of another upload
    if people:
        return _group_job(folder, masked, method, region, found, people, assign, say, uploads, **arguments)
    if found is not None:
        found = one_face(found, arguments.get("face") or 0)
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
    used = mask if mask is not None else found_region
    job = _written(folder, masked, result, used, uploads)
    job.identity_distance, job.same_person = float(result.record["identity_distance"]), bool(result.record["same_person"])
    return job


def _group_job(folder: Path, masked: Path, method: str, region: np.ndarray | None, found: Scene | None,
               people: dict[str, list[Path]], assign: dict[int, str | None] | None, say: Callable[[str], None],
               uploads: list[Path], **arguments: Any) -> JobResult:
    """`run_job` of a group photo: every masked face from its own person of `people`."""
    import dataclasses
    import warnings

    from unmask.pipeline import complete

    arguments = {k: v for k, v in arguments.items() if k not in ("face", "face_box", "eyes")}
    target: Path | Scene = masked
    if found is not None:
        target = dataclasses.replace(found, group=True)  # a marked face is matched as a group's face
        if region is not None:
            target = with_region(target, region)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings reach the user through `say`, once
        result = complete(target, people={name: list(photos) for name, photos in people.items() if photos},
                          assign=assign, method=method, progress=say, **arguments)
    used = None
    if not isinstance(target, Path):  # the regions of the faces completed
        regions = [target.faces[e["face"]].region for e in result.record["faces"] if e["status"] == "completed"]
        used = np.logical_or.reduce([r for r in regions if r is not None])
    job = _written(folder, masked, result, used, uploads)
    job.faces = list(result.record["faces"])
    return job


def _written(folder: Path, masked: Path, result: Any, used: np.ndarray | None, uploads: list[Path]) -> JobResult:
    """Write `result` (an `unmask.Result`) into `folder`, named after the upload `masked`, with
    the region `used` (None: not known) and the record naming the uploads by their file names."""
    record = result.record = by_name(result.record, uploads)
    stem, suffix = masked.stem, (".jpg" if masked.suffix.lower() in (".jpg", ".jpeg") else ".png")
    written = result.save(folder / f"{stem}-unmasked{suffix}", panel=folder / f"{stem}-panel.png",
                          json=folder / f"{stem}-record.json")
    region = None if used is None else write_image(folder / f"{stem}-region.png", used.astype(np.uint8) * 255)
    return JobResult(*written, region=region, identity_distance=None, same_person=None,
                     warnings=list(record["warnings"]), seconds=float(sum(record["seconds"].values())))


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



FACE_COLOURS = {True: (255, 40, 160), False: (235, 235, 235)}
"""RGB of a face's box and number on the preview: masked (the region's tint), or not."""


def numbered_faces(photo: np.ndarray, scene: Scene) -> np.ndarray:
    """A copy of `photo` (uint8 (H, W, 3)) with each face of `scene` boxed and its number (its
    index in the scene, as the record and the messages name it) on a tag at the box's top left
    corner, outside the box where there is room; sizes follow the photo's, so the numbers read
    alike at any size."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.fromarray(photo)
    draw = ImageDraw.Draw(image)
    side = max(photo.shape[:2])
    thick, font = max(2, round(side / 300)), ImageFont.load_default(size=max(14, round(side / 22)))
    masked = set(scene.to_fill())
    for index, spot in enumerate(scene.faces):
        colour = FACE_COLOURS[index in masked]
        x0, y0, x1, y1 = (float(v) for v in spot.face.box)
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=thick)
        left, top, right, bottom = draw.textbbox((0, 0), str(index), font=font)
        pad = thick * 2
        w, h = right - left + 2 * pad, bottom - top + 2 * pad
        x, y = max(0.0, x0 - w), max(0.0, y0)
        draw.rectangle((x, y, x + w, y + h), fill=colour)
        draw.text((x + pad - left, y + pad - top), str(index), fill=(0, 0, 0), font=font)
    return np.asarray(image)
