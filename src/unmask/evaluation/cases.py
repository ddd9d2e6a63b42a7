"""The cases `unmask eval` scores and how they are made: synthetic (a procedural mask painted on a
photo), real (an mfr2 masked photo) or a cases.csv row; `unmask cases` writes synthetic cases as a
cases.csv.

`Case`: a photo of a `<person>/<photo>` folder to paint with a procedural face mask (synthetic
mode) or a real masked photo of an `mfr2`-style folder (real mode), with its reference (and
identity probe). `PhotoCase`: a row of a cases.csv (a masked photo, its true region and its
unmasked original, `--cases` mode). `write_synthetic_cases` writes synthetic cases as files.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from unmask.errors import UnmaskError
from unmask.images import PHOTO_SUFFIXES

COLUMNS = ("case", "person", "mask", "target", "region", "truth", "references")
"""The columns of a cases.csv (the format of shared/tools/make_cases.py)."""


@dataclass(frozen=True)
class Case:
    """A case of a photo folder: which photos play which part. `kind` is the synthetic mask kind
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

    @property
    def inputs(self) -> list[Path]:
        """The files the case reads (never written over)."""
        return [p for p in (self.target, self.reference, self.probe) if p is not None]


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

    @property
    def inputs(self) -> list[Path]:
        """The files the case reads (never written over)."""
        return [self.target, self.region, self.truth, *self.references]


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


def paint_case(case: Case, seed: int) -> tuple[np.ndarray, Any, np.ndarray, np.ndarray]:
    """A synthetic case's photo painted with its procedural mask: (original uint8 (H, W, 3), its
    face, masked uint8 (H, W, 3), painted region bool (H, W)); reproducible from `seed` and the
    case's index. Raises `UnmaskError` when the photo has no face."""
    from unmask.face import find_face
    from unmask.images import read_image
    from unmask.region.synthetic import render_mask

    original = read_image(case.target)
    face = find_face(original, path=case.target)
    masked, region = render_mask(original, face.landmarks, case.kind, np.random.default_rng([seed, case.index, 1]))
    return original, face, masked, region


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
    """Write the synthetic cases of a `<person>/<photo>` folder (`synthetic_cases`: procedural
    masks of every kind, reference chosen by `seed`) as a cases.csv in `out`: each case's masked
    photo and region as `<person>_<photo>/target.png` and `region.png`; `truth` is the original
    photo itself and `references` the synthetic mode's reference first, then the person's other
    photos (paths relative to `out`). Returns the csv's path and a line per photo that could not
    be painted (no face)."""
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
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([list(COLUMNS), *rows])
    return write_text(out / "cases.csv", buffer.getvalue()), skipped
