"""The whole job, in three stages, and the Python API `unmask.complete(...)` over them.

`prepare` (`locate` + `match`) -> `Scene`: the photo, its faces (the chosen one, or every face of a
group photo) with their landmarks and the region to fill (the user's, or found), the reference
candidates ranked for each face and the person each face is given to.
`fill(scene, index, method)` -> `Filled`: one face FFHQ-aligned with each reference worth trying,
completed by the method, the result most like the person kept.
`compose(scene, filled)` -> `Result`: every filled face Poisson-composited and pasted back into the
original photo (full-size image, aligned crop, step images, JSON-able record).
`unmask run`, `web`, `batch`, `eval` and `demo` all go through `complete` or these stages.
"""

from __future__ import annotations

import dataclasses
import functools
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
    """What `complete` (and `compose`) returns. `image`: the completed photo, uint8 (H, W, 3), the
    target's size; `aligned`: the completed aligned crop (S, S, 3) (a group photo's: the first
    completed face's); `steps`: named uint8 images for a panel, in order; `record`: a JSON-able account of what was done; `inputs`: the input files (never
    overwritten by `save`)."""

    image: np.ndarray
    aligned: np.ndarray
    steps: dict[str, np.ndarray]
    record: dict[str, Any]
    inputs: list[Path] = field(default_factory=list)
    photo: PhotoInfo | None = None
    """What the target photo carried besides its pixels (EXIF, XMP, ICC profile, JPEG quality),
    written back by `save`; None for a target given as a bare array."""
    filled: list[Filled] = field(default_factory=list)
    """The faces pasted back, as `fill` handed them on (aligned crops, landmarks, references)."""

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


TO_FILL = "to fill"
"""A face of the scene with a region to fill and a person's references (before `fill`)."""
COMPLETED = "completed"
NO_MASK = "no mask"
UNKNOWN = "unknown person"
ERROR = "error"
"""Statuses of a face in a `Scene` and in a group photo's record."""


@dataclass
class SceneFace:
    """One face of the photo and what is to be done with it.

    `face`: the detection (or the user's box / eyes); `points`: the (68, 2) landmarks to work with
    (the region finder may have put a mask-dragged upper face back on the eyes); `region`: bool
    (H, W) to fill, None when the face shows no face mask; `region_info`: how the region came
    about (for the record); `found`: the finder's `MaskRegion` (None for the user's region).
    After `match`: `person` (None when the references were given for one unnamed person),
    `ranked` its reference candidates for this face, best first (`unmask.references.rank`),
    `skipped` the unusable reference photos, `distance` / `limit` the upper-face identity
    distance to the person's closest reference and that pair's same-person limit, and `people`
    that distance per person (several people). `status`: TO_FILL, NO_MASK, UNKNOWN, ERROR
    (`message` says why); a filled face is COMPLETED in `compose`'s record (the scene is not
    changed by `fill` or `compose`, so one scene serves several methods)."""

    face: Face
    points: np.ndarray
    region: np.ndarray | None
    region_info: dict[str, Any]
    found: MaskRegion | None = None
    status: str = TO_FILL
    message: str = ""
    person: str | None = None
    ranked: list[Any] = field(default_factory=list)  # unmask.references.Ranked
    skipped: list[dict[str, str]] = field(default_factory=list)
    distance: float | None = None
    limit: float | None = None
    people: dict[str, float] = field(default_factory=dict)


@dataclass
class Scene:
    """What `prepare` hands on: the photo (`photo.pixels` uint8 (H, W, 3), `photo.path` None for
    an array), how the record names it (`label`), its `faces` (the chosen one, or every face the
    detector found when `group`), how many faces the detector found (`detected`), the expression
    photo, its face and label (or None), the names of the people matched against (group), the
    input files (never written over) and the seconds spent."""

    photo: NamedImage
    label: str | None
    faces: list[SceneFace]
    detected: int
    group: bool = False
    expression: tuple[np.ndarray, Face, str | None] | None = None
    people: list[str] = field(default_factory=list)
    inputs: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_fill(self) -> list[int]:
        """Indices of the faces to fill (status TO_FILL), in order."""
        return [i for i, spot in enumerate(self.faces) if spot.status == TO_FILL]


