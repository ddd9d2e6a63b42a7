"""The same-person check on masked faces: distance distributions, false warnings, missed people.

Masked targets, each compared with unmasked photos:
- template: the cases of `../shared/tools/make_cases.py` (photographed and drawn mask templates
  on every people/ photo), against the person's other photos (same) and everyone else's (other);
- procedural: a `render_mask` mask (kinds surgical, cloth, n95, kn95, printed in turn, seeded) on
  every people/ photo, detected again on the masked photo, against the same photos;
- mfr2: real masked photos against the unmasked photos of the same and of the other persons.

For each pair it measures the plain dlib distance (`face_descriptor`, whole face) and the
upper-face distance the pipeline uses (`upper_face`), and prints per set and overall: the
distributions (median, 2nd/98th and 10th/90th percentiles), the share of same-person pairs warned
about (false warnings) and of other-person pairs flagged, at `SAME_PERSON` (0.6) for the plain
distance and at the pipeline's limits for the upper-face one (`same_person_limit`: lower for two
sharp faces), the single threshold that would give 2 % false warnings, the same for the sharp
pairs alone, and the rates for thresholds set on the other data only (people/-based sets against
mfr2 and back), which shows how well they carry to photos they were not set on. Then the same for
several references: each target against all the photos of one person, keeping the closest. Last,
false warnings / others flagged for a few single thresholds.

`--faces FILE.npz` keeps the faces found (box and landmarks per photo) so that a second run skips
the detection and only describes the faces again (about a minute instead of three).

    python benchmarks/bench_identity.py --cases /work/cache/cases-t0/cases.csv --faces /tmp/faces.npz
    python benchmarks/bench_identity.py --data ../shared/data --cases DIR/cases.csv --step 3
"""

from __future__ import annotations

import argparse
import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unmask.errors import UnmaskError
from unmask.face import SAME_PERSON, Face, face_descriptor, find_face, identity_distance
from unmask.face.identity import MASKED_SAME_PERSON, SHARP_SAME_PERSON, UpperFace, same_person_limit, upper_face
from unmask.region.synthetic import render_mask
from unmask.images import read_image

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("surgical", "cloth", "n95", "kn95", "printed")


@dataclass
class Photo:
    """One described face: which set and person, masked or not, the photo it was made from (a
    masked photo is never compared with its own source), its plain descriptor and upper face."""

    set: str
    person: str
    masked: bool
    source: str
    plain: np.ndarray
    upper: UpperFace


class FoundFaces:
    """The faces found so far, by photo key (path and mask kind), read from and written to an
    .npz file (box and landmarks as numbers, no pickle) when one is given."""

    def __init__(self, path: Path | None):
        self.path = path
        self.rows: dict[str, np.ndarray] = {}
        if path is not None and path.is_file():
            with np.load(path, allow_pickle=False) as stored:
                self.rows = {key: stored[key] for key in stored.files}

    def describe(self, image: np.ndarray, key: str) -> tuple[np.ndarray, UpperFace, Face]:
        """The plain descriptor, the upper face and the face of the photo `key`."""
        if key not in self.rows:
            face = find_face(image, path=key)
            self.rows[key] = np.concatenate([face.box, face.landmarks.ravel()])
        row = self.rows[key]
        face = Face(tuple(row[:4]), 1.0, row[4:].reshape(68, 2))
        return face_descriptor(image, face), upper_face(image, face.landmarks), face

    def save(self) -> None:
        if self.path is not None:
            np.savez(self.path, **self.rows)


def people_photos(folder: Path, cases: Path | None, step: int, faces: FoundFaces) -> list[Photo]:
    photos = []
    for number, path in enumerate(sorted(folder.glob("*/*.jpg"))[::step]):
        image = read_image(path)
        try:
            plain, upper, face = faces.describe(image, str(path))
            photos.append(Photo("people", path.parent.name, False, str(path), plain, upper))
            kind = KINDS[number % len(KINDS)]
            masked, _ = render_mask(image, face.landmarks, kind, number)
            plain, upper, _ = faces.describe(masked, f"{path} with a {kind} mask")
            photos.append(Photo("procedural", path.parent.name, True, str(path), plain, upper))
        except UnmaskError as exc:
            print(f"  skipped: {exc}")
    if cases is not None:
        with cases.open(newline="", encoding="utf-8") as handle:
            for row in list(csv.DictReader(handle))[::step]:
                person, index = row["case"].rsplit("_", 1)
                source = str(folder / person / f"{index}.jpg")
                try:
                    plain, upper, _ = faces.describe(read_image(cases.parent / row["target"]), row["target"])
                    photos.append(Photo("template", row["person"], True, source, plain, upper))
                except UnmaskError as exc:
                    print(f"  skipped: {exc}")
    return photos


