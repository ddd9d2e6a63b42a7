"""What a batch runs on: the photos of an album folder or the rows of a manifest CSV.

Album: `ALBUM/<person>/<photo>`; every photo is looked at (on the workers) for a face mask, the
masked ones are targets, the others that person's references. Manifest: a CSV with the columns
`target` and `references` (';'-separated), optionally `mask` (a region image, white = fill; a
value without an image suffix is ignored, as the mask kinds of a `make_cases.py` cases.csv) and
`face` (which face of the target, 0 = largest); paths are relative to the CSV's folder; other
columns are ignored (a cases.csv is a manifest).

Every target has a `key`, its path relative to the album or the CSV's folder (posix, no `..`):
its result is written at OUT/key.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from unmask.errors import ImageError, UnmaskError

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
MANIFEST_COLUMNS = ("target", "references")


@dataclass(frozen=True)
class Target:
    """One photo to complete: `key` (OUT/key gets the result), the files as the user's paths name
    them, and which face (None = the largest); `people`: for an album's group photo (several
    masked faces), every person's (name, unmasked photos)."""

    key: str
    path: Path
    references: tuple[Path, ...]
    mask: Path | None = None
    face: int | None = None
    people: tuple[tuple[str, tuple[Path, ...]], ...] = ()


@dataclass(frozen=True)
class Photo:
    """One photo of an album: `key` = `<person>/<file>`."""

    key: str
    person: str
    path: Path


def album_photos(folder: Path) -> list[Photo]:
    """The photos of `ALBUM/<person>/*` (image suffixes only, sorted), or `UnmaskError` when there
    is none."""
    if not folder.is_dir():
        raise UnmaskError("not a folder (expected an album ALBUM/<person>/<photo> or a manifest .csv)", folder)
    photos = [Photo(f"{person.name}/{file.name}", person.name, file)
              for person in sorted(p for p in folder.iterdir() if p.is_dir())
              for file in sorted(person.iterdir()) if file.is_file() and file.suffix.lower() in PHOTO_SUFFIXES]
    if not photos:
        raise UnmaskError("no photos found: an album holds one folder per person (ALBUM/<person>/<photo>)", folder)
    return photos


def album_targets(photos: list[Photo], masked: set[str], unmasked: set[str], groups: set[str] = frozenset()) -> list[Target]:
    """The masked photos (keys in `masked`) as targets, each with the person's unmasked photos
    (keys in `unmasked`) as references, in album order; a group photo (key in `groups`: several
    masked faces) also with every person of the album and their unmasked photos."""
    people = {}
    for photo in photos:
        if photo.key in unmasked:
            people.setdefault(photo.person, []).append(photo.path)
    everyone = tuple((person, tuple(paths)) for person, paths in people.items())
    targets = []
    for photo in photos:
        if photo.key in masked:
            references = tuple(people.get(photo.person, ()))
            targets.append(Target(photo.key, photo.path, references, people=everyone if photo.key in groups else ()))
    return targets


def read_manifest(path: Path) -> list[Target]:
    """The targets of a manifest CSV, paths resolved against its folder. Raises `UnmaskError`
    naming the file and line for missing columns, an empty reference list, a bad face index, a
    target outside the CSV's folder, or a target listed twice."""
    folder = path.parent
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise UnmaskError(f"a manifest needs the columns {', '.join(MANIFEST_COLUMNS)}; "
                                  f"missing: {', '.join(missing)}", path)
            targets = [_manifest_row(row, folder, path, line) for line, row in enumerate(reader, start=2)]
    except FileNotFoundError:
        raise ImageError("file not found", path) from None
    except UnicodeDecodeError:
        raise UnmaskError("not a UTF-8 text CSV file", path) from None
    if not targets:
        raise UnmaskError("the manifest lists no target", path)
    keys: set[str] = set()
    for line, target in enumerate(targets, start=2):
        if target.key in keys:
            raise UnmaskError(f"line {line}: target {target.key} is listed twice", path)
        keys.add(target.key)
    return targets


def _manifest_row(row: dict[str, str], folder: Path, path: Path, line: int) -> Target:
    def where(message: str) -> UnmaskError:
        return UnmaskError(f"line {line}: {message}", path)

    target = (row.get("target") or "").strip()
    if not target:
        raise where("empty target")
    references = tuple(folder / p.strip() for p in (row.get("references") or "").split(";") if p.strip())
    if not references:
        raise where(f"target {target} has no reference")
    mask = (row.get("mask") or "").strip()
    if Path(mask).suffix.lower() not in PHOTO_SUFFIXES:
        mask = ""  # not an image file: another meaning of the word (a cases.csv's mask kind)
    face = (row.get("face") or "").strip()
    if face and not face.isdigit():
        raise where(f"face must be a face index (0 = the largest), got '{face}'")
    key = PurePosixPath(target.replace("\\", "/"))
    if key.is_absolute():
        try:
            key = PurePosixPath(Path(target).resolve().relative_to(folder.resolve()).as_posix())
        except ValueError:
            key = PurePosixPath("..")
    if ".." in key.parts:
        raise where(f"target {target} lies outside the manifest's folder (results are written at the "
                    "target's path relative to it)")
    return Target(key.as_posix(), folder / target, references, folder / mask if mask else None,
                  int(face) if face else None)