@dataclass
class Filled:
    """One face (`index` in the scene) completed from one reference: the aligned `case` the result
    was made from, the face's `alignment`, the method's `completion` (aligned), `crop` the crop
    side, `points` the face's 68 landmarks in the photo (hidden ones estimated from the
    reference). What `fill` hands on also says which references were `tried` (best ranked
    first), which one was kept (`pick`), the results' identity distances and light mismatches
    (`distances`, `mismatches`; empty for one try or nothing to compare with), the kept
    reference's upper-face `distance` and `limit`, and the seconds spent."""

    index: int
    case: Any  # unmask.methods.AlignedCase
    alignment: Any  # unmask.face.Alignment
    completion: Any  # unmask.methods.Completion
    crop: int
    points: np.ndarray
    tried: list[Any] = field(default_factory=list)  # unmask.references.Ranked
    pick: int = 0
    distances: list[float] = field(default_factory=list)
    mismatches: list[float] = field(default_factory=list)
    distance: float = float("nan")
    limit: float = float("nan")
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def reference(self):
        """The kept reference's `unmask.references.Candidate`."""
        return self.tried[self.pick].candidate


def complete(
    target: str | Path | np.ndarray | NamedImage | Scene,
    reference: str | Path | np.ndarray | NamedImage | list[str | Path | np.ndarray | NamedImage] | None = None,
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
    people: str | Path | dict[str, Any] | None = None,
    assign: dict[int, str | None] | None = None,
    **method_options: Any,
) -> Result:
    """Complete the masked face in `target` from `reference`, unmasked photos of the same person,
    or every masked face of a group photo from `people`, each from its own person's photos.

    target, expression: file paths, uint8 RGB arrays (H, W, 3) or `NamedImage`s (decoded photos
    that keep their file name for messages); `target` may also be a `Scene` that `locate` made of
    the photo (a web preview's), which is then not searched again. `reference`: one such photo, a
    folder of them, or a list of photos and folders: they are ranked for the target
    (`unmask.references`), the face is completed with each of the `tries` best ranked (default:
    the method's, `warp` 3, `stylegan` 1), the result most like the other photos of the person is
    kept, and `record["references"]` gives the ranking, the results' distances and the one used
    (unusable photos of a list or folder are skipped with a warning); `record["warnings"]` lists
    every warning given (e.g. a reference that looks like another person). `people` instead of
    `reference`: a folder `DIR/<name>/*` or a dict {name: photo, folder or list}; every face of
    the target is looked at, each masked one is given to the person whose references are closest
    (upper-face identity within the calibrated same-person limit, one face per person) and
    completed from them; the others are left as they are, and `record["faces"]` lists every face
    with its box, person, distance and status (see `match`, docs/usage.md); `assign` {face index:
    person name, or None for nobody} overrides the matching for those faces. One person's
    `reference` on a photo with several faces and no face, face box, eyes or mask given: with two
    or more masked faces the photo is a group of that one person (named after the reference
    file or folder, else "reference"): only the face within the same-person limit is completed,
    the others are UNKNOWN; with one masked face, that face is completed. `method`: one of
    `unmask.methods.METHODS` ("warp" needs no model). `mask`: the region to fill, a mask image
    path (white = fill) or a bool array of the target's size; without it the face mask is found.
    `face` / `reference_face`: which face in a photo with several (0 = largest). A `Face` that
    `unmask.face.find_face` found on the target, and a `MaskRegion` that `find_mask_region` found
    for it, as `face` and `mask`, are used as they are (no second detection; the result is the
    same). `face_box` (x0, y0, x1, y1) or `eyes` (x_left, y_left, x_right, y_right): where the
    target's face is, in target photo pixels, when the detectors miss it (see
    `unmask.face.hints`). `size`: aligned crop side (default: the method's). `strict`: refuse a
    reference that looks like another person (upper-face identity check,
    `unmask.face.identity`) instead of warning. `progress` receives one message per stage.
    `bars`: let the method show progress bars and its own messages (default: when `progress` is
    given). Extra keyword arguments are the method's options. Raises `UnmaskError` for unusable
    inputs, and with `people` when no face could be completed.

    The work is done by the stages `prepare` -> `fill` (one face) -> `compose`.
    """
    from unmask.methods import make_method

    warned: list[str] = []  # the record's "warnings": every "warning: ..." said on the way

    def say(message: str) -> None:
        if message.startswith("warning: "):
            warned.append(message.removeprefix("warning: "))
        if progress is not None:
            progress(message)

    options = dict(method_options)
    if size is not None:
        options["size"] = int(size)
    algorithm = _make_method(make_method, method, options)
    scene = prepare(target, reference, people=people, expression=expression, mask=mask, face=face,
                    reference_face=reference_face, face_box=face_box, eyes=eyes, progress=say,
                    assign=assign)
    result = complete_scene(scene, algorithm, options, tries=tries, seed=seed, strict=strict, progress=say,
                            bars=progress is not None if bars is None else bars)
    result.record["warnings"] = warned
    return result