def mfr2_photos(folder: Path, step: int, faces: FoundFaces) -> list[Photo]:
    photos = []
    with (folder / "labels.csv").open(newline="", encoding="utf-8") as handle:
        for row in list(csv.DictReader(handle))[::step]:
            path = folder / row["person"] / row["file"]
            try:
                plain, upper, _ = faces.describe(read_image(path), str(path))
            except UnmaskError as exc:
                print(f"  skipped: {exc}")
                continue
            photos.append(Photo("mfr2", row["person"], row["mask"] != "no-mask", str(path), plain, upper))
    return photos


def pairs(photos: list[Photo]) -> dict[str, dict[str, np.ndarray]]:
    """Per target set: for every (masked, unmasked) pair of one photo family (people/-based or
    mfr2), never a masked photo with its own source: `same` (same person), both distances
    (`plain`, `upper`), the pipeline's `limit` for the pair, `sharp` (both faces sharp), and
    `group`, one number per (target, reference person), for the closest of several references."""
    family = {"people": "people", "procedural": "people", "template": "people", "mfr2": "mfr2"}
    out: dict[str, dict[str, list]] = {}
    groups: dict[tuple[int, str], int] = {}
    for number, target in enumerate(photos):
        if not target.masked:
            continue
        for reference in (p for p in photos if not p.masked):
            if family[reference.set] != family[target.set] or reference.source == target.source:
                continue
            entry = out.setdefault(target.set, {key: [] for key in ("same", "plain", "upper", "limit", "sharp", "group")})
            entry["same"].append(target.person == reference.person)
            entry["plain"].append(identity_distance(target.plain, reference.plain))
            entry["upper"].append(identity_distance(target.upper.descriptor, reference.upper.descriptor))
            entry["limit"].append(same_person_limit(target.upper, reference.upper))
            entry["sharp"].append(entry["limit"][-1] < MASKED_SAME_PERSON)
            entry["group"].append(groups.setdefault((number, reference.person), len(groups)))
    return {name: {k: np.array(v) for k, v in entry.items()} for name, entry in out.items()}