def complete_scene(scene: Scene, algorithm: Any, options: dict[str, Any] | None = None, tries: int | None = None,
                   seed: int = 0, strict: bool = False, progress: Progress | None = None,
                   bars: bool = False) -> Result:
    """The stages after `prepare`, as `complete` runs them: `fill` every face of the scene to fill
    with `algorithm` (a `unmask.methods.Method`; its `options` go into the record, "size" among
    them the aligned crop side asked for), then `compose`. A face that cannot be filled raises
    `UnmaskError` in a one-face scene and is an ERROR face of a group photo. The scene is not
    changed (one scene serves several methods) but for a group photo's ERROR faces."""
    say = progress or (lambda message: None)
    options = dict(options or {})
    size = options.get("size")
    filled = []
    for index in scene.to_fill():
        try:
            filled.append(fill(scene, index, algorithm, tries=tries, seed=seed, size=size, strict=strict,
                               progress=say, bars=bars))
        except UnmaskError as exc:
            if not scene.group:
                raise
            scene.faces[index].status, scene.faces[index].message = ERROR, str(exc)
            say(f"warning: face {index}: {exc}")
    return compose(scene, filled, method=algorithm.name, options=options, seed=seed, progress=say)


def prepare(
    target: str | Path | np.ndarray | NamedImage | Scene,
    reference: Any = None,
    people: str | Path | dict[str, Any] | None = None,
    expression: str | Path | np.ndarray | NamedImage | None = None,
    mask: str | Path | np.ndarray | MaskRegion | None = None,
    face: int | Face | None = None,
    reference_face: int | None = None,
    face_box: tuple[float, float, float, float] | None = None,
    eyes: tuple[float, float, float, float] | None = None,
    progress: Progress | None = None,
    assign: dict[int, str | None] | None = None,
) -> Scene:
    """The first stage: the photo, its faces and regions (`locate`; skipped when `target` is a
    `Scene` already, whose chosen face then takes `mask` when one is given), the references
    ranked for each face and the faces assigned to persons (`match`), and the expression photo's
    face. Arguments as `complete`'s; give `reference` (one person) or `people`, not both."""
    from unmask.face import find_face

    if (reference is None) == (people is None):
        raise UnmaskError("give the reference photos of the person (reference=...) or the people of a group "
                          "photo (people=...), one of the two")
    if isinstance(target, Scene):
        if face is not None or face_box is not None or eyes is not None:
            raise UnmaskError("the scene has its faces already: give no face, face box or eyes with it")
        # a copy: the caller's scene (a web preview's) stays as it was
        scene = dataclasses.replace(target, faces=[dataclasses.replace(f, people=dict(f.people)) for f in target.faces],
                                    inputs=list(target.inputs), seconds=dict(target.seconds))
        if mask is not None:
            _use_region(scene, mask)
        if people is not None and not scene.group:
            raise UnmaskError("this scene holds one face; locate every face (every=True) to complete it from people")
    else:
        if people is not None and mask is not None:
            raise UnmaskError("with people every face's region is found; a mask works with one person's reference")
        scene = locate(target, face=face, mask=mask, face_box=face_box, eyes=eyes, every=people is not None,
                       several=reference is not None, progress=progress)
    if scene.group and people is None:  # several masked faces, one person's references: find that person
        people, reference = {_person_name(reference): reference}, None
    if not scene.group:
        spot = scene.faces[0]
        if spot.status != TO_FILL:
            raise UnmaskError(spot.message, scene.photo.path)
    clock = _Clock()
    if expression is not None:
        expression_img, expression_name = _read(expression, "expression")
        scene.expression = (expression_img, find_face(expression_img, path=expression_name), _label(expression))
        scene.inputs += [Path(expression)] if isinstance(expression, (str, Path)) else []
        clock.lap("faces")
    _add_laps(scene.seconds, clock.laps)
    return match(scene, reference, people, reference_face, progress, assign)