def closest(entry: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One pair per (target, reference person): the smallest distance of that person's photos."""
    order = np.lexsort((entry["upper"], entry["group"]))
    first = order[np.r_[True, np.diff(entry["group"][order]) != 0]]
    return {key: values[first] for key, values in entry.items()}


def join(entries: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([entry[key] for entry in entries]) for key in entries[0]}


def rates(same: np.ndarray, distance: np.ndarray, threshold: float | np.ndarray) -> str:
    """False warnings and other persons flagged above `threshold` (one, or one per pair)."""
    threshold = np.broadcast_to(threshold, distance.shape)
    warned = np.mean(distance[same] > threshold[same])
    flagged = np.mean(distance[~same] > threshold[~same])
    return f"false warnings {warned:6.1%}  other persons flagged {flagged:6.1%}"


def two_percent(entry: dict[str, np.ndarray], sharp: bool = False) -> float:
    """The upper-face threshold above which 2 % of the same-person pairs lie (`sharp`: of those
    whose faces are both sharp)."""
    chosen = entry["same"] & (entry["sharp"] if sharp else True)
    return float(np.quantile(entry["upper"][chosen], 0.98))


def spread(values: np.ndarray) -> str:
    p = np.percentile(values, [2, 10, 50, 90, 98])
    return f"median {p[2]:.3f}  p2-p98 {p[0]:.3f}-{p[4]:.3f}  p10-p90 {p[1]:.3f}-{p[3]:.3f}"


def histogram(same: np.ndarray, distance: np.ndarray, low: float = 0.1, high: float = 1.0, step: float = 0.05) -> str:
    """Counts per distance bin, same-person and other-person pairs, as text lines."""
    edges = np.arange(low, high + step / 2, step)
    clipped = np.clip(distance, low, high - 1e-9)
    a, _ = np.histogram(clipped[same], edges)
    b, _ = np.histogram(clipped[~same], edges)
    rows = [f"    {lo:.2f}-{lo + step:.2f}  same {x:5d}  other {y:5d}" for lo, x, y in zip(edges[:-1], a, b)]
    return "\n".join(rows)


def report(name: str, entry: dict[str, np.ndarray], other: dict[str, np.ndarray] | None = None,
           plain: bool = True) -> None:
    """Distributions and rates of one set of pairs; `other`: the pairs of the other photo family,
    whose 2 % thresholds are tried on these (how they carry)."""
    same, upper = entry["same"], entry["upper"]
    print(f"\n{name}: {same.sum()} same-person pairs, {(~same).sum()} other-person pairs")
    if same.all() or not same.any():
        return  # a quick look (--step) may leave a set with one kind of pair only
    if plain:
        print(f"  plain same  {spread(entry['plain'][same])}")
        print(f"  plain other {spread(entry['plain'][~same])}")
        print(f"  plain at {SAME_PERSON:.3f}: {rates(same, entry['plain'], SAME_PERSON)}")
    print(f"  upper same  {spread(upper[same])}")
    print(f"  upper other {spread(upper[~same])}")
    print(f"  upper at the pipeline's limits: {rates(same, upper, entry['limit'])}")
    print(f"  upper at {MASKED_SAME_PERSON:.3f} for all pairs: {rates(same, upper, MASKED_SAME_PERSON)}")
    two = two_percent(entry)
    print(f"  upper at its own 2 % threshold {two:.3f}: {rates(same, upper, two)}")
    sharp = entry["sharp"]
    if (same & sharp).any():
        two_sharp = two_percent(entry, sharp=True)
        print(f"  sharp pairs ({sharp.mean():.0%} of all) at their own 2 % threshold {two_sharp:.3f}: "
              f"{rates(same[sharp], upper[sharp], two_sharp)}")
    if other is not None:
        carried = two_percent(other)
        print(f"  upper at {carried:.3f} (set on the other family): {rates(same, upper, carried)}")
        if (other["same"] & other["sharp"]).any() and sharp.any():
            carried = two_percent(other, sharp=True)
            print(f"  sharp pairs at {carried:.3f} (set on the other family's sharp pairs): "
                  f"{rates(same[sharp], upper[sharp], carried)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--cases", type=Path, help="cases.csv of make_cases.py (template masks); optional")
    parser.add_argument("--step", type=int, default=1, help="use every STEP-th photo of each set (a quick look)")
    parser.add_argument("--faces", type=Path, help=".npz file keeping the faces found, for the next run")
    args = parser.parse_args()
    start = time.perf_counter()
    faces = FoundFaces(args.faces)
    photos = (people_photos(args.data / "people", args.cases, args.step, faces)
              + mfr2_photos(args.data / "mfr2", args.step, faces))
    faces.save()
    print(f"{len(photos)} faces described in {time.perf_counter() - start:.0f} s")
    by_set = pairs(photos)
    for name, entry in by_set.items():
        report(name, entry)
    families = {"people-based (template + procedural)": join([e for n, e in by_set.items() if n != "mfr2"]),
                "mfr2": by_set["mfr2"]}
    (first, one), (second, other) = families.items()
    report(first, one, other, plain=False)
    report(second, other, one, plain=False)
    everything = join(list(by_set.values()))
    report("all sets", everything)
    print("  upper-face distance histogram:")
    print(histogram(everything["same"], everything["upper"]))

    print("\nseveral references: each target against all the photos of one person, the closest kept")
    for name, entry in {**by_set, **families, "all sets": everything}.items():
        report(f"{name}, closest reference", closest(entry), plain=False)

    print("\nthreshold: false warnings / other persons flagged (all sets; people-based; mfr2)")
    for threshold in np.round(MASKED_SAME_PERSON + np.arange(-0.06, 0.061, 0.02), 3):
        cells = [rates(e["same"], e["upper"], threshold) for e in (everything, one, other)]
        print(f"  {threshold:.3f}: " + " | ".join(cells))
    print(f"limit for sharp pairs, {MASKED_SAME_PERSON:.2f} for the others: the same rates")
    for threshold in np.round(SHARP_SAME_PERSON + np.arange(-0.02, 0.031, 0.01), 3):
        cells = [rates(e["same"], e["upper"], np.where(e["sharp"], threshold, MASKED_SAME_PERSON))
                 for e in (everything, one, other)]
        print(f"  {threshold:.3f}: " + " | ".join(cells))


if __name__ == "__main__":
    main()