def locate(
    target: str | Path | np.ndarray | NamedImage,
    face: int | Face | None = None,
    mask: str | Path | np.ndarray | MaskRegion | None = None,
    face_box: tuple[float, float, float, float] | None = None,
    eyes: tuple[float, float, float, float] | None = None,
    every: bool = False,
    progress: Progress | None = None,
    several: bool = False,
) -> Scene:
    """The photo's faces and the regions to fill, without references: the chosen face (`face`
    index, 0 = largest, or a found `Face`; or the user's `face_box` / `eyes`) with the user's
    `mask` or the face-mask region found on it; or, `every`, each face the detector finds with
    its own region (too small a face is an ERROR face, one without a face mask a NO_MASK face).
    `several` (no face chosen, no mask given): when the detector finds several faces, each is
    looked at, and two or more masked ones make the scene a group as with `every`; one masked
    face is the chosen face, and none the largest as without `several`. A face without a region
    is not an error here: its status and message say so (a web preview shows them). Raises
    `UnmaskError` for an unreadable photo, no face, or a bad mask."""
    from unmask.face import Face, choose_face, detect_faces, find_face
    from unmask.region import MaskRegion

    say = progress or (lambda message: None)
    clock = _Clock()
    _start_colour_tables()
    say("reading photos")
    target_photo = read_photo(target) if isinstance(target, (str, Path)) else target
    pixels, name = _read(target_photo, "target")
    info = target_photo.info if isinstance(target_photo, NamedImage) else None
    photo = NamedImage(name, pixels, info)  # type: ignore[arg-type]  # path None for an array
    inputs = [Path(p) for p in (target, mask) if isinstance(p, (str, Path))]
    found = mask if isinstance(mask, MaskRegion) else None
    region = None if mask is None or found is not None else _user_region(mask, pixels.shape[:2])
    if found is not None and found.mask.shape != pixels.shape[:2]:
        raise UnmaskError(f"the mask region is {found.mask.shape}, the target photo is {pixels.shape[:2]}")
    if isinstance(face, Face) and (face_box is not None or eyes is not None):
        raise UnmaskError("give the target's face either as a found Face or by a face box / eyes, not both")
    if every and (face is not None or mask is not None):
        raise UnmaskError("every face is looked at: choose no face and give no mask")
    clock.lap("read")

    say("finding faces")
    if isinstance(face, Face):
        chosen, detected = [face], 1
    elif face_box is not None or eyes is not None:
        chosen, detected = [find_face(pixels, face, name, face_box=face_box, eyes=eyes)], 1
    else:
        faces = detect_faces(pixels)
        detected = len(faces)
        several = several and not every and face is None and mask is None and len(faces) > 1
        chosen = faces if (every or several) and faces else [choose_face(faces, face, name)]
    clock.lap("faces")

    spots = []
    if region is not None:
        spots.append(SceneFace(chosen[0], chosen[0].landmarks, region, {"source": "user mask", "mask_label": _label(mask)}))
    else:
        say("finding the face-mask region" + ("s" if len(chosen) > 1 else ""))
        for one in chosen:
            spots.append(found_face(pixels, one, found, name))
            if every and spots[-1].status == NO_MASK:
                spots[-1].message = "no face mask found on the face"
    clock.lap("region")
    if several:
        spots, every = _masked_faces(spots, name)
    return Scene(photo, _label(target), spots, detected, group=every, inputs=inputs, seconds=clock.laps)


@functools.lru_cache(maxsize=None)
def _start_colour_tables() -> None:
    """Have OpenCV build its CIELAB tables (about 0.07 s, once per process; the region finder's
    first colour conversion waits for them) in a thread while the photo is read and its faces
    found: OpenCV releases the GIL, so on a free core they cost no time. Once per process. Not a
    daemon thread: one still in OpenCV when Python exits (a photo not found) aborts the process."""
    import threading

    import cv2

    pixel = np.zeros((1, 1, 3), np.uint8)
    threading.Thread(target=cv2.cvtColor, args=(pixel, cv2.COLOR_RGB2LAB)).start()


def _masked_faces(spots: list[SceneFace], name: Path | None) -> tuple[list[SceneFace], bool]:
    """Of every face of a photo (largest first): all of them as a group when two or more are
    masked (True), else the one masked face, else the largest as `locate` chooses one face."""
    from unmask.face import choose_face

    masked = [spot for spot in spots if spot.status == TO_FILL]
    if len(masked) > 1:
        for spot in spots:
            if spot.status == NO_MASK:
                spot.message = "no face mask found on the face"
        return spots, True
    if masked:
        return masked, False
    chosen = choose_face([spot.face for spot in spots], None, name)  # too small: the error of one face
    return [next(spot for spot in spots if spot.face is chosen)], False


def _person_name(reference: Any) -> str:
    """How a group photo's record names the one person whose references were given: the file's or
    folder's name, or "reference"."""
    return Path(reference).stem if isinstance(reference, (str, Path)) else "reference"


def match(scene: Scene, reference: Any = None, people: str | Path | dict[str, Any] | None = None,
          reference_face: int | None = None, progress: Progress | None = None,
          assign: dict[int, str | None] | None = None) -> Scene:
    """Rank the references for each face to fill (`unmask.references.rank`). One person's
    `reference` (photos, folders, a list): ranked for the scene's face. `people` (a folder
    `DIR/<name>/*` or {name: photos}): every person's photos are ranked for every masked face;
    a face's distance to a person is the upper-face identity distance to their closest reference
    (`unmask.face.identity`), and faces go to persons greedily, the pair furthest within its
    same-person limit first, one face per person; a face no person is within the limit of is
    UNKNOWN. `assign` {face index: person name, or None for nobody}: the user's choice for those
    faces, taken as it is (the other faces and persons are matched as above). A person none of
    whose photos is usable is left out with a warning. Returns the scene (its faces updated)."""
    from unmask import references

    say = progress or (lambda message: None)
    clock = _Clock()
    if people is None:
        items, several = references.sources(reference)
        candidates, skipped = references.gather(items, several, _read, reference_face, say)
        scene.inputs += [Path(p) for p in items if isinstance(p, (str, Path))]
        clock.lap("faces")
        say("ranking the reference photos" if len(candidates) > 1 else "checking that the reference is the same person")
        for index in scene.to_fill():
            spot = scene.faces[index]
            spot.ranked, spot.skipped = references.rank(scene.photo.pixels, _working(spot), candidates), skipped
            spot.distance, spot.limit = _closest(spot.ranked)
        clock.lap("identity")
    else:
        persons = _people(people, reference_face, say, scene.inputs)
        scene.people = list(persons)
        clock.lap("faces")
        say(f"matching {len(scene.to_fill())} masked faces with {len(persons)} people")
        rankings: dict[tuple[int, str], list[Any]] = {}
        for index in scene.to_fill():
            spot = scene.faces[index]
            for name, (candidates, _) in persons.items():
                rankings[index, name] = references.rank(scene.photo.pixels, _working(spot), candidates)
                spot.people[name] = round(_closest(rankings[index, name])[0], 4)
        chosen = dict(assign or {})
        if set(chosen) - set(scene.to_fill()) or set(chosen.values()) - set(persons) - {None}:
            raise UnmaskError(f"cannot give faces {sorted(chosen)} to {sorted(map(str, chosen.values()))}: the faces "
                              f"to fill are {scene.to_fill()}, the people {sorted(persons)}", scene.photo.path)
        margins = sorted((_margin(ranked), index, name) for (index, name), ranked in rankings.items())
        taken: set[Any] = set(chosen) | set(chosen.values())
        for margin, index, name in margins:
            if margin <= 0 and index not in taken and name not in taken:
                taken |= {index, name}
                chosen[index] = name
        for index, name in chosen.items():
            if name is None:
                continue
            spot = scene.faces[index]
            spot.person, spot.ranked, spot.skipped = name, rankings[index, name], persons[name][1]
            spot.distance, spot.limit = _closest(spot.ranked)
        for index in scene.to_fill():
            spot = scene.faces[index]
            if spot.person is None and index in (assign or {}):
                spot.status, spot.message = UNKNOWN, "given to nobody"
            elif spot.person is None:
                spot.status = UNKNOWN
                closest = min(spot.people, key=lambda n: _margin(rankings[index, n]), default=None)
                distance, limit = _closest(rankings[index, closest]) if closest is not None else (0.0, 0.0)
                spot.message = "matches none of the people" + (
                    "" if closest is None else
                    f" (closest {closest}: upper-face identity distance {distance:.2f} > its limit {limit:.2f})"
                    if distance > limit else f" (closest {closest}, within its limit, is given to another face)")
                say(f"warning: face {index}: {spot.message}")
        clock.lap("identity")
    _add_laps(scene.seconds, clock.laps)
    return scene


def fill(scene: Scene, index: int, method: Any, tries: int | None = None, seed: int = 0, size: int | None = None,
         strict: bool = False, progress: Progress | None = None, bars: bool = False) -> Filled:
    """The second stage, for one face of the scene (`index`, status TO_FILL): complete its region
    with `method` (a `unmask.methods.Method`) from each of the `tries` best-ranked references
    worth trying (`unmask.references.worth_trying`; default the method's), keep the result most
    like the person's other photos (`closest_result`), and check the kept reference's identity
    (`strict`: refuse it instead of warning). `size`: the aligned crop side asked for (None: the
    method's, with the photo's own resolution for a wide-crop method). Raises `UnmaskError`."""
    from unmask import references

    say = progress or (lambda message: None)
    clock = _Clock()
    spot = scene.faces[index]
    if spot.status != TO_FILL or spot.region is None:
        raise UnmaskError(f"face {index} has nothing to fill ({spot.status})", scene.photo.path)
    ranked = spot.ranked
    tried = references.worth_trying(ranked, method.tries if tries is None else tries)
    if strict and all(entry.measures["identity"] > entry.measures["identity_limit"] for entry in tried):
        # every reference to try looks like another person: refuse before the (maybe slow) completion
        _check_identity(tried[0].measures["identity"], tried[0].measures["identity_limit"], strict,
                        tried[0].candidate.path, say)
    fills = []
    for entry in tried:
        if len(ranked) > 1:
            say(f"completing from reference {entry.candidate.label} (ranked {ranked.index(entry) + 1} of {len(ranked)})")
        fills.append(_fill(index, scene.photo.pixels, _working(spot), spot.region, entry.candidate, method, size,
                           seed, scene.expression, scene.photo.path, say, bars, clock))
    pick, distances, mismatches = 0, [], []
    if len(fills) > 1:
        say("keeping the result most like the other photos of the person, in the photo's light")
        faces = [(f.completion.image, f.alignment.to_crop(fills[0].points)) for f in fills]
        mismatches = [f.completion.info.get("light_mismatch", float("nan")) for f in fills]
        pick, distances = references.closest_result(faces, tried, ranked, mismatches)
        mismatches = mismatches if distances else []  # no other photo to compare with: no choice made
        clock.lap("choice")
    chosen = tried[pick].candidate
    if len(ranked) > 1:
        say(f"using reference {chosen.label} (best of {len(ranked)})")
    distance, limit = tried[pick].measures["identity"], tried[pick].measures["identity_limit"]
    _check_identity(distance, limit, strict, chosen.path, say)
    return dataclasses.replace(fills[pick], tried=tried, pick=pick, distances=[float(d) for d in distances],
                               mismatches=[float(m) for m in mismatches],
                               distance=float(distance), limit=limit, seconds=clock.laps)


def compose(scene: Scene, filled: list[Filled], method: str = "warp", options: dict[str, Any] | None = None,
            seed: int = 0, progress: Progress | None = None) -> Result:
    """The last stage: paste every filled face back into the photo (pixels outside the faces'
    changed regions stay bit-identical), the step images and the record. One face (`reference`
    given): the record of one completion (docs/usage.md); a group (`people`): the shared fields and
    `faces`, one entry per face found with its status (the filled faces COMPLETED). `method`,
    `options`, `seed`: how the faces were filled, for the record. Raises `UnmaskError` when a
    group photo has no face completed (the message lists why, face by face)."""
    from unmask.blend import paste_into_photo

    say = progress or (lambda message: None)
    clock = _Clock()
    if not filled:
        reasons = "; ".join(f"face {i}: {spot.status}" + (f" ({spot.message})" if spot.message else "")
                            for i, spot in enumerate(scene.faces))
        raise UnmaskError(f"no face completed: {reasons or 'no face found'}", scene.photo.path)
    say("pasting back into the photo")
    image = scene.photo.pixels
    for one in filled:
        image = paste_into_photo(image, one.completion.image, one.alignment, one.completion.changed)
    clock.lap("paste")
    seconds = dict(scene.seconds)
    for one in filled:
        _add_laps(seconds, one.seconds)
    _add_laps(seconds, clock.laps)
    record: dict[str, Any] = {
        "unmask_version": _version(),
        "method": method,
        "method_options": {k: _jsonable(v) for k, v in (options or {}).items()},
        "seed": seed,
    }
    if scene.group:
        steps: list[tuple[str, np.ndarray]] = []
        for one in filled:
            name = f"face {one.index} ({scene.faces[one.index].person})"
            steps += [(f"{name} masked", one.case.target), (f"{name} reference", one.case.reference),
                      (f"{name} result", one.completion.image)]
        record["inputs"] = {"target": scene.label, "people": scene.people,
                            "expression": scene.expression[2] if scene.expression else None}
        record["photo_size"] = [int(image.shape[1]), int(image.shape[0])]
        record["faces"] = _group_faces(scene, {one.index: one for one in filled})
        for entry in record["faces"]:
            say(f"face {entry['face']}: {entry['status']}" + (f" from {entry['person']}" if entry["person"] else "") +
                (f" ({entry['message']})" if entry["message"] else ""))
        aligned = filled[0].completion.image
    else:
        kept = filled[0]
        steps_dict = _steps(kept)
        steps = list(steps_dict.items())
        record.update(_single_record(scene, kept))
        aligned = kept.completion.image
    record["photo_file"] = None if scene.photo.info is None else scene.photo.info.record()
    record["changed_photo_px"] = _changed_pixels(image, scene.photo.pixels, [one.alignment.quad for one in filled])
    record["seconds"] = seconds
    record["versions"] = _versions()
    say(f"done in {sum(seconds.values()):.1f} s")
    return Result(image=image, aligned=aligned, steps=dict(steps), record=record, inputs=list(scene.inputs),
                  photo=scene.photo.info, filled=list(filled))


def _steps(kept: Filled) -> dict[str, np.ndarray]:
    """The panel's images of one completed face, in order."""
    case, completion = kept.case, kept.completion
    steps = {"masked photo": case.target, "face-mask region": _show_region(case.target, case.region),
             "reference": case.reference}
    if case.expression is not None:
        steps["expression"] = case.expression
    steps.update({name: img for name, img in completion.steps.items() if name != "composite"})
    steps["result"] = completion.image
    return steps


def _single_record(scene: Scene, kept: Filled) -> dict[str, Any]:
    """The record's fields about the one completed face (`complete` with one person's references)."""
    spot, chosen = scene.faces[kept.index], kept.reference
    expression = scene.expression
    return {
        "inputs": {"target": scene.label, "reference": chosen.label, "expression": expression[2] if expression else None,
                   "mask": spot.region_info.get("mask_label")},
        "photo_size": [int(scene.photo.pixels.shape[1]), int(scene.photo.pixels.shape[0])],
        "crop_size": kept.crop,
        "faces": {"target": _face_record(spot.face), "reference": _face_record(chosen.face),
                  **({"expression": _face_record(expression[1])} if expression else {})},
        "region": _region_record(spot, kept),
        "references": _ranking(spot, kept),
        "identity_distance": round(kept.distance, 4),
        "identity_limit": kept.limit,
        "same_person": bool(kept.distance <= kept.limit),
        "alignment": {"quad": kept.alignment.quad.tolist(), "crop_size": kept.crop},  # full precision: reusable
        "completion": kept.completion.info,
    }


def _group_faces(scene: Scene, filled: dict[int, Filled]) -> list[dict[str, Any]]:
    """One record entry per face of a group photo: number, box, person, distance, status, ..."""
    entries = []
    for index, spot in enumerate(scene.faces):
        status = COMPLETED if index in filled else spot.status
        entry: dict[str, Any] = {"face": index, **_face_record(spot.face), "status": status,
                                 "message": spot.message, "person": spot.person,
                                 "identity_distance": None if spot.distance is None else round(spot.distance, 4),
                                 "identity_limit": spot.limit, "people": spot.people}
        if spot.region is not None:
            entry["region"] = {k: v for k, v in spot.region_info.items() if k != "mask_label"}
        one = filled.get(index)
        if one is not None:
            entry.update(
                reference=one.reference.label, identity_distance=round(one.distance, 4), identity_limit=one.limit,
                region=_region_record(spot, one), crop_size=one.crop,
                references=_ranking(spot, one),
                alignment={"quad": one.alignment.quad.tolist(), "crop_size": one.crop}, completion=one.completion.info)
        entries.append(entry)
    return entries


def _ranking(spot: SceneFace, kept: Filled) -> list[dict[str, Any]]:
    """The record's reference ranking of a filled face (`unmask.references.ranking_record`)."""
    from unmask import references

    return references.ranking_record(spot.ranked, spot.skipped, spot.ranked.index(kept.tried[kept.pick]),
                                     {spot.ranked.index(e): d for e, d in zip(kept.tried, kept.distances)},
                                     {spot.ranked.index(e): m for e, m in zip(kept.tried, kept.mismatches)
                                      if np.isfinite(m)})


def _region_record(spot: SceneFace, kept: Filled) -> dict[str, Any]:
    region = spot.region
    assert region is not None
    return {**{k: v for k, v in spot.region_info.items() if k != "mask_label"}, "area_px": int(region.sum()),
            "area_fraction": round(float(region.mean()), 5), "area_crop_px": int(kept.case.region.sum())}


def found_face(pixels: np.ndarray, face: Face, found: MaskRegion | None, name: Path | None) -> SceneFace:
    """A face and the face-mask region found on it (or `found`, what a scan found already); a
    face too small to work on is an ERROR face, one without a face mask a NO_MASK face."""
    from unmask.face import choose_face
    from unmask.region import find_mask_region, not_found_message

    try:
        choose_face([face], None, name)  # the size check
    except UnmaskError as exc:
        return SceneFace(face, face.landmarks, None, {}, status=ERROR, message=str(exc))
    found = found if found is not None else find_mask_region(pixels, face)
    if not found.found or not found.mask.any():
        return SceneFace(face, face.landmarks, None, {}, found, status=NO_MASK, message=not_found_message(found))
    info = {"source": "detected", "score": round(float(found.score), 4), "coverage": round(float(found.coverage), 4),
            # the region finder may have put a mask-dragged upper face back on the eyes: used from here on
            "upper_face_moved": not np.array_equal(found.landmarks, face.landmarks)}
    return SceneFace(face, found.landmarks, found.mask.astype(bool), info, found)


def _use_region(scene: Scene, mask: str | Path | np.ndarray | MaskRegion) -> None:
    """Put the user's `mask` on a one-face scene's face, in place of the region found."""
    from unmask.region import MaskRegion

    if scene.group:
        raise UnmaskError("a mask works with one face, this scene holds every face of the photo")
    spot = scene.faces[0]
    if isinstance(mask, MaskRegion):
        scene.faces[0] = found_face(scene.photo.pixels, spot.face, mask, scene.photo.path)
        return
    region = _user_region(mask, scene.photo.pixels.shape[:2])
    scene.faces[0] = SceneFace(spot.face, spot.face.landmarks, region,
                               {"source": "user mask", "mask_label": _label(mask)})
    scene.inputs += [Path(mask)] if isinstance(mask, (str, Path)) else []


def _working(spot: SceneFace):
    """The face with the landmarks to work with (`spot.points`)."""
    return dataclasses.replace(spot.face, landmarks=spot.points)


def _closest(ranked: list[Any]) -> tuple[float, float]:
    """The upper-face identity distance and same-person limit of the ranked reference closest to
    the face relative to its limit."""
    best = min(ranked, key=lambda e: e.measures["identity"] - e.measures["identity_limit"])
    return float(best.measures["identity"]), float(best.measures["identity_limit"])


def _margin(ranked: list[Any]) -> float:
    distance, limit = _closest(ranked)
    return distance - limit


def _people(people: str | Path | dict[str, Any], reference_face: int | None, say: Progress,
            inputs: list[Path]) -> dict[str, tuple[list[Any], list[dict[str, str]]]]:
    """Each person's usable reference candidates and skipped photos: `people` a folder
    `DIR/<name>/*` (every sub-folder with photos is a person) or {name: photo, folder or list}."""
    from unmask import references

    folder = Path(people) if isinstance(people, (str, Path)) else None
    if folder is not None:
        if not folder.is_dir():
            raise UnmaskError("not a folder of people (expected DIR/<name>/<photo>)", folder)
        people = {sub.name: sub for sub in sorted(folder.iterdir()) if sub.is_dir()}
    assert isinstance(people, dict)
    persons = {}
    for name, given in people.items():
        try:
            items, _ = references.sources(given if isinstance(given, (list, tuple)) else [given])
            persons[str(name)] = references.gather(items, True, _read, reference_face, say)
        except UnmaskError as exc:
            say(f"warning: leaving out person {name}: {exc}")
            warnings.warn(f"leaving out person {name}: {exc}", stacklevel=3)
            continue
        inputs += [Path(p) for p in items if isinstance(p, (str, Path))]
    if not persons:
        raise UnmaskError("no person with a usable reference photo among the people given", folder)
    return persons


def _add_laps(total: dict[str, float], laps: dict[str, float]) -> None:
    for name, seconds in laps.items():
        total[name] = round(total.get(name, 0.0) + seconds, 3)


def _fill(index: int, target_img: np.ndarray, target_face, region: np.ndarray, reference, algorithm,
          size: int | None, seed: int, expression: tuple[np.ndarray, Any, Any] | None, target_name: Path | None,
          say: Progress, show: bool, clock: "_Clock") -> Filled:
    """Complete face `index`'s `region` (bool (H, W)) in the target photo from one reference
    `Candidate`: align target, reference (and the `expression` photo and face) around the
    target's landmarks as the reference completes them, run `algorithm` on the aligned crops.
    The `Filled` says nothing yet of the references tried (`fill` adds it)."""
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
        expression_img, expression_face = expression[:2]
        case.expression, expression_alignment = _align(expression_img, expression_face.landmarks, crop, zoom)
        case.expression_landmarks = expression_alignment.to_crop(expression_face.landmarks)
    clock.lap("align")

    say(f"completing with method '{algorithm.name}'")
    completion = algorithm.complete(case, progress=say if show else None)
    clock.lap("method")
    return Filled(index, case, alignment, completion, crop, target_points)


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
    import cv2

    from unmask.face import Alignment, ffhq_quad

    alignment = Alignment.from_quad(ffhq_quad(landmarks), size)
    # the farthest pixel from the centre, in either crop direction, is a corner of the region's
    # convex hull, so its outline holds it (a 12 MP photo's region has a million pixels)
    outline, _ = cv2.findContours(region.view(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    points = alignment.to_crop(np.concatenate(outline).reshape(-1, 2).astype(np.float64))
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


def _changed_pixels(image: np.ndarray, before: np.ndarray, quads: list[np.ndarray]) -> int:
    """How many pixels of two same-shaped (H, W, 3) images differ in any channel, where the photo
    was pasted into only within these crop squares (quads (4, 2) photo pixels; `paste_back`
    changes nothing outside a quad's box): counted in the box around them all (channel by
    channel: `np.any(..., axis=2)` takes a tenth of a second on 12 MP)."""
    if not quads:
        return 0
    corners = np.concatenate(quads)
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - 2, 0)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 3
    differs = image[y0:y1, x0:x1] != before[y0:y1, x0:x1]
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
